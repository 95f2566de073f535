"""The gifts as a standard-layout file, exported, backed up and imported like the rest."""

from __future__ import annotations

from kumomura.platform.exchange.layouts import declare
from kumomura_birth_gift.params import MODULE
from kumomura_birth_gift.tables import birth_gifts

LAYOUTS = (
    declare(birth_gifts, module=MODULE, title="出生祝金 (町独自)", labels={
        "atena_no": "宛名番号", "household_no": "世帯番号", "born_on": "出生日",
        "amount": "支給額 (円)", "status": "状態 (due 未支給 / paid 支給済)",
        "paid_on": "支給日", "paid_by": "支給を記録した者", "event_id": "出生のイベント番号",
        "recorded_at": "記録日時"},
        allowed={"status": ("due", "paid")},
        references={"atena_no": "atena.atena_no"}),
)
