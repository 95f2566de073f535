"""Gifts due from births, their payment, and the note on the newborn's record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, select, update

from kumomura.platform import audit, events, installation, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import Conflict, InvalidInput, NotFound
from kumomura.platform.core.japanese import era_date
from kumomura.platform.core.timeutil import utcnow
from kumomura.residents import public as residents
from kumomura.residents.events import Born
from kumomura_birth_gift.params import MODULE, OPTION, BirthGiftParameters
from kumomura_birth_gift.tables import birth_gifts

g = birth_gifts.c


class AmountNotSet(RuntimeError):
    """The option is on but the ordinance's amount is not set: the birth waits."""


def on_born(conn: Connection, event: Born, envelope: events.Event) -> None:
    """A newborn of a town that pays the gift on the birth date goes on the list; a
    redelivered event finds the gift already there."""
    if event.status != "resident" or not installation.option_on(conn, OPTION,
                                                                  event.effective_on):
        return
    if conn.execute(select(g.atena_no).where(g.atena_no == event.atena_no)).first():
        return
    settings = params.values_on(conn, MODULE, event.effective_on)
    assert isinstance(settings, BirthGiftParameters)
    if settings.amount == 0:
        raise AmountNotSet("出生祝金の支給額 (パラメータ birth_gift.amount) が設定されていません")
    conn.execute(insert(birth_gifts).values(
        atena_no=event.atena_no, household_no=event.household_no, born_on=event.effective_on,
        amount=settings.amount, status="due", event_id=envelope.id, recorded_at=utcnow()))


@dataclass(frozen=True)
class Gift:
    atena_no: str
    name: str
    household_no: str
    born_on: date
    amount: int
    status: str
    paid_on: date | None


def gifts(conn: Connection, ctx: AuditContext) -> list[Gift]:
    """Every gift, those due first; the list is an audited read, with whom it showed."""
    rows = conn.execute(select(birth_gifts).order_by(g.status, g.born_on, g.atena_no)
                        ).mappings().all()
    found = []
    for row in rows:
        person = residents.current(conn, row["atena_no"])
        found.append(Gift(row["atena_no"], person["name"], row["household_no"],
                          row["born_on"], row["amount"], row["status"], row["paid_on"]))
    audit.record(conn, ctx, "birth_gift.list", detail={"atena_nos": [r.atena_no for r in found]})
    return found


def pay(conn: Connection, ctx: AuditContext, atena_no: str, paid_on: date) -> None:
    """Record the payment of one gift (once)."""
    row = conn.execute(select(birth_gifts).where(g.atena_no == atena_no).with_for_update()
                       ).mappings().first()
    if row is None:
        raise NotFound(f"宛名番号 {atena_no} の出生祝金はありません", field="atena_no")
    if row["status"] == "paid":
        raise Conflict(f"{era_date(row['paid_on'])}に支給済みです", field="atena_no")
    if paid_on < row["born_on"]:
        raise InvalidInput("支給日が出生日より前です", field="paid_on")
    conn.execute(update(birth_gifts).where(g.atena_no == atena_no).values(
        status="paid", paid_on=paid_on, paid_by=ctx.actor))
    audit.record(conn, ctx, "birth_gift.paid", atena_no=atena_no,
                 detail={"amount": row["amount"], "paid_on": paid_on.isoformat()})


def record_note(conn: Connection, atena_no: str) -> list[str]:
    """The line the newborn's record shows (extension point residents.record_notes)."""
    row = conn.execute(select(birth_gifts).where(g.atena_no == atena_no)).mappings().first()
    if row is None:
        return []
    state = (f"{era_date(row['paid_on'])}支給済" if row["status"] == "paid" else "未支給")
    return [f"出生祝金 {row['amount']:,}円 ({state})"]


def summary(rows: list[Gift]) -> dict[str, Any]:
    due = [r for r in rows if r.status == "due"]
    return {"due": len(due), "due_amount": sum(r.amount for r in due)}
