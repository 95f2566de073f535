"""Collection's use cases over one municipality's open transaction: charges taken from
the levies' events, and an addressee's account."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from kumomura.collection.late_fee import late_fee
from kumomura.collection.tables import (
    allocations,
    charge_changes,
    charges,
    employers,
    payments,
    refunds,
    write_offs,
)
from kumomura.platform import audit, events
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.levies import ChargesEvent, Payer

LEVY_NAMES = {"inhabitant_tax": "個人住民税"}
"""What staff and payers read for a levy's code."""


def levy_name(levy: str) -> str:
    return LEVY_NAMES.get(levy, levy)


KEY = ("levy", "fiscal_year", "payer_kind", "payer_no", "atena_no", "installment")


def levy_of(event: ChargesEvent) -> str:
    """The levy a charges event speaks for: its topic's module (``inhabitant_tax``)."""
    return event.name.split(".")[0]


def take_charges(conn: Connection, event: ChargesEvent, envelope: events.Event) -> None:
    """調定 from a levy's event: new installments are charged, changed ones get an
    増額 or 減額 調定 beside their history; a redelivered event finds its work done (the
    change is keyed by the event). Payments already made stay where they are."""
    levy = levy_of(event)
    if event.payers:
        keep_payers(conn, event.payers, f"event:{envelope.id}")
    c = charges.c
    lines = {(levy, event.fiscal_year, ln.payer_kind, ln.payer_no, ln.atena_no,
              ln.installment): ln for ln in event.lines}
    if not lines:
        return
    held: dict[tuple[Any, ...], tuple[int, int]] = {}
    numbers = sorted({ln.payment_no for ln in event.lines})
    for i in range(0, len(numbers), 500):  # by the indexed 納付番号, then by the whole key
        for row in conn.execute(select(*(c[k] for k in KEY), c.id, c.amount).where(
                c.payment_no.in_(numbers[i:i + 500]))):
            if tuple(row[:6]) in lines:
                held[tuple(row[:6])] = (row.id, row.amount)
    now = utcnow()
    new = [{**dict(zip(KEY, key, strict=True)), "label": ln.label, "due_date": ln.due_date,
            "amount": ln.amount, "payment_no": ln.payment_no, "created_at": now}
           for key, ln in lines.items() if key not in held and ln.amount > 0]
    if new:
        made = conn.execute(insert(charges).returning(c.id, c.amount, sort_by_parameter_order=True),
                            new).all()
        conn.execute(insert(charge_changes), [
            {"charge_id": row.id, "kind": "initial", "delta": row.amount,
             "amount_after": row.amount, "reason": event.reason, "event_id": envelope.id,
             "changed_at": now} for row in made])
    done = {cid for (cid,) in conn.execute(select(charge_changes.c.charge_id).where(
        charge_changes.c.event_id == envelope.id))}
    for key, (charge_id, amount) in held.items():
        line = lines[key]
        if line.amount == amount or charge_id in done:
            continue
        conn.execute(update(charges).where(c.id == charge_id).values(
            amount=line.amount, due_date=line.due_date))
        conn.execute(insert(charge_changes).values(
            charge_id=charge_id, kind="increase" if line.amount > amount else "decrease",
            delta=line.amount - amount, amount_after=line.amount, reason=event.reason,
            event_id=envelope.id, changed_at=now))


def keep_payers(conn: Connection, given: list[Payer], by: str) -> None:
    """The employers a levy named: a new one registered, a known one's name updated,
    an address kept unless the levy gives one."""
    e = employers.c
    known = {r.payer_no: r for r in conn.execute(select(employers).where(
        e.payer_no.in_([p.payer_no for p in given])))}
    now = utcnow()
    for payer in given:
        held = known.get(payer.payer_no)
        values: dict[str, Any] = {"name": payer.name, "updated_by": by, "updated_at": now}
        if payer.address:
            values |= {"address": payer.address, "postal_code": payer.postal_code}
        if held is None:
            conn.execute(insert(employers).values(payer_no=payer.payer_no, **values))
        elif held.name != payer.name or (payer.address and held.address != payer.address):
            conn.execute(update(employers).where(e.id == held.id).values(**values))


def set_employer(conn: Connection, ctx: AuditContext, payer_no: str, *, name: str | None,
                 postal_code: str | None, address: str | None) -> None:
    """The staff's record of an employer: its name, postal code and address."""
    e = employers.c
    held = conn.execute(select(employers).where(e.payer_no == payer_no)).first()
    if held is None and not name:
        raise InvalidInput(f"特別徴収義務者 {payer_no} は未登録です: 名称も入力してください",
                           field="name")
    values: dict[str, Any] = {k: v for k, v in (("name", name), ("postal_code", postal_code),
                                                ("address", address)) if v is not None}
    values |= {"updated_by": ctx.actor, "updated_at": utcnow()}
    if held is None:
        conn.execute(insert(employers).values(payer_no=payer_no, **values))
    else:
        conn.execute(update(employers).where(e.id == held.id).values(**values))
    audit.record(conn, ctx, "collection.employer_recorded",
                 detail={"payer_no": payer_no, "fields": sorted(values)})


def employer_addressees(conn: Connection, numbers: list[str]) -> dict[str, dict[str, Any]]:
    """Name, postal code and address of these employers, as a letter's addressee."""
    e = employers.c
    return {r.payer_no: {"name": r.name, "postal_code": r.postal_code, "address": r.address}
            for r in conn.execute(select(employers).where(e.payer_no.in_(numbers)))}


