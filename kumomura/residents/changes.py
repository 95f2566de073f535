"""異動: every change to the registry, each in the caller's one transaction.

Each change is planned first: the new state of every person it touches. The plan is then
checked as a whole against the registry's invariants (every living resident in exactly
one household, one householder per household, one address per household, dates in
order) and refused with every broken rule named, before anything is written. Writing
closes each current version, opens the next, numbers new people and households, emits
one event per person and audits, all in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from kumomura.platform import audit, events, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import FieldProblem, NotFound, invalid
from kumomura.platform.core.japanese import kana_key, text_key
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.storage.numbering import next_value, with_check_digit
from kumomura.platform.tenancy.profile import Office
from kumomura.residents.events import BY_CHANGE_TYPE
from kumomura.residents.models import (
    CORRECTABLE,
    HOUSEHOLDER,
    Address,
    Birth,
    Cancellation,
    Correction,
    Death,
    HouseholdChange,
    MoveIn,
    MoveOut,
    NewPerson,
    Relationships,
    Relocation,
)
from kumomura.residents.params import MODULE, ResidentsParameters
from kumomura.residents.tables import atena, changes, households, resident_versions

rv = resident_versions
NEW_HOUSEHOLD = "new"
NUMBER_WIDTH = 15

STATE_FIELDS = (
    "status", "name", "kana", "birth_date", "sex", "household_no", "relationship",
    "postal_code", "address_town", "address_line", "address_set_on", "became_resident_on",
    "previous_address", "honseki", "hittousha", "resident_card_code", "is_foreign",
    "nationality", "residence_status", "residence_until", "removed_on", "removal_reason",
)

NAMES = {
    "move_in": "転入", "birth": "出生", "move_out": "転出", "relocation": "転居",
    "death": "死亡", "household_change": "世帯変更", "correction": "職権修正",
    "cancellation": "異動の取消し",
}
"""The change types as staff call them."""

LAW = {
    "move_in": "住民基本台帳法第22条", "relocation": "住民基本台帳法第23条",
    "move_out": "住民基本台帳法第24条", "household_change": "住民基本台帳法第25条",
    "birth": "戸籍法第49条", "death": "戸籍法第86条",
}


@dataclass(frozen=True)
class ChangeResult:
    change_id: int
    change_type: str
    effective_on: date
    is_late: bool
    warnings: list[str]
    atena_nos: list[str]
    household_nos: list[str]
    detail: dict[str, Any]


@dataclass
class Plan:
    """The new state of each person a change touches, before anything is written."""

    change_type: str
    effective_on: date
    notified_on: date | None
    current: dict[str, dict[str, Any]]
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_people: list[dict[str, Any]] = field(default_factory=list)
    reopened: set[str] = field(default_factory=set)
    dissolved: set[str] = field(default_factory=set)
    cancels: int | None = None
    problems: list[FieldProblem] = field(default_factory=list)

    def problem(self, where: str, message: str) -> None:
        self.problems.append(FieldProblem(where, message))

    def update(self, atena_no: str) -> dict[str, Any]:
        """The planned state of a person, starting from the current one."""
        if atena_no not in self.updates:
            self.updates[atena_no] = {k: self.current[atena_no][k] for k in STATE_FIELDS}
        return self.updates[atena_no]


# -- reading ----------------------------------------------------------------------------


def current_versions(conn: Connection, atena_nos: Iterable[str], *,
                     where: str = "atena_nos") -> dict[str, dict[str, Any]]:
    """Current versions of the named people, locked for the change; 404 names the unknown."""
    wanted = list(dict.fromkeys(atena_nos))
    rows = conn.execute(
        select(rv).where(rv.c.atena_no.in_(wanted), rv.c.valid_to.is_(None)).with_for_update()
    ).mappings().all()
    found = {r["atena_no"]: dict(r) for r in rows}
    missing = [a for a in wanted if a not in found]
    if missing:
        raise NotFound(f"宛名番号 {', '.join(missing)} の住民記録はありません", field=where)
    return found


def household_members(conn: Connection, household_no: str) -> list[dict[str, Any]]:
    """Living members of a household (current versions with status resident)."""
    rows = conn.execute(
        select(rv).where(rv.c.household_no == household_no, rv.c.valid_to.is_(None),
                         rv.c.status == "resident")
        .order_by(rv.c.relationship != HOUSEHOLDER, rv.c.birth_date)
    ).mappings().all()
    return [dict(r) for r in rows]


def _active_household(conn: Connection, plan: Plan, household_no: str,
                      where: str) -> list[dict[str, Any]]:
    row = conn.execute(select(households).where(households.c.household_no == household_no)
                       .with_for_update()).mappings().first()
    if row is None:
        raise NotFound(f"世帯番号 {household_no} の世帯はありません", field=where)
    if row["dissolved_on"] is not None:
        plan.problem(where, f"世帯 {household_no} は{row['dissolved_on']}に消滅しています")
        return []
    if plan.effective_on < row["created_on"]:
        plan.problem("effective_on", f"世帯 {household_no} ができた日 ({row['created_on']}) "
                                     "より前の日付です")
    members = household_members(conn, household_no)
    for m in members:
        plan.current.setdefault(m["atena_no"], m)
    return members


# -- rules shared by every change -------------------------------------------------------


def _dates(plan: Plan, today: date, *, effective: str, notified: str | None,
           notified_after_effective: bool = True, effective_may_be_future: bool = False) -> None:
    if not effective_may_be_future and plan.effective_on > today:
        plan.problem(effective, f"{plan.effective_on} は将来の日付です")
    if notified is None or plan.notified_on is None:
        return
    if plan.notified_on > today:
        plan.problem(notified, f"届出日 {plan.notified_on} は将来の日付です")
    if notified_after_effective and plan.notified_on < plan.effective_on:
        plan.problem(notified, f"届出日 {plan.notified_on} が異動日 {plan.effective_on} より前です")


def _residents_only(plan: Plan, atena_nos: Iterable[str], where: str) -> None:
    for a in atena_nos:
        if plan.current[a]["status"] != "resident":
            plan.problem(where, f"{a} は住民ではありません (除票: {plan.current[a]['removed_on']})")


def _not_before_current(plan: Plan) -> None:
    """Dates in order: a change takes effect no earlier than each person's current entry."""
    for a in plan.updates:
        since = plan.current[a]["valid_from"]
        if plan.effective_on < since:
            plan.problem("effective_on",
                         f"{a} の現在の記載 ({since}) より前の日付では異動できません")


