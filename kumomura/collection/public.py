"""What other modules may read of collection: an addressee's balance over every levy;
and, for the demo and the benchmarks, synthetic payments taken as a bank's file."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import Connection, func, select

from kumomura.collection.params import MODULE
from kumomura.collection.payments import import_file
from kumomura.collection.service import charge_states
from kumomura.collection.tables import charges, payments
from kumomura.platform.audit import AuditContext

__all__ = ["MODULE", "balance_of", "charged_addressees", "load_synthetic_payments"]


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


def load_synthetic_payments(conn: Connection, ctx: AuditContext, on: date, *,
                            seed: int) -> int:
    """A bank's file of synthetic payments of what fell due before ``on``, taken as any
    payment file is: most installments paid on time and exactly, some late (their
    延滞金 left owed), some in part, some not at all; employers pay their months. Once:
    nothing when payments are held already. The number of payments."""
    if conn.execute(select(payments.c.id).limit(1)).first() is not None:
        return 0
    rng = random.Random(seed)  # noqa: S311  (synthetic data, repeatable by design)
    c = charges.c
    due = conn.execute(select(c.payment_no, func.sum(c.amount), func.min(c.due_date))
                       .where(c.due_date < on).group_by(c.payment_no)
                       .order_by(func.min(c.id))).all()
    rows = []
    for number, amount, due_date in due:
        roll = rng.random()
        if roll < 0.85:
            rows.append((number, due_date - timedelta(days=rng.randint(0, 20)), amount))
        elif roll < 0.90:
            late = min(due_date + timedelta(days=rng.randint(20, 120)), on - timedelta(days=1))
            rows.append((number, late, amount))
        elif roll < 0.93:
            rows.append((number, due_date, amount // 2))
    if not rows:
        return 0
    content = "納付番号,納付日,納付額\n" + "".join(
        f"{number},{day.isoformat()},{amount}\n" for number, day, amount in rows)
    return import_file(conn, ctx, f"synthetic-{on.isoformat()}.csv", content.encode(),
                       channel="bank").applied