@dataclass(frozen=True)
class ChargeState:
    """One charge on an account as of a day."""

    id: int
    levy: str
    fiscal_year: int
    label: str
    atena_no: str
    due_date: date
    payment_no: str
    amount: int
    paid: int
    late_fee: int
    late_fee_paid: int
    written_off: int = 0
    late_fee_written_off: int = 0

    @property
    def balance(self) -> int:
        return self.amount - self.paid - self.written_off

    @property
    def late_fee_due(self) -> int:
        return max(self.late_fee - self.late_fee_paid - self.late_fee_written_off, 0)

    def as_dict(self) -> dict[str, Any]:
        return {"levy": self.levy, "fiscal_year": self.fiscal_year, "label": self.label,
                "atena_no": self.atena_no, "due_date": self.due_date.isoformat(),
                "payment_no": self.payment_no, "amount": self.amount, "paid": self.paid,
                "balance": self.balance, "late_fee": self.late_fee,
                "late_fee_paid": self.late_fee_paid, "late_fee_due": self.late_fee_due,
                "written_off": self.written_off + self.late_fee_written_off}


def charge_states(conn: Connection, where: Any, on: date) -> list[ChargeState]:
    """Charges matching ``where`` with everything paid on them (whatever its date: a
    payment is never counted twice nor forgotten), the 延滞金 as of ``on`` (or as of its
    extinction, for one written off) and what 不納欠損 took off."""
    c, a, w = charges.c, allocations.c, write_offs.c
    rows = conn.execute(select(charges).where(where).order_by(c.due_date, c.levy, c.id)
                        ).mappings().all()
    paid: dict[int, list[tuple[date, int]]] = defaultdict(list)
    fee_paid: dict[int, int] = defaultdict(int)
    gone: dict[int, Any] = {}
    ids = [r["id"] for r in rows]
    for part in range(0, len(ids), 500):
        for row in conn.execute(select(a.charge_id, a.part, a.amount, a.applied_on).where(
                a.charge_id.in_(ids[part:part + 500]))):
            if row.part == "tax":  # a 充当 out of a reduced charge is a negative row
                paid[row.charge_id].append((row.applied_on, row.amount))
            elif row.part == "late_fee":
                fee_paid[row.charge_id] += row.amount
        for extinct in conn.execute(select(w.charge_id, w.extinguished_on, w.tax,
                                           w.late_fee).where(
                w.charge_id.in_(ids[part:part + 500]))):
            gone[extinct.charge_id] = extinct
    states = []
    for r in rows:
        tax_paid = sum(amount for _, amount in paid[r["id"]])
        off = gone.get(r["id"])
        until = min(on, off.extinguished_on) if off is not None else on
        fee = late_fee(r["amount"], r["due_date"], [(d, x) for d, x in paid[r["id"]] if x > 0],
                       until=until if tax_paid < r["amount"] else None).amount \
            if on > r["due_date"] else 0
        states.append(ChargeState(
            id=r["id"], levy=r["levy"], fiscal_year=r["fiscal_year"], label=r["label"],
            atena_no=r["atena_no"], due_date=r["due_date"], payment_no=r["payment_no"],
            amount=r["amount"], paid=tax_paid, late_fee=fee,
            late_fee_paid=fee_paid[r["id"]], written_off=off.tax if off is not None else 0,
            late_fee_written_off=off.late_fee if off is not None else 0))
    return states


def held_at_stores(conn: Connection, numbers: list[str]) -> dict[str, int]:
    """What コンビニ速報 say was paid on these 納付番号 and no 確報 has paid yet: no money,
    but reason enough not to send the payer a 督促."""
    p = payments.c
    held: dict[str, int] = defaultdict(int)
    for part in range(0, len(numbers), 500):
        for row in conn.execute(select(p.payment_no, p.amount).where(
                p.status == "provisional", p.payment_no.in_(numbers[part:part + 500]))):
            held[row.payment_no] += row.amount
    return dict(held)


def account(conn: Connection, ctx: AuditContext, atena_no: str, on: date) -> dict[str, Any]:
    """An addressee's account: every charge of every levy they pay, what was paid, the
    balance and the 延滞金 to ``on`` (none: an empty account); the look is audited."""
    states = charge_states(conn, (charges.c.payer_kind == "person")
                           & (charges.c.payer_no == atena_no), on)
    audit.record(conn, ctx, "collection.account_viewed", atena_no=atena_no,
                 detail={"on": on.isoformat()})
    held = held_at_stores(conn, sorted({s.payment_no for s in states}))
    a, p, r = allocations.c, payments.c, refunds.c
    wrongly = conn.execute(select(func.coalesce(func.sum(a.amount), 0))
                           .join(payments, p.id == a.payment_id)
                           .where(a.part == "overpaid", p.payer_kind == "person",
                                  p.payer_no == atena_no)).scalar_one()
    decided = [{"refund_id": row.id, "decided_on": row.decided_on.isoformat(),
                "appropriated": row.appropriated, "refunded": row.refunded,
                "interest": row.interest}
               for row in conn.execute(select(refunds).where(
                   r.payer_kind == "person", r.payer_no == atena_no).order_by(r.id.desc()))]
    return {"atena_no": atena_no, "on": on.isoformat(),
            "charges": [s.as_dict() | {"held_at_store": held.get(s.payment_no, 0)}
                        for s in states],
            "total": sum(s.amount for s in states), "paid": sum(s.paid for s in states),
            "balance": sum(s.balance for s in states),
            "late_fee_due": sum(s.late_fee_due for s in states),
            "held_at_stores": sum(held.values()),
            "credit": int(wrongly) + sum(max(-s.balance, 0) for s in states),
            "refunds": decided}
