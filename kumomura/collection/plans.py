"""分納誓約: a payer who cannot pay their arrears at once promises parts by dates.

The promise covers what they owed on the day it was made (本税 past its 納期限 and the
延滞金 to that day). Whether it is kept is read, never stored: what the payer has paid on
their charges since that day, against what the schedule asked by each date. The first
date whose running total was not reached is the breach the staff follow up.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from kumomura.collection.service import charge_states
from kumomura.collection.tables import allocations, charges, installment_plans, plan_installments
from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.core.timeutil import utcnow

MAX_PARTS = 120


def _monthly(first: date, k: int) -> date:
    """The ``k``-th monthly date after ``first``: its day, or the month's last."""
    month = first.month - 1 + k
    year, month = first.year + month // 12, month % 12 + 1
    return date(year, month, min(first.day, calendar.monthrange(year, month)[1]))


def schedule(total: int, monthly: int, first: date) -> list[tuple[date, int]]:
    """Equal monthly parts from ``first``, the last one what is left."""
    if monthly <= 0:
        raise InvalidInput("毎月の納付額は1円以上です", field="monthly")
    parts = -(-total // monthly)
    if parts > MAX_PARTS:
        raise InvalidInput(f"{total:,}円を月{monthly:,}円では{parts}回になります "
                           f"({MAX_PARTS}回まで)", field="monthly")
    return [(_monthly(first, k), min(monthly, total - k * monthly)) for k in range(parts)]


def owed_on(conn: Connection, payer: tuple[str, str], on: date) -> int:
    """What the payer owed on ``on``: 本税 past its 納期限 and the 延滞金 to that day."""
    states = charge_states(conn, (charges.c.payer_kind == payer[0])
                           & (charges.c.payer_no == payer[1]) & (charges.c.due_date < on), on)
    return sum(max(s.balance, 0) + s.late_fee_due for s in states)


def make(conn: Connection, ctx: AuditContext, payer: tuple[str, str], made_on: date,
         first: date, monthly: int, *, note: str = "") -> dict[str, Any]:
    """A 分納誓約 for all the payer owes on ``made_on``, paid ``monthly`` from ``first``."""
    if first < made_on:
        raise InvalidInput("初回の納付日は誓約の日以後です", field="first")
    open_plans = [p for p in plans_of(conn, payer, made_on) if p["state"] == "active"]
    if open_plans:
        raise InvalidInput(f"{payer[1]} には履行中の分納誓約 (番号 {open_plans[0]['plan_id']}) "
                           "があります", field="atena_no")
    total = owed_on(conn, payer, made_on)
    if total <= 0:
        raise InvalidInput(f"{payer[1]} に納期限を過ぎた未納はありません", field="atena_no")
    parts = schedule(total, monthly, first)
    plan_id = int(conn.execute(insert(installment_plans).values(
        payer_kind=payer[0], payer_no=payer[1], made_on=made_on, total=total,
        note=note[:500], made_by=ctx.actor, made_at=utcnow())
        .returning(installment_plans.c.id)).scalar_one())
    conn.execute(insert(plan_installments), [
        {"plan_id": plan_id, "due_on": day, "amount": amount} for day, amount in parts])
    audit.record(conn, ctx, "collection.plan_made",
                 atena_no=payer[1] if payer[0] == "person" else None,
                 detail={"plan_id": plan_id, "total": total, "parts": len(parts)})
    return status(conn, plan_id, made_on)


def cancel(conn: Connection, ctx: AuditContext, plan_id: int, on: date) -> None:
    """The promise withdrawn (the payer's arrears go back to the ordinary steps)."""
    p = installment_plans.c
    done = conn.execute(update(installment_plans).where(p.id == plan_id,
                                                        p.cancelled_on.is_(None))
                        .values(cancelled_on=on))
    if done.rowcount != 1:
        raise InvalidInput(f"分納誓約 {plan_id} はないか、取り消し済みです", field="plan_id")
    audit.record(conn, ctx, "collection.plan_cancelled", detail={"plan_id": plan_id})


@dataclass(frozen=True)
class _Plan:
    id: int
    payer: tuple[str, str]
    made_on: date
    total: int
    cancelled_on: date | None


def _paid_since(conn: Connection, payer: tuple[str, str], since: date, until: date) -> int:
    """What the payer paid on their charges (本税 and 延滞金) from ``since`` to ``until``:
    money moved by a 還付・充当 is not a payment."""
    a, c = allocations.c, charges.c
    return int(conn.execute(select(func.coalesce(func.sum(a.amount), 0))
                            .join(charges, c.id == a.charge_id)
                            .where(c.payer_kind == payer[0], c.payer_no == payer[1],
                                   a.part.in_(("tax", "late_fee")), a.refund_id.is_(None),
                                   a.applied_on >= since, a.applied_on <= until)).scalar_one())


def status(conn: Connection, plan_id: int, on: date) -> dict[str, Any]:
    """The plan on ``on``: its schedule, what was asked by now and paid, and its state
    (active, kept in full ``completed``, ``breached`` with the first date missed, or
    ``cancelled``)."""
    p, i = installment_plans.c, plan_installments.c
    row = conn.execute(select(installment_plans).where(p.id == plan_id)).first()
    if row is None:
        raise InvalidInput(f"分納誓約 {plan_id} はありません", field="plan_id")
    plan = _Plan(row.id, (row.payer_kind, row.payer_no), row.made_on, row.total,
                 row.cancelled_on)
    parts = conn.execute(select(i.due_on, i.amount).where(i.plan_id == plan_id)
                         .order_by(i.due_on)).all()
    paid = _paid_since(conn, plan.payer, plan.made_on, on)
    asked, missed = 0, None
    for part in parts:
        if part.due_on >= on:
            break
        asked += part.amount
        if missed is None and _paid_since(conn, plan.payer, plan.made_on, part.due_on) < asked:
            missed = part.due_on
    if plan.cancelled_on is not None:
        state = "cancelled"
    elif paid >= plan.total:
        state = "completed"
    elif missed is not None and paid < asked:
        state = "breached"
    else:
        state = "active"
    return {"plan_id": plan.id, "payer_no": plan.payer[1], "made_on": plan.made_on.isoformat(),
            "total": plan.total, "asked_to_date": asked, "paid_since": paid, "state": state,
            "first_missed": missed.isoformat() if missed and state == "breached" else None,
            "schedule": [{"due_on": pt.due_on.isoformat(), "amount": pt.amount}
                         for pt in parts]}


def plans_of(conn: Connection, payer: tuple[str, str], on: date) -> list[dict[str, Any]]:
    p = installment_plans.c
    ids = conn.execute(select(p.id).where(p.payer_kind == payer[0], p.payer_no == payer[1])
                       .order_by(p.id)).scalars().all()
    return [status(conn, plan_id, on) for plan_id in ids]


def all_plans(conn: Connection, ctx: AuditContext, on: date, *,
              state: str | None = None) -> list[dict[str, Any]]:
    """Every plan with its state on ``on`` (only of ``state``, e.g. the breached to
    follow up); the list names people: audited."""
    ids = conn.execute(select(installment_plans.c.id).order_by(installment_plans.c.id)
                       ).scalars().all()
    found = [status(conn, plan_id, on) for plan_id in ids]
    found = [p for p in found if state is None or p["state"] == state]
    audit.record(conn, ctx, "collection.plans_listed",
                 detail={"on": on.isoformat(), "state": state,
                         "atena_nos": [p["payer_no"] for p in found]})
    return found