def _apply_relationships(conn: Connection, plan: Plan, req: Relationships) -> None:
    """A new householder for those left behind, and the relationships that change."""
    named = [a for a in [req.new_householder, *req.relationships] if a]
    known = current_versions(conn, [a for a in named if a not in plan.current],
                             where="relationships") if named else {}
    plan.current.update(known)
    _residents_only(plan, req.relationships, "relationships")
    if req.new_householder:
        _residents_only(plan, [req.new_householder], "new_householder")
        plan.update(req.new_householder)["relationship"] = HOUSEHOLDER
    for a, relationship in req.relationships.items():
        plan.update(a)["relationship"] = relationship


def _label(household_no: str) -> str:
    return "(新しい世帯)" if household_no == NEW_HOUSEHOLD else household_no


def _check_households(conn: Connection, plan: Plan) -> None:
    """Every household the change touches ends with one householder and one address, or
    with nobody (then it is dissolved)."""
    states = [*plan.updates.values(), *plan.new_people]
    touched = {s["household_no"] for s in states}
    touched |= {plan.current[a]["household_no"] for a in plan.updates}
    dissolved_on = dict(conn.execute(  # locked: one change per household at a time
        select(households.c.household_no, households.c.dissolved_on)
        .where(households.c.household_no.in_(sorted(touched - {NEW_HOUSEHOLD})))
        .order_by(households.c.household_no).with_for_update()).all())
    for hh in sorted(touched):
        active = hh == NEW_HOUSEHOLD or dissolved_on[hh] is None or hh in plan.reopened
        staying = [] if hh == NEW_HOUSEHOLD else [
            m for m in household_members(conn, hh) if m["atena_no"] not in plan.updates]
        arriving = [s for s in states if s["household_no"] == hh and s["status"] == "resident"]
        members = staying + arriving
        if not members:
            if hh != NEW_HOUSEHOLD and active:
                plan.dissolved.add(hh)
            continue
        if not active:
            plan.problem("household_no", f"世帯 {hh} は{dissolved_on[hh]}に消滅しています")
        heads = sum(1 for m in members if m["relationship"] == HOUSEHOLDER)
        if heads == 0 and hh == NEW_HOUSEHOLD:
            plan.problem("relationships", "新しい世帯の世帯主を続柄「世帯主」で指定してください")
        elif heads == 0:
            plan.problem("new_householder", f"世帯 {_label(hh)} に世帯主がいなくなります。"
                                            "新しい世帯主を指定してください")
        elif heads > 1:
            plan.problem("relationships",
                         f"世帯 {_label(hh)} の世帯主が{heads}人になります (世帯主は1世帯に1人)")
        addresses = {(m["address_town"], m["address_line"] or "") for m in members}
        if len(addresses) > 1:
            plan.problem("address", f"世帯 {_label(hh)} の構成員の住所が一致しません。"
                                    "世帯を分けるか、世帯全員で転居してください")


