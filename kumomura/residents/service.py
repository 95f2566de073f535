"""Reading the registry: search, a person's record and history, a household, and the
protection orders (支援措置). Other modules read residents through these functions.

Every look at a person's record is audited in the same transaction as the read, with the
purpose the caller gave; a search is audited with its criteria.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, case, func, insert, or_, select, update

from kumomura.platform import audit, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.businesses import validate_business
from kumomura.platform.core.errors import Conflict, InvalidInput, NotFound
from kumomura.platform.core.japanese import is_kana, kana_key, prefix_bounds, text_key
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.storage.frames import read_frame
from kumomura.platform.storage.numbering import next_value, with_check_digit
from kumomura.platform.tenancy.profile import Office
from kumomura.residents.changes import NUMBER_WIDTH
from kumomura.residents.models import HOUSEHOLDER, NonResidentIn, ProtectionOrderIn
from kumomura.residents.params import MODULE, ResidentsParameters
from kumomura.residents.tables import (
    atena,
    certificate_issues,
    changes,
    households,
    protection_orders,
    resident_versions,
)

rv = resident_versions
SUMMARY = (rv.c.atena_no, rv.c.name, rv.c.kana, rv.c.birth_date, rv.c.sex, rv.c.status,
           rv.c.household_no, rv.c.relationship, rv.c.address_town, rv.c.address_line,
           rv.c.removed_on, rv.c.removal_reason)


@dataclass(frozen=True)
class SearchCriteria:
    kana: str | None = None
    name: str | None = None
    birth_date: date | None = None
    address: str | None = None
    atena_no: str | None = None
    household_no: str | None = None
    include_removed: bool = False
    limit: int = 50

    def given(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in self.__dict__.items()
                if v not in (None, False) and k != "limit"}


def count(conn: Connection) -> int:
    """Living residents on the registry."""
    return int(conn.execute(select(func.count()).select_from(rv).where(
        rv.c.valid_to.is_(None), rv.c.status == "resident")).scalar_one())


def _prefix(column: Any, key: str) -> Any:
    low, high = prefix_bounds(key)
    return and_(column >= low, column < high)


def search(conn: Connection, ctx: AuditContext, criteria: SearchCriteria) -> list[dict[str, Any]]:
    """Current entries matching every given criterion; kana, name and address by prefix."""
    conditions: list[Any] = [rv.c.valid_to.is_(None)]
    if criteria.kana:
        if not is_kana(criteria.kana):
            raise InvalidInput("フリガナはカタカナ・ひらがなで入力してください", field="kana")
        conditions.append(_prefix(rv.c.kana_key, kana_key(criteria.kana)))  # non-empty
    for field, value, column in (("name", criteria.name, rv.c.name_key),
                                 ("address", criteria.address, rv.c.address_key)):
        if value:
            key = text_key(value)
            if not key:
                raise InvalidInput("文字を入力してください (記号だけでは検索できません)",
                                   field=field)
            conditions.append(_prefix(column, key))
    if criteria.birth_date:
        conditions.append(rv.c.birth_date == criteria.birth_date)
    if criteria.atena_no:
        conditions.append(rv.c.atena_no == criteria.atena_no)
    if criteria.household_no:
        conditions.append(rv.c.household_no == criteria.household_no)
    if len(conditions) == 1:
        raise InvalidInput("検索条件を1つ以上入力してください", field="kana")
    if not criteria.include_removed:
        conditions.append(rv.c.status == "resident")
    limit = max(1, min(criteria.limit, 200))
    rows = conn.execute(select(*SUMMARY).where(*conditions)
                        .order_by(rv.c.kana_key, rv.c.birth_date, rv.c.atena_no).limit(limit)
                        ).mappings().all()
    audit.record(conn, ctx, "residents.search", detail={
        "criteria": criteria.given(), "hits": len(rows),
        "atena_nos": [r["atena_no"] for r in rows]})
    return [dict(r) for r in rows]


def _versions(conn: Connection, atena_no: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(rv, changes.c.change_type, changes.c.notified_on, changes.c.is_late,
               changes.c.reason, changes.c.cancelled_by_change)
        .join(changes, changes.c.change_id == rv.c.change_id)
        .where(rv.c.atena_no == atena_no).order_by(rv.c.version_no)
    ).mappings().all()
    if not rows:
        raise NotFound(f"宛名番号 {atena_no} の住民記録はありません", field="atena_no")
    return [dict(r) for r in rows]


def current(conn: Connection, atena_no: str) -> dict[str, Any]:
    """The current entry of a person, unaudited: for other modules' own checks (they audit
    their own use) and for certificates, which audit the issue."""
    row = conn.execute(select(rv).where(rv.c.atena_no == atena_no, rv.c.valid_to.is_(None))
                       ).mappings().first()
    if row is None:
        raise NotFound(f"宛名番号 {atena_no} の住民記録はありません", field="atena_no")
    return dict(row)


def viewed(conn: Connection, ctx: AuditContext, atena_no: str) -> dict[str, Any]:
    """The current entry as a form shows it (a change, a certificate); the view is
    audited."""
    entry = current(conn, atena_no)
    audit.record(conn, ctx, "residents.view", atena_no=atena_no)
    return entry


def record(conn: Connection, ctx: AuditContext, atena_no: str) -> dict[str, Any]:
    """A person's record as staff see it: the current entry, its history, the household
    and any protection order in force; the view is audited."""
    versions = _versions(conn, atena_no)
    entry = versions[-1]
    members = living_members(conn, entry["household_no"])
    audit.record(conn, ctx, "residents.view", atena_no=atena_no)
    return {"current": entry, "history": versions, "household": members,
            "protection_orders": active_protection(conn, [atena_no], date.today())}


def history(conn: Connection, ctx: AuditContext, atena_no: str) -> list[dict[str, Any]]:
    versions = _versions(conn, atena_no)
    audit.record(conn, ctx, "residents.history", atena_no=atena_no)
    return versions


def living_members(conn: Connection, household_no: str) -> list[dict[str, Any]]:
    """Summaries of a household's living members, householder first."""
    return [dict(r) for r in conn.execute(
        select(*SUMMARY).where(rv.c.household_no == household_no, rv.c.valid_to.is_(None),
                               rv.c.status == "resident")
        .order_by(rv.c.relationship != HOUSEHOLDER, rv.c.birth_date, rv.c.atena_no)
    ).mappings()]


