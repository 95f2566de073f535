"""執行停止 and 不納欠損: arrears that will not be collected, and why.

執行停止 (滞納処分の停止, 地方税法第15条の7第1項): the payer has nothing to seize (第1号),
seizing would make their living hard (第2号), or neither they nor their property can be
found (第3号). It covers the arrears due before it starts, and is lifted when the ground
ends (第15条の8). Their 納税義務 is extinguished when it has lasted three years
(第15条の7第4項), or at once where the tax clearly cannot be collected under 第1号
(第5項).

時効 (第18条第1項): the right to collect is extinguished five years after the 納期限, a
period that starts again after a 督促 (from the day ten days after it was sent, 第18条の2)
and after a payment (the payer's acknowledgment, 民法第152条).

不納欠損 writes off an extinguished charge's 本税 and 延滞金, with the ground, so it leaves
the balance, the arrears and the 督促, and stays in the account's history.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from kumomura.collection.service import ChargeState, charge_states
from kumomura.collection.tables import (
    allocations,
    charges,
    demands,
    enforcement_stays,
    write_offs,
)
from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.core.timeutil import utcnow

GROUNDS = {
    1: "滞納処分をすることができる財産がない (第15条の7第1項第1号)",
    2: "滞納処分をすることによってその生活を著しく窮迫させるおそれがある (同第2号)",
    3: "その所在及び滞納処分をすることができる財産がともに不明である (同第3号)",
}
EXTINCTION = {"prescription": "時効 (地方税法第18条)",
              "stay_3_years": "執行停止の3年継続 (第15条の7第4項)",
              "stay_at_once": "執行停止による即時消滅 (第15条の7第5項)"}
PRESCRIPTION_YEARS = 5
STAY_YEARS = 3
DEMAND_DAYS = 10


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 2/29
        return day.replace(year=day.year + years, day=28)


def stay(conn: Connection, ctx: AuditContext, payer: tuple[str, str], started_on: date,
         ground: int, *, at_once: bool = False, reason: str) -> int:
    """執行停止 of the payer's arrears due before ``started_on``."""
    if ground not in GROUNDS:
        raise InvalidInput("停止の事由は第15条の7第1項の1〜3号です", field="ground")
    if at_once and ground != 1:
        raise InvalidInput("即時消滅 (第5項) は第1号の停止に限ります", field="at_once")
    if not reason.strip():
        raise InvalidInput("停止の理由 (調査の結果) を入力してください", field="reason")
    s = enforcement_stays.c
    if conn.execute(select(s.id).where(s.payer_kind == payer[0], s.payer_no == payer[1],
                                       s.lifted_on.is_(None))).first() is not None:
        raise InvalidInput(f"{payer[1]} は執行停止中です", field="atena_no")
    stay_id = int(conn.execute(insert(enforcement_stays).values(
        payer_kind=payer[0], payer_no=payer[1], started_on=started_on, ground=ground,
        immediate=int(at_once), reason=reason[:1000], decided_by=ctx.actor,
        decided_at=utcnow()).returning(s.id)).scalar_one())
    audit.record(conn, ctx, "collection.stay_started",
                 atena_no=payer[1] if payer[0] == "person" else None,
                 detail={"stay_id": stay_id, "ground": ground, "at_once": at_once})
    return stay_id


def lift(conn: Connection, ctx: AuditContext, stay_id: int, on: date, reason: str) -> None:
    """The stay lifted (第15条の8: the ground has ended), before it extinguished anything."""
    s = enforcement_stays.c
    row = conn.execute(select(enforcement_stays).where(s.id == stay_id)).first()
    if row is None or row.lifted_on is not None:
        raise InvalidInput(f"執行停止 {stay_id} はないか、取り消し済みです", field="stay_id")
    if conn.execute(select(write_offs.c.id).where(write_offs.c.stay_id == stay_id)).first():
        raise InvalidInput(f"執行停止 {stay_id} で消滅した税は取り消せません", field="stay_id")
    conn.execute(update(enforcement_stays).where(s.id == stay_id).values(
        lifted_on=on, lift_reason=reason[:1000]))
    audit.record(conn, ctx, "collection.stay_lifted", detail={"stay_id": stay_id})


def stays_of(conn: Connection, payer: tuple[str, str]) -> list[dict[str, Any]]:
    """The payer's 執行停止, latest first."""
    s = enforcement_stays.c
    return [{"stay_id": r.id, "started_on": r.started_on.isoformat(), "ground": r.ground,
             "ground_name": GROUNDS[r.ground], "at_once": bool(r.immediate),
             "lifted_on": r.lifted_on.isoformat() if r.lifted_on else None}
            for r in conn.execute(select(enforcement_stays).where(
                s.payer_kind == payer[0], s.payer_no == payer[1]).order_by(s.id.desc()))]


