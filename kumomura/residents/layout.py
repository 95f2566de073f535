"""Layouts of the resident registry (中間標準レイアウト 1 住民基本台帳, 3 住登外管理 in
spirit: the items are this system's own, documented in docs/layouts.md)."""

from __future__ import annotations

from kumomura.platform.exchange.layouts import declare
from kumomura.residents.models import RELATIONSHIPS
from kumomura.residents.params import MODULE
from kumomura.residents.tables import (
    atena,
    certificate_issues,
    changes,
    households,
    protection_orders,
    resident_versions,
)

SEX = ("1", "2")
CHANGE_TYPES = ("import", "move_in", "birth", "move_out", "relocation", "death",
                "household_change", "correction", "cancellation")

LAYOUTS = (
    declare(atena, module=MODULE, title="宛名 (団体内統合宛名)", labels={
        "atena_no": "宛名番号", "kind": "区分 (resident 住民 / non_resident 住登外者)",
        "name": "氏名", "kana": "フリガナ", "kana_key": "検索用カナ", "birth_date": "生年月日",
        "sex": "性別 (1 男 2 女)", "address": "住所 (住登外者)", "registered_by": "登録業務",
        "created_at": "登録日時"},
        allowed={"kind": ("resident", "non_resident"), "sex": SEX}),
    declare(households, module=MODULE, title="世帯", labels={
        "household_no": "世帯番号", "created_on": "世帯発生日", "dissolved_on": "世帯消滅日",
        "created_by_change": "発生させた異動"},
        references={"created_by_change": "changes.change_id"}),
    declare(changes, module=MODULE, title="異動 (届出・職権)", labels={
        "change_id": "異動番号", "change_type": "異動種別", "effective_on": "異動日",
        "notified_on": "届出日", "is_late": "届出期間経過", "reason": "理由",
        "detail": "詳細 (JSON)", "recorded_at": "入力日時", "recorded_by": "入力者",
        "request_id": "要求ID", "cancels_change": "取り消した異動",
        "cancelled_by_change": "取り消した異動 (後の異動)"},
        allowed={"change_type": CHANGE_TYPES},
        references={"cancels_change": "changes.change_id",
                    "cancelled_by_change": "changes.change_id"}),
    declare(resident_versions, module=MODULE, title="住民票 (履歴を含む)", labels={
        "id": "履歴番号", "atena_no": "宛名番号", "version_no": "版", "valid_from": "有効開始日",
        "valid_to": "有効終了日", "change_id": "異動番号",
        "status": "状態 (resident 住民 / removed 除票)", "name": "氏名", "name_key": "検索用氏名",
        "kana": "フリガナ", "kana_key": "検索用カナ", "birth_date": "生年月日",
        "sex": "性別 (1 男 2 女)", "household_no": "世帯番号", "relationship": "続柄",
        "postal_code": "郵便番号", "address_town": "住所 (町字・番地)", "address_line": "方書",
        "address_key": "検索用住所", "address_set_on": "住所を定めた年月日",
        "became_resident_on": "住民となった年月日", "previous_address": "前住所",
        "honseki": "本籍", "hittousha": "筆頭者", "resident_card_code": "住民票コード",
        "is_foreign": "外国人住民", "nationality": "国籍・地域", "residence_status": "在留資格",
        "residence_until": "在留期間の満了日", "removed_on": "消除日", "removal_reason": "消除事由",
        "recorded_at": "入力日時"},
        allowed={"status": ("resident", "removed"), "sex": SEX, "relationship": RELATIONSHIPS},
        references={"atena_no": "atena.atena_no", "change_id": "changes.change_id",
                    "household_no": "households.household_no"}),
    declare(protection_orders, module=MODULE, title="支援措置", labels={
        "id": "支援措置番号", "atena_no": "宛名番号", "kind": "区分 (support / provisional)",
        "starts_on": "開始日", "ends_on": "終了日", "lifted_on": "解除日", "reason": "理由",
        "created_by": "登録者", "created_at": "登録日時"},
        allowed={"kind": ("support", "provisional")},
        references={"atena_no": "atena.atena_no"}),
    declare(certificate_issues, module=MODULE, title="証明書交付履歴", labels={
        "issue_no": "発行番号", "kind": "証明書 (copy / removed_copy / entries)",
        "atena_nos": "記載者の宛名番号 (JSON)", "household_no": "世帯番号",
        "items": "記載した任意項目 (JSON)", "applicant_kind": "請求者区分",
        "applicant_name": "請求者", "purpose": "請求の目的", "fee": "手数料 (円)",
        "override_reason": "支援措置を越えた理由", "issued_by": "交付者", "issued_at": "交付日時",
        "request_id": "要求ID"},
        allowed={"kind": ("copy", "removed_copy", "entries"),
                 "applicant_kind": ("self", "household", "third_party", "official")}),
)