def household(conn: Connection, household_no: str, *, ctx: AuditContext | None = None,
              audited: bool = True) -> dict[str, Any]:
    """A household and its living members, householder first."""
    row = conn.execute(select(households).where(households.c.household_no == household_no)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"世帯番号 {household_no} の世帯はありません", field="household_no")
    members = living_members(conn, household_no)
    if audited:
        assert ctx is not None, "an audited household view needs the caller's context"
        audit.record(conn, ctx, "residents.household", detail={"household_no": household_no,
                                                               "members": len(members)})
    return {**dict(row), "members": members}


def change_of(conn: Connection, ctx: AuditContext, atena_no: str,
              change_id: int) -> dict[str, Any]:
    """A change that touched this person (the look audited with the person), or
    NotFound: a page about one person never shows or acts on another's change."""
    touched = conn.execute(select(rv.c.id).where(
        rv.c.change_id == change_id, rv.c.atena_no == atena_no).limit(1)).first()
    if touched is None:
        raise NotFound(f"異動 {change_id} はありません", field="change_id")
    entry = change(conn, change_id)
    audit.record(conn, ctx, "residents.change_viewed", atena_no=atena_no,
                 detail={"change_id": change_id})
    return entry


def change(conn: Connection, change_id: int, *, ctx: AuditContext | None = None
           ) -> dict[str, Any]:
    """One change with its detail (which may hold a 転出証明書 or the values a correction
    replaced): audited when a person asks."""
    row = conn.execute(select(changes).where(changes.c.change_id == change_id)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"異動 {change_id} はありません", field="change_id")
    if ctx is not None:
        audit.record(conn, ctx, "residents.change_viewed", detail={"change_id": change_id})
    return dict(row)