FIRST_DAY_COUNTS = frozenset({"birth", "death"})
"""戸籍法 第43条: its periods count the day of the event; 住民基本台帳法's periods follow
民法 第140条 and start the next day."""


def _late(plan: Plan, settings: ResidentsParameters, basis: date) -> list[str]:
    days = settings.notification_days.get(plan.change_type)
    if days is None or plan.notified_on is None:
        return []
    last_day = basis + timedelta(days=days - (plan.change_type in FIRST_DAY_COUNTS))
    if plan.notified_on > last_day:
        return [f"届出期間 ({days}日, {LAW[plan.change_type]}) を過ぎた届出です "
                f"({(plan.notified_on - basis).days}日目)"]
    return []


# -- writing ----------------------------------------------------------------------------


def _keys(state: dict[str, Any]) -> dict[str, Any]:
    return {"name_key": text_key(state["name"]), "kana_key": kana_key(state["kana"]),
            "address_key": text_key(state["address_town"])}


def _commit(conn: Connection, ctx: AuditContext, plan: Plan, *,
            late_basis: date | None = None) -> ChangeResult:
    _not_before_current(plan)
    _check_households(conn, plan)  # read-only: every broken rule is reported at once
    if plan.problems:
        raise invalid(plan.problems)
    settings = params.values_on(conn, MODULE, plan.effective_on)
    assert isinstance(settings, ResidentsParameters)
    warnings = _late(plan, settings, late_basis or plan.effective_on)
    now = utcnow()
    change_id: int = conn.execute(insert(changes).values(
        change_type=plan.change_type, effective_on=plan.effective_on,
        notified_on=plan.notified_on, is_late=bool(warnings), reason=plan.reason,
        detail={}, recorded_at=now, recorded_by=ctx.actor, request_id=ctx.request_id,
        cancels_change=plan.cancels,
    ).returning(changes.c.change_id)).scalar_one()

    states = [*plan.updates.values(), *plan.new_people]
    created: list[str] = []
    if any(s["household_no"] == NEW_HOUSEHOLD for s in states):
        number = with_check_digit(next_value(conn, "household_no"), NUMBER_WIDTH)
        conn.execute(insert(households).values(household_no=number,
                                               created_on=plan.effective_on,
                                               created_by_change=change_id))
        created.append(number)
        for s in states:
            if s["household_no"] == NEW_HOUSEHOLD:
                s["household_no"] = number

    versions: list[dict[str, Any]] = []
    for a, state in plan.updates.items():
        cur = plan.current[a]
        conn.execute(update(rv).where(rv.c.id == cur["id"]).values(valid_to=plan.effective_on))
        versions.append({**state, **_keys(state), "atena_no": a,
                         "version_no": cur["version_no"] + 1})
    for state in plan.new_people:
        number = with_check_digit(next_value(conn, "atena_no"), NUMBER_WIDTH)
        conn.execute(insert(atena).values(
            atena_no=number, kind="resident", name=state["name"], kana=state["kana"],
            kana_key=kana_key(state["kana"]), birth_date=state["birth_date"],
            sex=state["sex"], registered_by=MODULE, created_at=now))
        versions.append({**state, **_keys(state), "atena_no": number, "version_no": 1})
    if versions:
        conn.execute(insert(rv), [{**v, "valid_from": plan.effective_on, "valid_to": None,
                                   "change_id": change_id, "recorded_at": now}
                                  for v in versions])
    for hh in sorted(plan.dissolved):
        conn.execute(update(households).where(households.c.household_no == hh)
                     .values(dissolved_on=plan.effective_on))
    for hh in sorted(plan.reopened):
        conn.execute(update(households).where(households.c.household_no == hh)
                     .values(dissolved_on=None))

    detail = {**plan.detail, "households_created": created,
              "households_dissolved": sorted(plan.dissolved),
              "households_reopened": sorted(plan.reopened)}
    conn.execute(update(changes).where(changes.c.change_id == change_id).values(detail=detail))
    published = BY_CHANGE_TYPE[plan.change_type]
    for v in versions:
        event = published(change_id=change_id, change_type=plan.change_type,
                          effective_on=plan.effective_on, atena_no=v["atena_no"],
                          household_no=v["household_no"], status=v["status"])
        events.emit(conn, event, atena_no=v["atena_no"], request_id=ctx.request_id)
        audit.record(conn, ctx, f"residents.{plan.change_type}", atena_no=v["atena_no"],
                     detail={"change_id": change_id})
    return ChangeResult(
        change_id=change_id, change_type=plan.change_type, effective_on=plan.effective_on,
        is_late=bool(warnings), warnings=warnings, atena_nos=[v["atena_no"] for v in versions],
        household_nos=sorted({v["household_no"] for v in versions} | plan.dissolved),
        detail=detail)


