"""還付 and 充当 of 過誤納金 (地方税法第17条, 第17条の2), with 還付加算金 (第17条の4).

A payer's 過誤納金 is of two kinds, each with the day its 還付加算金 starts (第17条の4
第1項):

- 過納金: a charge reduced (減額更正) below what was paid on it. The excess is taken from
  its latest payments first; each part bears interest from the day after it was paid
  (第1号).
- 誤納金: money paid beyond anything owed (``overpaid``). It bears interest from the
  day after one month has passed since the day after it was paid (第4号).

A decision first appropriates (充当, 第17条の2) the 過誤納金 to what the payer owes and is
past its 納期限, oldest first; the appropriated part counts as paid on the 充当適状日 (the
later of the day the 過誤納金 arose and the day after the charge's 納期限) and bears
interest until then. The rest is refunded, its interest running to the 支出決定日. The
interest is counted as the 延滞金 is (第20条の4の2: the base floored to 1,000 yen, none
under 2,000; the sum floored to 100 yen, none under 1,000; 365-day years, each calendar
year at its own rate) and is paid out with the refund.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, insert, select

from kumomura.collection import law
from kumomura.collection.late_fee import DAY, LateFee, Term, base_of, first_month_end
from kumomura.collection.service import charge_states
from kumomura.collection.tables import allocations, charge_changes, charges, payments, refunds
from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.core.timeutil import as_utc, utcnow


@dataclass(frozen=True)
class Credit:
    """One part of a payer's 過誤納金: where it sits, since when, from when it bears
    interest."""

    payment_id: int
    charge_id: int | None  # the reduced charge (過納金); None for 誤納金
    amount: int
    arose_on: date
    accrues_from: date

    @property
    def kind(self) -> str:
        return "過納金" if self.charge_id is not None else "誤納金"


def credits(conn: Connection, payer: tuple[str, str]) -> list[Credit]:
    """The payer's 過誤納金 still held, oldest interest first."""
    a, c, p = allocations.c, charges.c, payments.c
    found: list[Credit] = []
    wrongly = conn.execute(
        select(a.payment_id, func.sum(a.amount).label("held"), p.paid_on)
        .join(payments, p.id == a.payment_id)
        .where(a.part == "overpaid", p.payer_kind == payer[0], p.payer_no == payer[1])
        .group_by(a.payment_id, p.paid_on).having(func.sum(a.amount) > 0))
    for row in wrongly:
        found.append(Credit(row.payment_id, None, int(row.held), row.paid_on,
                            first_month_end(row.paid_on) + DAY))  # 第17条の4第1項第4号
    over = conn.execute(select(c.id, c.amount, func.sum(a.amount).label("paid"))
                        .join(allocations, a.charge_id == c.id)
                        .where(a.part == "tax", c.payer_kind == payer[0],
                               c.payer_no == payer[1])
                        .group_by(c.id, c.amount).having(func.sum(a.amount) > c.amount)).all()
    for charge in over:
        reduced = conn.execute(select(func.max(charge_changes.c.changed_at)).where(
            charge_changes.c.charge_id == charge.id, charge_changes.c.kind == "decrease")
        ).scalar_one()
        arose = as_utc(reduced).date() if reduced is not None else date.min
        net: dict[int, int] = defaultdict(int)
        day: dict[int, date] = {}
        for row in conn.execute(select(a.payment_id, a.amount, p.paid_on)
                                .join(payments, p.id == a.payment_id)
                                .where(a.charge_id == charge.id, a.part == "tax")):
            net[row.payment_id] += row.amount
            day[row.payment_id] = row.paid_on
        excess = int(charge.paid) - charge.amount
        for payment_id in sorted(net, key=lambda k: (day[k], k), reverse=True):
            take = min(excess, net[payment_id])
            if take > 0:
                found.append(Credit(payment_id, charge.id, take, max(arose, day[payment_id]),
                                    day[payment_id] + DAY))  # 第17条の4第1項第1号
                excess -= take
            if excess <= 0:
                break
    return sorted(found, key=lambda cr: (cr.accrues_from, cr.payment_id))


def interest(parts: list[tuple[date, int]], until: date) -> LateFee:
    """還付加算金 on ``parts`` (from the day, the amount) to ``until``, inclusive."""
    terms: list[Term] = []
    starts = sorted({start for start, _ in parts if start <= until})
    for i, start in enumerate(starts):
        end = min(starts[i + 1] - DAY, until) if i + 1 < len(starts) else until
        base = base_of(sum(amount for s, amount in parts if s <= start))
        lo = start
        while base and lo <= end:
            hi = min(date(lo.year, 12, 31), end)
            terms.append(Term(lo, hi, base, law.refund_rate(lo.year)))
            lo = hi + DAY
    return LateFee(tuple(terms))