def householder_on(conn: Connection, household_no: str, on: date) -> str | None:
    """The name of the household's householder on a date (for a 除票, the day before the
    removal), from the history."""
    name = conn.execute(select(rv.c.name).where(
        rv.c.household_no == household_no, rv.c.relationship == HOUSEHOLDER,
        rv.c.status == "resident", rv.c.valid_from <= on,
        or_(rv.c.valid_to.is_(None), rv.c.valid_to > on)).limit(1)).scalar_one_or_none()
    return str(name) if name is not None else None


# -- addressee numbers for people outside the registry (住登外者) --------------------


def register_non_resident(conn: Connection, ctx: AuditContext, req: NonResidentIn) -> str:
    """Give a 住登外者 an addressee number from the same series as residents, so that every
    module of the municipality names the person with one number, never reused."""
    validate_business(req.registered_by)
    number = with_check_digit(next_value(conn, "atena_no"), NUMBER_WIDTH)
    conn.execute(insert(atena).values(
        atena_no=number, kind="non_resident", name=req.name, kana=req.kana,
        kana_key=kana_key(req.kana), birth_date=req.birth_date, sex=req.sex,
        address=req.address, registered_by=req.registered_by, created_at=utcnow()))
    audit.record(conn, ctx, "residents.non_resident_registered", atena_no=number,
                 detail={"registered_by": req.registered_by})
    return number


def addressee(conn: Connection, ctx: AuditContext, atena_no: str) -> dict[str, Any]:
    """Whoever holds an addressee number, resident or not (for other modules' notices)."""
    row = conn.execute(select(atena).where(atena.c.atena_no == atena_no)).mappings().first()
    if row is None:
        raise NotFound(f"宛名番号 {atena_no} はありません", field="atena_no")
    audit.record(conn, ctx, "residents.addressee", atena_no=atena_no)
    if row["kind"] == "resident":
        entry = current(conn, atena_no)
        return {"atena_no": atena_no, "kind": "resident", "name": entry["name"],
                "kana": entry["kana"], "birth_date": entry["birth_date"], "sex": entry["sex"],
                "status": entry["status"], "household_no": entry["household_no"],
                "address_town": entry["address_town"], "address_line": entry["address_line"]}
    return {k: v for k, v in row.items() if k not in ("kana_key", "created_at")}


def certificates_issued(conn: Connection, since: date, until: date) -> int:
    """How many certificates were issued in a period (for usage-based cost sharing)."""
    issued = certificate_issues.c.issued_at
    return int(conn.execute(select(func.count()).select_from(certificate_issues).where(
        issued >= since, issued < until)).scalar_one())


def adults_on(conn: Connection, day: date, age: int = 18) -> pl.DataFrame:
    """atena_no and birth_date of the living residents of at least ``age`` on a day, for
    other modules' bulk work (e.g. synthetic tax data in a demo)."""
    born_by = date(day.year - age, day.month, min(day.day, 28))
    return read_frame(conn, select(rv.c.atena_no, rv.c.birth_date).where(
        rv.c.valid_to.is_(None), rv.c.status == "resident", rv.c.birth_date <= born_by)
        .order_by(rv.c.atena_no), {"atena_no": pl.String, "birth_date": pl.Date})


