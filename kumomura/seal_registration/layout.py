"""Layouts of seal registration (中間標準レイアウト 2 印鑑登録 in spirit)."""

from __future__ import annotations

from kumomura.platform.exchange.layouts import declare
from kumomura.seal_registration.params import MODULE
from kumomura.seal_registration.tables import seal_certificate_issues, seal_registrations

LAYOUTS = (
    declare(seal_registrations, module=MODULE, title="印鑑登録", labels={
        "registration_no": "登録番号", "atena_no": "宛名番号", "registered_on": "登録日",
        "impression_text": "印影の文字", "impression_png": "印影 (PNG, base64)",
        "status": "状態 (active 登録中 / abolished 廃止)", "abolished_on": "廃止日",
        "abolish_reason": "廃止理由", "registered_by": "登録者", "created_at": "登録日時"},
        allowed={"status": ("active", "abolished")},
        references={"atena_no": "atena.atena_no"}),
    declare(seal_certificate_issues, module=MODULE, title="印鑑登録証明書交付履歴", labels={
        "issue_no": "発行番号", "registration_no": "登録番号", "atena_no": "宛名番号",
        "purpose": "請求の目的", "fee": "手数料 (円)", "issued_by": "交付者",
        "issued_at": "交付日時", "request_id": "要求ID"},
        references={"registration_no": "seal_registrations.registration_no",
                    "atena_no": "atena.atena_no"}),
)