# -- the changes ------------------------------------------------------------------------


def _person_state(p: NewPerson, *, household_no: str, address: Address,
                  on: date, previous_address: str | None) -> dict[str, Any]:
    return {
        "status": "resident", "name": p.name, "kana": p.kana, "birth_date": p.birth_date,
        "sex": p.sex, "household_no": household_no, "relationship": p.relationship,
        "postal_code": address.postal_code, "address_town": address.town,
        "address_line": address.line, "address_set_on": on, "became_resident_on": on,
        "previous_address": previous_address, "honseki": p.honseki, "hittousha": p.hittousha,
        "resident_card_code": p.resident_card_code, "is_foreign": p.is_foreign,
        "nationality": p.nationality, "residence_status": p.residence_status,
        "residence_until": p.residence_until, "removed_on": None, "removal_reason": None,
    }


def _household_address(members: list[dict[str, Any]]) -> Address:
    head = members[0]
    return Address(postal_code=head["postal_code"], town=head["address_town"],
                   line=head["address_line"])


def move_in(conn: Connection, ctx: AuditContext, req: MoveIn, *,
            today: date | None = None) -> ChangeResult:
    """転入届: new people, into a new household or an existing one."""
    today = today or date.today()
    plan = Plan("move_in", req.moved_on, req.notified_on, current={},
                detail={"previous_address": req.previous_address,
                        "planned_move_out_on": req.planned_move_out_on.isoformat()
                        if req.planned_move_out_on else None})
    _dates(plan, today, effective="moved_on", notified="notified_on")
    address = req.address
    household_no = NEW_HOUSEHOLD
    if req.household_no:
        members = _active_household(conn, plan, req.household_no, "household_no")
        household_no = req.household_no
        if members:
            address = _household_address(members)
            if req.address is not None and (req.address.town, req.address.line) != (
                    address.town, address.line):
                plan.problem("address", "既存の世帯に入る転入では住所は世帯の住所です"
                                        " (住所は入力しないでください)")
    elif address is None:
        plan.problem("address", "新しい世帯の住所を入力してください")
    for i, p in enumerate(req.persons):
        if p.birth_date > req.moved_on:
            plan.problem(f"persons.{i}.birth_date", "生年月日が転入日より後です")
    if address is not None:
        plan.new_people = [_person_state(p, household_no=household_no, address=address,
                                         on=req.moved_on, previous_address=req.previous_address)
                           for p in req.persons]
    return _commit(conn, ctx, plan)