def mailing_list(conn: Connection, ctx: AuditContext, office: Office,
                 atena_nos: list[str]) -> pl.DataFrame:
    """Name and address of the given addressees, for a module's bulk notices (one audit
    entry for the list): residents at their current address, 住登外者 at theirs. Columns:
    atena_no, name, postal_code, address."""
    people = read_frame(conn, select(rv.c.atena_no, rv.c.name, rv.c.postal_code,
                                     rv.c.address_town, rv.c.address_line)
                        .where(rv.c.valid_to.is_(None), rv.c.atena_no.in_(atena_nos)),
                        {"atena_no": pl.String, "name": pl.String, "postal_code": pl.String,
                         "address_town": pl.String, "address_line": pl.String})
    others = read_frame(conn, select(atena.c.atena_no, atena.c.name, atena.c.address)
                        .where(atena.c.kind != "resident", atena.c.atena_no.in_(atena_nos)),
                        {"atena_no": pl.String, "name": pl.String, "address": pl.String})
    audit.record(conn, ctx, "residents.mailing_list",
                 detail={"residents": people.height, "non_residents": others.height,
                         "purpose": ctx.purpose})
    line = pl.col("address_line")
    residents = people.select(
        "atena_no", "name", "postal_code",
        address=pl.concat_str(pl.lit(office.prefix), pl.col("address_town"),
                              pl.when(line.is_not_null()).then(pl.lit(" ") + line)
                              .otherwise(pl.lit(""))))
    return pl.concat([residents, others.select(
        "atena_no", "name", postal_code=pl.lit(None, pl.String), address="address")])


# -- protection orders (支援措置) -------------------------------------------------------


def period_end(start: date, months: int) -> date:
    """The last day of a period of months starting on ``start`` (民法 第143条): the day
    before the corresponding date, or, when the last month has no such date, its last day."""
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    last_of_month = calendar.monthrange(year, month)[1]
    if start.day > last_of_month:
        return date(year, month, last_of_month)
    return date(year, month, start.day) - timedelta(days=1)


def add_protection(conn: Connection, ctx: AuditContext, req: ProtectionOrderIn) -> dict[str, Any]:
    """A protection order runs for the period in parameters (1 year), ending the day
    before the same date (住民基本台帳事務処理要領 第5-10)."""
    current(conn, req.atena_no)
    settings = params.values_on(conn, MODULE, req.starts_on)
    assert isinstance(settings, ResidentsParameters)
    ends_on = period_end(req.starts_on, settings.protection_order_months)
    order = {"atena_no": req.atena_no, "kind": req.kind, "starts_on": req.starts_on,
             "ends_on": ends_on, "reason": req.reason, "created_by": ctx.actor,
             "created_at": utcnow()}
    order_id = conn.execute(insert(protection_orders).values(**order)
                            .returning(protection_orders.c.id)).scalar_one()
    audit.record(conn, ctx, "residents.protection_added", atena_no=req.atena_no,
                 detail={"order_id": order_id, "ends_on": ends_on.isoformat()})
    return {"id": order_id, **order}


def _order(conn: Connection, order_id: int) -> dict[str, Any]:
    row = conn.execute(select(protection_orders).where(protection_orders.c.id == order_id)
                       .with_for_update()).mappings().first()
    if row is None:
        raise NotFound(f"支援措置 {order_id} はありません", field="order_id")
    return dict(row)


def extend_protection(conn: Connection, ctx: AuditContext, order_id: int, *,
                      today: date | None = None) -> dict[str, Any]:
    """Extension for one more period, accepted from one month before the end."""
    today = today or date.today()
    order = _order(conn, order_id)
    if order["lifted_on"] is not None:
        raise Conflict(f"支援措置 {order_id} は解除されています", field="order_id")
    if today > order["ends_on"]:
        raise InvalidInput(f"支援措置 {order_id} は{order['ends_on']}に期間が満了しています。"
                           "改めて申出を受けてください", field="order_id")
    if today <= period_end(order["ends_on"], -1):
        raise InvalidInput("延長の申出は終了日の1か月前から受け付けます", field="order_id")
    settings = params.values_on(conn, MODULE, today)
    assert isinstance(settings, ResidentsParameters)
    ends_on = period_end(order["ends_on"] + timedelta(days=1),
                         settings.protection_order_months)
    conn.execute(update(protection_orders).where(protection_orders.c.id == order_id)
                 .values(ends_on=ends_on))
    audit.record(conn, ctx, "residents.protection_extended", atena_no=order["atena_no"],
                 detail={"order_id": order_id, "ends_on": ends_on.isoformat()})
    return {**order, "ends_on": ends_on}


