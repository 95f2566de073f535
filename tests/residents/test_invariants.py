"""Property: any sequence of changes, valid or refused, keeps the registry's invariants.

Each living resident is in exactly one household, which is active; each active household
has members, one householder and one address; each person's versions are numbered 1..n,
contiguous and non-overlapping, and only the last is open. A refused change leaves every
row as it was.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, select

from kumomura.platform.core.errors import InvalidInput, NotFound
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.residents.models import (
    Address,
    Birth,
    Cancellation,
    Correction,
    Death,
    HouseholdChange,
    MoveIn,
    MoveOut,
    Relocation,
)
from kumomura.residents.tables import changes, households, resident_versions
from tests.residents.factories import CTX, OFFICE, person, snapshot

CODE = "062022"
TOWNS = ["金池一丁目1番", "金池一丁目2番", "門東町3番"]
KANA = ["アオキ", "イトウ", "ウエダ", "エンドウ", "オオタ"]
START = date(2020, 1, 1)


def check_invariants(conn: Connection) -> None:
    versions = conn.execute(select(resident_versions).order_by(
        resident_versions.c.atena_no, resident_versions.c.version_no)).mappings().all()
    by_person: dict[str, list[Any]] = defaultdict(list)
    for v in versions:
        by_person[v["atena_no"]].append(v)
    living: list[Any] = []
    for atena_no, chain in by_person.items():
        assert [v["version_no"] for v in chain] == list(range(1, len(chain) + 1)), atena_no
        for older, newer in itertools.pairwise(chain):
            assert older["valid_to"] == newer["valid_from"], atena_no
            assert older["valid_from"] <= older["valid_to"], atena_no
        assert chain[-1]["valid_to"] is None, atena_no
        if chain[-1]["status"] == "resident":
            living.append(chain[-1])
    active = {h["household_no"] for h in conn.execute(select(households)).mappings()
              if h["dissolved_on"] is None}
    members: dict[str, list[Any]] = defaultdict(list)
    for v in living:
        assert v["household_no"] in active, f"{v['atena_no']} lives in a dissolved household"
        members[v["household_no"]].append(v)
    assert set(members) == active, "an active household without members"
    for household_no, group in members.items():
        heads = [m for m in group if m["relationship"] == "世帯主"]
        assert len(heads) == 1, f"{household_no} has {len(heads)} householders"
        assert len({(m["address_town"], m["address_line"]) for m in group}) == 1


def _state(conn: Connection) -> dict[str, list[Any]]:
    rows = conn.execute(select(resident_versions).where(
        resident_versions.c.valid_to.is_(None), resident_versions.c.status == "resident")
        .order_by(resident_versions.c.atena_no)).mappings().all()
    grouped: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        grouped[r["household_no"]].append(r)
    return dict(grouped)


def _head(group: list[Any]) -> str | None:
    return next((m["atena_no"] for m in group if m["relationship"] == "世帯主"), None)


def _plan_op(data: st.DataObject, conn: Connection, on: date) -> Callable[[], Any]:
    """Draw one change that fits the current registry (it may still break a rule)."""
    state = _state(conn)
    kinds = ["move_in"] + (["birth", "move_out", "relocation", "death", "split", "merge",
                            "new_householder", "correction", "cancel"] if state else [])
    kind = data.draw(st.sampled_from(kinds), label="kind")
    town = data.draw(st.sampled_from(TOWNS), label="town")
    if kind == "move_in":
        size = data.draw(st.integers(1, 3), label="size")
        join = bool(state) and data.draw(st.booleans(), label="join")
        persons = [person(f"住民{i}", data.draw(st.sampled_from(KANA)), born=date(1990, 1, 1),
                          relationship="子" if i or join else "世帯主") for i in range(size)]
        target = data.draw(st.sampled_from(sorted(state)), label="into") if join else None
        req = MoveIn(moved_on=on, notified_on=on, previous_address="宮城県仙台市",
                     household_no=target, address=None if join else Address(town=town),
                     persons=persons)
        return lambda: ch.move_in(conn, CTX, req, today=on)
    household_no = data.draw(st.sampled_from(sorted(state)), label="household")
    group = state[household_no]
    ids = [m["atena_no"] for m in group]
    head = _head(group)
    chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, unique=True), label="who")
    staying = [a for a in ids if a not in chosen]
    fix = data.draw(st.booleans(), label="name a new householder")
    new_head = staying[0] if fix and head in chosen and staying else None
    if kind == "birth":
        baby = person("赤ちゃん", "アカチャン", born=on, relationship="子")
        return lambda: ch.birth(conn, CTX, Birth(household_no=household_no, notified_on=on,
                                                 person=baby), today=on)
    if kind == "move_out":
        req_out = MoveOut(atena_nos=chosen, planned_on=on, notified_on=on, destination="他市",
                          new_householder=new_head)
        return lambda: ch.move_out(conn, CTX, OFFICE, req_out, today=on)
    if kind == "relocation":
        rels = {} if set(chosen) == set(ids) else {chosen[0]: "世帯主"}
        rels.update({a: "子" for a in chosen[1:] if a == head})
        req_rel = Relocation(atena_nos=chosen, moved_on=on, notified_on=on,
                             address=Address(town=town), relationships=rels,
                             new_householder=new_head)
        return lambda: ch.relocation(conn, CTX, OFFICE, req_rel, today=on)
    if kind == "death":
        req_d = Death(atena_no=chosen[0], died_on=on, notified_on=on,
                      new_householder=new_head if chosen[0] == head else None)
        return lambda: ch.death(conn, CTX, req_d, today=on)
    if kind == "split":
        rels = {chosen[0]: "世帯主", **{a: "子" for a in chosen[1:] if a == head}}
        req_s = HouseholdChange(kind="split", effective_on=on, notified_on=on,
                                atena_nos=chosen, relationships=rels, new_householder=new_head)
        return lambda: ch.household_change(conn, CTX, req_s, today=on)
    if kind == "merge":
        into = data.draw(st.sampled_from(sorted(state)), label="merge into")
        req_m = HouseholdChange(kind="merge", effective_on=on, notified_on=on,
                                household_no=household_no, into_household_no=into,
                                relationships={head: "子"} if head else {})
        return lambda: ch.household_change(conn, CTX, req_m, today=on)
    if kind == "new_householder":
        req_h = HouseholdChange(kind="new_householder", effective_on=on, notified_on=on,
                                household_no=household_no, new_householder=chosen[0],
                                relationships={head: "夫"} if head and head != chosen[0] else {})
        return lambda: ch.household_change(conn, CTX, req_h, today=on)
    if kind == "correction":
        req_c = Correction(atena_no=chosen[0], effective_on=on, reason="修正",
                           kana=data.draw(st.sampled_from(KANA)))
        return lambda: ch.correction(conn, CTX, req_c, today=on)
    change_ids = conn.execute(select(changes.c.change_id)).scalars().all()
    change_id = data.draw(st.sampled_from(sorted(change_ids)), label="cancel")
    return lambda: ch.cancellation(conn, CTX, Cancellation(change_id=change_id, reason="誤り"),
                                   today=on)


FIXTURES = [HealthCheck.function_scoped_fixture]  # the tenant is reused; examples roll back


class _Discard(Exception):
    """Raised to roll the example back: every example starts from an empty registry."""


def _run(db: Database, data: st.DataObject) -> None:
    with contextlib.suppress(_Discard):
        _steps(db, data)


def _steps(db: Database, data: st.DataObject) -> None:
    steps = data.draw(st.integers(1, 12), label="steps")
    with db.tenant_tx(CODE) as conn:
        for step in range(steps):
            on = START + timedelta(days=step)
            op = _plan_op(data, conn, on)
            before = snapshot(conn)
            savepoint = conn.begin_nested()
            try:
                result = op()
                savepoint.commit()
                event(f"{result.change_type}: accepted")
            except (InvalidInput, NotFound) as refused:
                savepoint.rollback()
                event(f"refused: {type(refused).__name__}")
                assert step > 0, f"a move-in into an empty registry was refused: {refused}"  # noqa: PT017
                assert snapshot(conn) == before
            check_invariants(conn)
        raise _Discard


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES)
@given(data=st.data())
def test_any_sequence_of_changes_keeps_the_invariants_sqlite(
        sqlite_db: Database, data: st.DataObject) -> None:
    _tenant(sqlite_db)
    _run(sqlite_db, data)


@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURES)
@given(data=st.data())
def test_any_sequence_of_changes_keeps_the_invariants_postgresql(
        pg_db: Database, data: st.DataObject) -> None:
    _tenant(pg_db)
    _run(pg_db, data)


def _tenant(db: Database) -> Tenant:
    from kumomura.platform.tenancy.tenants import get_tenant, list_tenants
    from tests.conftest import make_tenant

    if any(t.lg_code == CODE for t in list_tenants(db)):
        return get_tenant(db, CODE)
    return make_tenant(db)