def birth(conn: Connection, ctx: AuditContext, req: Birth, *,
          today: date | None = None) -> ChangeResult:
    """出生: a newborn joins an existing household at its address."""
    today = today or date.today()
    plan = Plan("birth", req.person.birth_date, req.notified_on, current={})
    _dates(plan, today, effective="person.birth_date", notified="notified_on")
    members = _active_household(conn, plan, req.household_no, "household_no")
    if members:
        plan.new_people = [_person_state(req.person, household_no=req.household_no,
                                         address=_household_address(members),
                                         on=req.person.birth_date, previous_address=None)]
    return _commit(conn, ctx, plan)


def move_out(conn: Connection, ctx: AuditContext, office: Office, req: MoveOut, *,
             today: date | None = None) -> ChangeResult:
    """転出届: removal as of the planned date; returns the 転出証明書 data."""
    today = today or date.today()
    plan = Plan("move_out", req.planned_on, req.notified_on,
                current=current_versions(conn, req.atena_nos))
    _dates(plan, today, effective="planned_on", notified="notified_on",
           notified_after_effective=False, effective_may_be_future=True)
    _residents_only(plan, req.atena_nos, "atena_nos")
    certificate = []
    for a in req.atena_nos:
        cur = plan.current[a]
        state = plan.update(a)
        state.update(status="removed", removed_on=req.planned_on, removal_reason="転出")
        certificate.append({
            "atena_no": a, "name": cur["name"], "kana": cur["kana"],
            "birth_date": cur["birth_date"].isoformat(), "sex": cur["sex"],
            "relationship": cur["relationship"], "household_no": cur["household_no"],
            "address": office.full_address(cur["address_town"], cur["address_line"]),
            "honseki": cur["honseki"], "hittousha": cur["hittousha"],
            "resident_card_code": cur["resident_card_code"],
        })
    _apply_relationships(conn, plan, req)
    plan.detail = {"destination": req.destination, "planned_on": req.planned_on.isoformat(),
                   "move_out_certificate": {"issued_by": office.prefix,
                                            "destination": req.destination,
                                            "planned_on": req.planned_on.isoformat(),
                                            "persons": certificate}}
    return _commit(conn, ctx, plan)


def _one_household(plan: Plan, atena_nos: list[str], where: str) -> str:
    found = {plan.current[a]["household_no"] for a in atena_nos}
    if len(found) > 1:
        plan.problem(where, "同じ世帯の人をまとめて届け出てください (世帯ごとに1件)")
    return str(min(found))


def relocation(conn: Connection, ctx: AuditContext, office: Office, req: Relocation, *,
               today: date | None = None) -> ChangeResult:
    """転居: the whole household moves, or some members form or join another household."""
    today = today or date.today()
    plan = Plan("relocation", req.moved_on, req.notified_on,
                current=current_versions(conn, req.atena_nos))
    _dates(plan, today, effective="moved_on", notified="notified_on")
    _residents_only(plan, req.atena_nos, "atena_nos")
    source = _one_household(plan, req.atena_nos, "atena_nos")
    members = {m["atena_no"] for m in household_members(conn, source)}
    address: Address | None = req.address
    target = NEW_HOUSEHOLD
    if req.household_no:
        if req.household_no == source:
            plan.problem("household_no", "転居先の世帯が転居前と同じです")
        joined = _active_household(conn, plan, req.household_no, "household_no")
        target = req.household_no
        address = _household_address(joined) if joined else address
    elif members == set(req.atena_nos):
        target = source
    if address is None:
        plan.problem("address", "転居先の住所を入力してください")
        raise invalid(plan.problems)
    for a in req.atena_nos:
        cur = plan.current[a]
        if (cur["address_town"], cur["address_line"]) == (address.town, address.line) \
                and target in (source, NEW_HOUSEHOLD):
            plan.problem("address", "転居先が現住所と同じです (同じ住所で世帯を分けるのは"
                                    "世帯変更届の分離です)")
            break
        plan.update(a).update(
            household_no=target, postal_code=address.postal_code, address_town=address.town,
            address_line=address.line, address_set_on=req.moved_on,
            previous_address=office.full_address(cur["address_town"], cur["address_line"]))
    _apply_relationships(conn, plan, req)
    return _commit(conn, ctx, plan)


