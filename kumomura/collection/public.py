"""What other modules may read of collection: an addressee's balance over every levy."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from kumomura.collection.params import MODULE
from kumomura.collection.service import charge_states
from kumomura.collection.tables import charges

__all__ = ["MODULE", "balance_of", "charged_addressees"]


def charged_addressees(conn: Connection, levy: str, fiscal_year: int) -> int:
    """How many people have charges of a levy's year (a count: nothing shown)."""
    return int(conn.execute(select(func.count(func.distinct(charges.c.atena_no))).where(
        charges.c.levy == levy, charges.c.fiscal_year == fiscal_year)).scalar_one())


def balance_of(conn: Connection, atena_no: str, on: date) -> tuple[int, int]:
    """What the person still owes (本税, 延滞金 to ``on``) on every levy they pay; counts
    only, no look at the charges (nothing is shown, nothing audited)."""
    states = charge_states(conn, (charges.c.payer_kind == "person")
                           & (charges.c.payer_no == atena_no), on)
    return sum(s.balance for s in states), sum(s.late_fee_due for s in states)