def prescription_date(state: ChargeState, last_paid: date | None,
                      demanded: date | None) -> date:
    """The day the charge's 時効 completes: five years from the day after the latest of
    its 納期限, its last payment and ten days after its 督促."""
    starts = [state.due_date + timedelta(days=1)]
    if last_paid is not None:
        starts.append(last_paid + timedelta(days=1))
    if demanded is not None:
        starts.append(demanded + timedelta(days=DEMAND_DAYS + 1))
    return _years_after(max(starts), PRESCRIPTION_YEARS)


def extinguished(conn: Connection, on: date) -> list[dict[str, Any]]:
    """Every charge still owed whose 納税義務 is extinguished by ``on``, with its ground."""
    c, a, s = charges.c, allocations.c, enforcement_stays.c
    old = _years_after(on, -STAY_YEARS)
    stays = conn.execute(select(enforcement_stays).where(
        s.lifted_on.is_(None), (s.immediate == 1) | (s.started_on <= old))).all()
    payers_stayed = {(r.payer_kind, r.payer_no): r for r in stays}
    candidates = charge_states(conn, c.id.not_in(select(write_offs.c.charge_id))
                               & ((c.due_date <= _years_after(on, -PRESCRIPTION_YEARS))
                                  | c.payer_no.in_([p for _, p in payers_stayed])), on)
    owing = [st for st in candidates if st.balance > 0 or st.late_fee_due > 0]
    ids = [st.id for st in owing]
    last_paid: dict[int, date] = {}
    demanded: dict[int, date] = {}
    payer_of: dict[int, tuple[str, str]] = {}
    for part in range(0, len(ids), 500):
        chunk = ids[part:part + 500]
        last_paid |= dict(conn.execute(select(a.charge_id, func.max(a.applied_on)).where(
            a.charge_id.in_(chunk), a.part.in_(("tax", "late_fee")), a.amount > 0)
            .group_by(a.charge_id)).all())
        demanded |= dict(conn.execute(select(demands.c.charge_id, demands.c.issued_on).where(
            demands.c.charge_id.in_(chunk))).all())
        payer_of |= {r.id: (r.payer_kind, r.payer_no) for r in conn.execute(
            select(c.id, c.payer_kind, c.payer_no).where(c.id.in_(chunk)))}
    found = []
    for st in owing:
        ground, stay_id, day = None, None, None
        held = payers_stayed.get(payer_of[st.id])
        if held is not None and st.due_date < held.started_on:
            ground = "stay_at_once" if held.immediate else "stay_3_years"
            day = held.started_on if held.immediate else _years_after(held.started_on,
                                                                       STAY_YEARS)
            stay_id = held.id
        prescribed = prescription_date(st, last_paid.get(st.id), demanded.get(st.id))
        if prescribed <= on and (day is None or prescribed < day):
            ground, stay_id, day = "prescription", None, prescribed
        if ground is not None and day is not None and day <= on:
            (then,) = charge_states(conn, c.id == st.id, day)  # the 延滞金 to extinction
            found.append({"charge_id": st.id, "payer_no": payer_of[st.id][1],
                          "levy": st.levy, "fiscal_year": st.fiscal_year, "label": st.label,
                          "due_date": st.due_date.isoformat(), "ground": ground,
                          "ground_name": EXTINCTION[ground], "stay_id": stay_id,
                          "extinguished_on": day.isoformat(), "tax": max(then.balance, 0),
                          "late_fee": then.late_fee_due})
    return found


def write_off(conn: Connection, ctx: AuditContext, on: date, *,
              preview: bool = False) -> list[dict[str, Any]]:
    """不納欠損 of every charge extinguished by ``on`` (with ``preview``, only the list)."""
    found = extinguished(conn, on)
    if found and not preview:
        now = utcnow()
        conn.execute(insert(write_offs), [
            {"charge_id": f["charge_id"], "extinguished_on": date.fromisoformat(
                f["extinguished_on"]), "ground": f["ground"], "stay_id": f["stay_id"],
             "tax": f["tax"], "late_fee": f["late_fee"], "decided_by": ctx.actor,
             "decided_at": now} for f in found])
    audit.record(conn, ctx, "collection.written_off" if not preview
                 else "collection.write_off_listed",
                 detail={"on": on.isoformat(), "charges": len(found),
                         "tax": sum(f["tax"] for f in found),
                         "atena_nos": sorted({f["payer_no"] for f in found})})
    return found