def death(conn: Connection, ctx: AuditContext, req: Death, *,
          today: date | None = None) -> ChangeResult:
    """死亡: the entry is removed as of the date of death."""
    today = today or date.today()
    plan = Plan("death", req.died_on, req.notified_on,
                current=current_versions(conn, [req.atena_no], where="atena_no"))
    _dates(plan, today, effective="died_on", notified="notified_on")
    _residents_only(plan, [req.atena_no], "atena_no")
    if req.died_on < plan.current[req.atena_no]["birth_date"]:
        plan.problem("died_on", "死亡日が生年月日より前です")
    plan.update(req.atena_no).update(status="removed", removed_on=req.died_on,
                                     removal_reason="死亡")
    _apply_relationships(conn, plan, req)
    return _commit(conn, ctx, plan)


def household_change(conn: Connection, ctx: AuditContext, req: HouseholdChange, *,
                     today: date | None = None) -> ChangeResult:
    """世帯変更: split (分離), merge (合併) or a new householder (世帯主変更)."""
    today = today or date.today()
    plan = Plan("household_change", req.effective_on, req.notified_on, current={},
                detail={"kind": req.kind})
    _dates(plan, today, effective="effective_on", notified="notified_on")
    if req.kind == "split":
        if not req.atena_nos:
            plan.problem("atena_nos", "分離する人を指定してください")
            raise invalid(plan.problems)
        plan.current.update(current_versions(conn, req.atena_nos))
        _residents_only(plan, req.atena_nos, "atena_nos")
        source = _one_household(plan, req.atena_nos, "atena_nos")
        if {m["atena_no"] for m in household_members(conn, source)} == set(req.atena_nos):
            plan.problem("atena_nos", "世帯全員を分離することはできません")
        for a in req.atena_nos:
            plan.update(a)["household_no"] = NEW_HOUSEHOLD
    elif req.kind == "merge":
        if not (req.household_no and req.into_household_no):
            plan.problem("into_household_no", "合併する世帯と合併先の世帯を指定してください")
            raise invalid(plan.problems)
        moving = _active_household(conn, plan, req.household_no, "household_no")
        into = _active_household(conn, plan, req.into_household_no, "into_household_no")
        if req.household_no == req.into_household_no:
            plan.problem("into_household_no", "同じ世帯どうしは合併できません")
        if moving and into and _household_address(moving) != _household_address(into):
            plan.problem("into_household_no", "住所の異なる世帯は合併できません (転居届になります)")
        for m in moving:
            plan.update(m["atena_no"])["household_no"] = req.into_household_no
    else:
        if not (req.household_no and req.new_householder):
            plan.problem("new_householder", "世帯番号と新しい世帯主を指定してください")
            raise invalid(plan.problems)
        members = _active_household(conn, plan, req.household_no, "household_no")
        if req.new_householder not in {m["atena_no"] for m in members}:
            plan.problem("new_householder",
                         f"{req.new_householder} はこの世帯の構成員ではありません")
    plan.detail.update(household_no=req.household_no, into_household_no=req.into_household_no)
    _apply_relationships(conn, plan, req)
    return _commit(conn, ctx, plan)