def lift_protection(conn: Connection, ctx: AuditContext, order_id: int, on: date) -> None:
    order = _order(conn, order_id)
    if order["lifted_on"] is not None:
        raise Conflict(f"支援措置 {order_id} は{order['lifted_on']}に解除済みです",
                       field="order_id")
    if on < order["starts_on"]:
        raise InvalidInput(f"解除日が支援措置 {order_id} の開始日 ({order['starts_on']}) "
                           "より前です", field="lifted_on")
    conn.execute(update(protection_orders).where(protection_orders.c.id == order_id)
                 .values(lifted_on=on))
    audit.record(conn, ctx, "residents.protection_lifted", atena_no=order["atena_no"],
                 detail={"order_id": order_id})


def protection_history(conn: Connection, atena_no: str) -> list[dict[str, Any]]:
    """Every protection order of a person, the latest first (for the registry staff)."""
    po = protection_orders
    rows = conn.execute(select(po).where(po.c.atena_no == atena_no)
                        .order_by(po.c.starts_on.desc(), po.c.id.desc())).mappings().all()
    return [dict(r) for r in rows]


def active_protection(conn: Connection, atena_nos: list[str], on: date) -> list[dict[str, Any]]:
    po = protection_orders
    rows = conn.execute(select(po).where(
        po.c.atena_no.in_(atena_nos), po.c.starts_on <= on, po.c.ends_on >= on,
        or_(po.c.lifted_on.is_(None), po.c.lifted_on > on))).mappings().all()
    return [dict(r) for r in rows]


def registry_problems(conn: Connection) -> list[str]:
    """The registry's invariants over the whole table (after an import): every living
    resident in an active household, one householder and one address per household, and
    each person's versions numbered 1..n, contiguous, the last one open."""
    problems: list[str] = []
    previous: dict[str, Any] | None = None
    for v in conn.execute(select(rv.c.atena_no, rv.c.version_no, rv.c.valid_from,
                                 rv.c.valid_to).order_by(rv.c.atena_no, rv.c.version_no)
                          ).mappings():
        same = previous is not None and previous["atena_no"] == v["atena_no"]
        if same and previous is not None:
            if v["version_no"] != previous["version_no"] + 1 \
                    or previous["valid_to"] != v["valid_from"]:
                problems.append(f"{v['atena_no']}: 版 {previous['version_no']} と "
                                f"{v['version_no']} が連続していません")
        elif previous is not None and previous["valid_to"] is not None:
            problems.append(f"{previous['atena_no']}: 最新の版が閉じています")
        if not same and v["version_no"] != 1:
            problems.append(f"{v['atena_no']}: 版が 1 から始まっていません")
        previous = dict(v)
    if previous is not None and previous["valid_to"] is not None:
        problems.append(f"{previous['atena_no']}: 最新の版が閉じています")
    living = conn.execute(
        select(rv.c.household_no, func.count(), func.sum(
            case((rv.c.relationship == HOUSEHOLDER, 1), else_=0)),
            func.count(func.distinct(rv.c.address_town + "|" + func.coalesce(
                rv.c.address_line, ""))), func.max(households.c.dissolved_on))
        .join(households, households.c.household_no == rv.c.household_no)
        .where(rv.c.valid_to.is_(None), rv.c.status == "resident")
        .group_by(rv.c.household_no)).all()
    for household_no, members, heads, addresses, dissolved in living:
        if dissolved is not None:
            problems.append(f"世帯 {household_no}: 消滅した世帯に住民が{members}人います")
        if heads != 1:
            problems.append(f"世帯 {household_no}: 世帯主が{heads}人です")
        if addresses != 1:
            problems.append(f"世帯 {household_no}: 住所が{addresses}通りあります")
    occupied = {row[0] for row in living}
    for (household_no,) in conn.execute(select(households.c.household_no).where(
            households.c.dissolved_on.is_(None))):
        if household_no not in occupied:
            problems.append(f"世帯 {household_no}: 住民のいない世帯が消滅していません")
    return problems[:100]
