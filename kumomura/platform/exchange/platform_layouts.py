"""Layouts of the platform's own tables in each tenant schema: parameters, the audit log,
events, job marks and number series. They travel with the municipality's data."""

from __future__ import annotations

from kumomura.platform.audit import audit_head, audit_log, audit_pending
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.events import event_failures, event_offsets, outbox
from kumomura.platform.exchange.layouts import declare
from kumomura.platform.params import param_changes
from kumomura.platform.storage.numbering import counters

WHEN = {"changed_at": "変更日時", "created_at": "作成日時", "updated_at": "更新日時"}

PLATFORM_LAYOUTS = (
    declare(param_changes, module=PLATFORM_MODULE, title="パラメータ変更履歴", labels={
        "id": "変更番号", "module": "業務", "name": "パラメータ名",
        "effective_from": "適用開始日", "value": "値 (JSON)", "is_reset": "全国既定値に戻す",
        "changed_by": "変更者", "changed_at": WHEN["changed_at"], "reason": "理由"}),
    declare(counters, module=PLATFORM_MODULE, title="採番", labels={
        "series": "採番系列", "last_value": "最終番号"}),
    declare(audit_log, module=PLATFORM_MODULE, title="アクセスログ (ハッシュ連鎖)", labels={
        "seq": "連番", "at": "日時", "actor": "操作者", "action": "操作",
        "atena_no": "宛名番号", "request_id": "要求ID", "client_addr": "接続元",
        "purpose": "目的", "detail": "詳細 (JSON)", "prev_hash": "前エントリのハッシュ",
        "hash": "ハッシュ"}),
    declare(audit_pending, module=PLATFORM_MODULE, title="アクセスログ (連鎖前)", labels={
        "id": "受付番号", "at": "日時", "actor": "操作者", "action": "操作",
        "atena_no": "宛名番号", "request_id": "要求ID", "client_addr": "接続元",
        "purpose": "目的", "detail": "詳細 (JSON)"}),
    declare(audit_head, module=PLATFORM_MODULE, title="アクセスログの末尾", labels={
        "id": "ID", "last_seq": "最終連番", "last_hash": "最終ハッシュ"}),
    declare(outbox, module=PLATFORM_MODULE, title="連携イベント", labels={
        "id": "イベント番号", "topic": "種別", "version": "種別の版", "payload": "内容 (JSON)",
        "atena_no": "宛名番号", "request_id": "要求ID", "created_at": WHEN["created_at"]}),
    declare(event_offsets, module=PLATFORM_MODULE, title="連携先の受信位置", labels={
        "subscriber": "連携先", "last_event_id": "受信済みイベント番号",
        "updated_at": WHEN["updated_at"]}),
    declare(event_failures, module=PLATFORM_MODULE, title="連携の失敗", labels={
        "subscriber": "連携先", "event_id": "イベント番号", "attempts": "試行回数",
        "status": "状態", "last_error": "最後のエラー", "next_attempt_at": "次の試行日時",
        "updated_at": WHEN["updated_at"]}),
)

NOT_EXPORTED = {
    "job_chunks": "marks of this deployment's batch jobs, by its job numbers: meaningless "
                  "in another deployment, and harmful there (a later job with the same "
                  "number would skip its chunks)",
}