def correction(conn: Connection, ctx: AuditContext, req: Correction, *,
               today: date | None = None) -> ChangeResult:
    """職権修正: the named fields of one entry, with the reason; history keeps the old."""
    today = today or date.today()
    plan = Plan("correction", req.effective_on, None, reason=req.reason,
                current=current_versions(conn, [req.atena_no], where="atena_no"))
    _dates(plan, today, effective="effective_on", notified=None)
    fields = sorted(req.model_fields_set & set(CORRECTABLE))
    state = plan.update(req.atena_no)
    for name in fields:
        state[name] = getattr(req, name)
    if state["birth_date"] > plan.current[req.atena_no]["became_resident_on"]:
        plan.problem("birth_date", "生年月日が住民となった日より後になります")
    if state["is_foreign"] and not (state["nationality"] and state["residence_status"]):
        plan.problem("nationality", "外国人住民の国籍と在留資格は消せません")
    if state["is_foreign"] and state["honseki"]:
        plan.problem("honseki", "外国人住民に本籍は記載しません")
    plan.detail = {"fields": fields,
                   "before": {f: _json(plan.current[req.atena_no][f]) for f in fields}}
    return _commit(conn, ctx, plan)


def cancellation(conn: Connection, ctx: AuditContext, req: Cancellation, *,
                 today: date | None = None) -> ChangeResult:
    """異動の取消し: each person goes back to the entry before the change (or, for someone
    the change brought in, to a removed entry). Only the latest change of each person can
    be cancelled, so the history stays one line."""
    row = conn.execute(select(changes).where(changes.c.change_id == req.change_id)
                       .with_for_update()).mappings().first()
    if row is None:
        raise NotFound(f"異動 {req.change_id} はありません", field="change_id")
    plan = Plan("cancellation", row["effective_on"], None, reason=req.reason, current={},
                cancels=req.change_id, detail={"cancelled_change_type": row["change_type"]})
    if row["change_type"] == "cancellation":
        plan.problem("change_id", "取消しの取消しはできません (改めて異動を入力してください)")
    if row["cancelled_by_change"] is not None:
        plan.problem("change_id", f"異動 {req.change_id} は取消し済みです")
    touched = conn.execute(select(rv).where(rv.c.change_id == req.change_id)).mappings().all()
    for v in touched:
        if v["valid_to"] is not None:
            plan.problem("change_id", f"{v['atena_no']} にはこの後の異動があります。"
                                      "新しい異動から順に取り消してください")
    if plan.problems:
        raise invalid(plan.problems)
    plan.current = {v["atena_no"]: dict(v) for v in touched}
    for v in touched:
        before = conn.execute(select(rv).where(rv.c.atena_no == v["atena_no"],
                                               rv.c.version_no == v["version_no"] - 1)
                              ).mappings().first()
        state = plan.update(v["atena_no"])
        if before is not None:
            state.update({k: before[k] for k in STATE_FIELDS})
        else:
            state.update(status="removed", removed_on=row["effective_on"],
                         removal_reason="記載の取消し")
    # Households the change created empty out and are dissolved by the household check;
    # households it dissolved come back.
    plan.reopened = set((row["detail"] or {}).get("households_dissolved", []))
    result = _commit(conn, ctx, plan)
    conn.execute(update(changes).where(changes.c.change_id == req.change_id)
                 .values(cancelled_by_change=result.change_id))
    return result


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


Notification = (MoveIn | Birth | MoveOut | Relocation | Death | HouseholdChange | Correction
                | Cancellation)


def apply(conn: Connection, ctx: AuditContext, office: Office,
          req: Notification) -> ChangeResult:
    """Whichever change the request is (for the interfaces that take any of them)."""
    match req:
        case MoveIn():
            return move_in(conn, ctx, req)
        case Birth():
            return birth(conn, ctx, req)
        case MoveOut():
            return move_out(conn, ctx, office, req)
        case Relocation():
            return relocation(conn, ctx, office, req)
        case Death():
            return death(conn, ctx, req)
        case HouseholdChange():
            return household_change(conn, ctx, req)
        case Correction():
            return correction(conn, ctx, req)
        case Cancellation():
            return cancellation(conn, ctx, req)