@dataclass
class Use:
    credit: Credit
    amount: int
    charge_id: int | None  # appropriated to; None: refunded
    until: date  # 充当適状日, or the 支出決定日


def decide(conn: Connection, ctx: AuditContext, payer: tuple[str, str], on: date, *,
           preview: bool = False) -> dict[str, Any]:
    """充当 and then 還付 of all the payer's 過誤納金 on the 支出決定日 ``on``; with
    ``preview``, what it would be, nothing written."""
    held = credits(conn, payer)
    if not held:
        raise InvalidInput(f"{payer[1]} に還付・充当する過誤納金はありません", field="atena_no")
    owed = [s for s in charge_states(conn, (charges.c.payer_kind == payer[0])
                                     & (charges.c.payer_no == payer[1]), on)
            if s.balance > 0 and s.due_date < on]
    uses: list[Use] = []
    left = {id(cr): cr.amount for cr in held}
    for state in owed:
        need = state.balance
        for cr in held:
            take = min(need, left[id(cr)])
            if take > 0:
                uses.append(Use(cr, take, state.id, max(cr.arose_on, state.due_date + DAY)))
                left[id(cr)] -= take
                need -= take
    uses += [Use(cr, left[id(cr)], None, on) for cr in held if left[id(cr)] > 0]
    by_end: dict[date, list[Use]] = defaultdict(list)
    for use in uses:
        by_end[use.until].append(use)
    reckoned = {end: interest([(u.credit.accrues_from, u.amount) for u in group], end)
                for end, group in by_end.items()}
    total_interest = sum(fee.amount for fee in reckoned.values())
    decision = {
        "payer_kind": payer[0], "payer_no": payer[1], "decided_on": on.isoformat(),
        "credits": [{"kind": cr.kind, "amount": cr.amount, "arose_on": cr.arose_on.isoformat(),
                     "accrues_from": cr.accrues_from.isoformat()} for cr in held],
        "appropriated": sum(u.amount for u in uses if u.charge_id is not None),
        "refunded": sum(u.amount for u in uses if u.charge_id is None),
        "interest": total_interest,
        "interest_terms": [{"until": end.isoformat(), **fee.as_dict()}
                           for end, fee in sorted(reckoned.items())],
    }
    if preview:
        return decision
    refund_id = int(conn.execute(insert(refunds).values(
        payer_kind=payer[0], payer_no=payer[1], decided_on=on,
        appropriated=decision["appropriated"], refunded=decision["refunded"],
        interest=total_interest, detail=json.dumps(decision, ensure_ascii=False),
        decided_by=ctx.actor, decided_at=utcnow()).returning(refunds.c.id)).scalar_one())
    now = utcnow()
    rows = []
    for use in uses:
        source = "tax" if use.credit.charge_id is not None else "overpaid"
        rows.append({"payment_id": use.credit.payment_id, "charge_id": use.credit.charge_id,
                     "part": source, "amount": -use.amount, "applied_on": use.until,
                     "applied_at": now, "refund_id": refund_id})
        rows.append({"payment_id": use.credit.payment_id, "charge_id": use.charge_id,
                     "part": "tax" if use.charge_id is not None else "refund",
                     "amount": use.amount, "applied_on": use.until, "applied_at": now,
                     "refund_id": refund_id})
    conn.execute(insert(allocations), rows)
    audit.record(conn, ctx, "collection.refund_decided",
                 atena_no=payer[1] if payer[0] == "person" else None,
                 detail={"refund_id": refund_id, "appropriated": decision["appropriated"],
                         "refunded": decision["refunded"], "interest": total_interest})
    return decision | {"refund_id": refund_id}


def history(conn: Connection, payer: tuple[str, str]) -> list[dict[str, Any]]:
    """The payer's 還付・充当 decisions, latest first."""
    r = refunds.c
    return [{"refund_id": row.id, "decided_on": row.decided_on.isoformat(),
             "appropriated": row.appropriated, "refunded": row.refunded,
             "interest": row.interest}
            for row in conn.execute(select(refunds).where(
                r.payer_kind == payer[0], r.payer_no == payer[1]).order_by(r.id.desc()))]
