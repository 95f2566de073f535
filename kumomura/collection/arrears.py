"""滞納: who owes what past its 納期限, per payer and levy, with how long it has been owed
(aging), as the collection staff work their list from the oldest.

Counted in the database (one grouped query over charges and what was paid on them), so
the list of a whole municipality costs one pass, not a statement per person; the 延滞金
of one person is on their account.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, select

from kumomura.collection.tables import allocations, charges
from kumomura.platform import audit
from kumomura.platform.audit import AuditContext

BUCKETS = ((30, "30日以内"), (90, "31〜90日"), (365, "91日〜1年"), (None, "1年超"))
"""Aging: days since the 納期限, the staff's usual bands."""


def arrears(conn: Connection, ctx: AuditContext, on: date, *,
            levy: str | None = None) -> list[dict[str, Any]]:
    """Every payer with 本税 unpaid past its 納期限 on ``on``, oldest first: per payer and
    levy, the unpaid total, the number of charges, the oldest 納期限 and each aging band's
    amount. The list names people: its reading is audited with whom it named."""
    c, a = charges.c, allocations.c
    paid = (select(a.charge_id, func.sum(a.amount).label("paid"))
            .where(a.part == "tax").group_by(a.charge_id).subquery())
    owed = (c.amount - func.coalesce(paid.c.paid, 0)).label("owed")
    late = select(c.payer_kind, c.payer_no, c.levy, c.due_date, owed).outerjoin(
        paid, paid.c.charge_id == c.id).where(c.due_date < on)
    if levy:
        late = late.where(c.levy == levy)
    rows = late.subquery()
    # A band by the 納期限's own date: owed more than ``low`` days and at most ``high``.
    bands = []
    low = 0
    for high, label in BUCKETS:
        inside = rows.c.due_date < on - timedelta(days=low)
        if high is not None:
            inside = inside & (rows.c.due_date >= on - timedelta(days=high))
        bands.append(func.sum(case((inside, rows.c.owed), else_=0)).label(label))
        low = high or low
    query = (select(rows.c.payer_kind, rows.c.payer_no, rows.c.levy,
                    func.sum(rows.c.owed).label("unpaid"), func.count().label("charges"),
                    func.min(rows.c.due_date).label("oldest_due"), *bands)
             .where(rows.c.owed > 0)
             .group_by(rows.c.payer_kind, rows.c.payer_no, rows.c.levy)
             .order_by(func.min(rows.c.due_date), rows.c.payer_no))
    found = [dict(r) for r in conn.execute(query).mappings()]
    for row in found:
        row["oldest_due"] = row["oldest_due"].isoformat() if isinstance(
            row["oldest_due"], date) else str(row["oldest_due"])
        for _, label in BUCKETS:
            row[label] = int(row[label] or 0)
        row["unpaid"] = int(row["unpaid"])
    audit.record(conn, ctx, "collection.arrears_listed",
                 detail={"on": on.isoformat(), "levy": levy, "people": len(found),
                         "atena_nos": [r["payer_no"] for r in found
                                       if r["payer_kind"] == "person"]})
    return found
