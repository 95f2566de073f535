"""Every change type, valid and refused, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from kumomura.platform import audit, events
from kumomura.platform.core.errors import InvalidInput, NotFound
from kumomura.platform.storage.db import Database
from kumomura.platform.storage.numbering import is_valid_check_digit
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.residents import service
from kumomura.residents.models import (
    Address,
    Birth,
    Cancellation,
    Correction,
    Death,
    HouseholdChange,
    MoveOut,
    Relocation,
)
from kumomura.residents.tables import households, resident_versions
from tests.residents.factories import CTX, OFFICE, family, person, snapshot

CODE = "062022"
TODAY = date(2026, 11, 24)


@pytest.fixture
def reg(db: Database, yonezawa: Tenant) -> Database:
    return db


def _family(db: Database) -> tuple[list[str], str]:
    with db.tenant_tx(CODE) as conn:
        result = ch.move_in(conn, CTX, family(), today=TODAY)
    return result.atena_nos, result.household_nos[0]


def _refused(db: Database, action, *fields: str) -> InvalidInput:  # type: ignore[no-untyped-def]
    """Run a change that must be refused; the registry must be exactly as before."""
    with db.tenant_tx(CODE) as conn:
        before = snapshot(conn)
    with pytest.raises(InvalidInput) as caught, db.tenant_tx(CODE) as conn:
        action(conn)
    with db.tenant_tx(CODE) as conn:
        assert snapshot(conn) == before
    named = {p.field for p in caught.value.problems}
    for f in fields:
        assert f in named, f"{f} not in {named}: {caught.value.message}"
    return caught.value


def test_move_in_numbers_people_and_household_and_emits(reg: Database) -> None:
    atena_nos, household_no = _family(reg)
    assert len(atena_nos) == 3
    assert all(is_valid_check_digit(a, 15) for a in atena_nos)
    assert is_valid_check_digit(household_no, 15)
    assert len(set(atena_nos)) == 3
    with reg.tenant_tx(CODE) as conn:
        house = service.household(conn, household_no, ctx=CTX)
        assert [m["relationship"] for m in house["members"]] == ["世帯主", "妻", "子"]
        head = service.current(conn, atena_nos[0])
    assert head["previous_address"] == "宮城県仙台市青葉区国分町三丁目7番1号"
    assert head["became_resident_on"] == head["address_set_on"] == date(2026, 4, 1)
    assert head["kana_key"] == "ヤマダタロウ"
    feed = events.feed(reg, CODE)
    assert [e.topic for e in feed] == ["residents.moved_in"] * 3
    assert {e.atena_no for e in feed} == set(atena_nos)
    actions = [e["action"] for e in audit.entries(reg, CODE)]
    assert actions.count("residents.move_in") == 3


def test_numbers_are_never_reused(reg: Database) -> None:
    first, _ = _family(reg)
    with reg.tenant_tx(CODE) as conn:
        result = ch.move_in(conn, CTX, family(), today=TODAY)
        ch.cancellation(conn, CTX, Cancellation(change_id=result.change_id, reason="誤入力"),
                        today=TODAY)
    again, _ = _family(reg)
    assert not set(again) & (set(first) | set(result.atena_nos))


def test_move_in_refuses_a_new_household_without_address(reg: Database) -> None:
    req = family(address=None)
    _refused(reg, lambda c: ch.move_in(c, CTX, req, today=TODAY), "address")


def test_move_in_refuses_two_householders(reg: Database) -> None:
    req = family(persons=[person(), person("山田 次郎", "ヤマダ ジロウ")])
    error = _refused(reg, lambda c: ch.move_in(c, CTX, req, today=TODAY), "relationships")
    assert "世帯主が2人" in error.message


def test_move_in_refuses_dates_out_of_order(reg: Database) -> None:
    req = family(notified_on=date(2026, 3, 31))
    _refused(reg, lambda c: ch.move_in(c, CTX, req, today=TODAY), "notified_on")
    future = family(moved_on=TODAY + timedelta(days=3))
    _refused(reg, lambda c: ch.move_in(c, CTX, future, today=TODAY), "moved_on")
    unborn = family(persons=[person(born=date(2026, 5, 1))])
    _refused(reg, lambda c: ch.move_in(c, CTX, unborn, today=TODAY), "persons.0.birth_date")


def test_late_notification_is_flagged_and_accepted(reg: Database) -> None:
    with reg.tenant_tx(CODE) as conn:
        result = ch.move_in(conn, CTX, family(notified_on=date(2026, 4, 16)), today=TODAY)
        on_time = ch.move_in(conn, CTX, family(notified_on=date(2026, 4, 15)), today=TODAY)
    assert result.is_late
    assert "14日" in result.warnings[0]
    assert "第22条" in result.warnings[0]
    assert not on_time.is_late
    assert on_time.warnings == []
    with reg.tenant_tx(CODE) as conn:
        assert service.change(conn, result.change_id)["is_late"] is True


def test_join_an_existing_household_takes_its_address(reg: Database) -> None:
    _atena_nos, household_no = _family(reg)
    grandmother = family(household_no=household_no, address=None, persons=[
        person("山田 ウメ", "ヤマダ ウメ", born=date(1950, 1, 1), sex="2", relationship="母")])
    with reg.tenant_tx(CODE) as conn:
        result = ch.move_in(conn, CTX, grandmother, today=TODAY)
        entry = service.current(conn, result.atena_nos[0])
    assert entry["household_no"] == household_no
    assert entry["address_town"] == "金池三丁目1番55号"
    second_head = family(household_no=household_no, address=None)
    _refused(reg, lambda c: ch.move_in(c, CTX, second_head, today=TODAY), "relationships")


def test_birth_joins_the_household(reg: Database) -> None:
    _, household_no = _family(reg)
    baby = person("山田 さくら", "ヤマダ サクラ", born=date(2026, 10, 1), sex="2",
                  relationship="子")
    with reg.tenant_tx(CODE) as conn:
        result = ch.birth(conn, CTX, Birth(household_no=household_no,
                                           notified_on=date(2026, 10, 10), person=baby),
                          today=TODAY)
        entry = service.current(conn, result.atena_nos[0])
    assert entry["became_resident_on"] == date(2026, 10, 1)
    assert entry["previous_address"] is None
    assert events.feed(reg, CODE)[-1].topic == "residents.born"
    with pytest.raises(NotFound), reg.tenant_tx(CODE) as conn:
        ch.birth(conn, CTX, Birth(household_no="0" * 14 + "0", notified_on=date(2026, 10, 10),
                                  person=baby), today=TODAY)


def test_move_out_of_the_householder_needs_a_new_one(reg: Database) -> None:
    (head, wife, child), household_no = _family(reg)
    req = MoveOut(atena_nos=[head], planned_on=date(2026, 12, 1),
                  notified_on=date(2026, 11, 20), destination="東京都千代田区霞が関二丁目1番2号")
    _refused(reg, lambda c: ch.move_out(c, CTX, OFFICE, req, today=TODAY), "new_householder")
    fixed = req.model_copy(update={"new_householder": wife,
                                   "relationships": {child: "子"}})
    with reg.tenant_tx(CODE) as conn:
        result = ch.move_out(conn, CTX, OFFICE, fixed, today=TODAY)
        gone = service.current(conn, head)
        now_head = service.current(conn, wife)
    assert gone["status"] == "removed"
    assert gone["removal_reason"] == "転出"
    assert gone["removed_on"] == date(2026, 12, 1)  # the planned date may lie ahead
    assert now_head["relationship"] == "世帯主"
    certificate = result.detail["move_out_certificate"]
    assert certificate["persons"][0]["name"] == "山田 太郎"
    assert certificate["persons"][0]["address"] == "山形県米沢市金池三丁目1番55号"
    assert certificate["destination"].startswith("東京都千代田区")
    assert household_no not in result.detail["households_dissolved"]


def test_move_out_of_everyone_dissolves_the_household(reg: Database) -> None:
    atena_nos, household_no = _family(reg)
    with reg.tenant_tx(CODE) as conn:
        result = ch.move_out(conn, CTX, OFFICE, MoveOut(
            atena_nos=atena_nos, planned_on=date(2026, 11, 1), notified_on=date(2026, 11, 1),
            destination="北海道札幌市中央区北1条西2丁目"), today=TODAY)
        row = conn.execute(select(households).where(households.c.household_no == household_no)
                           ).mappings().one()
    assert result.detail["households_dissolved"] == [household_no]
    assert row["dissolved_on"] == date(2026, 11, 1)
    again = MoveOut(atena_nos=atena_nos[:1], planned_on=date(2026, 11, 2),
                    notified_on=date(2026, 11, 2), destination="どこか")
    _refused(reg, lambda c: ch.move_out(c, CTX, OFFICE, again, today=TODAY), "atena_nos")


def test_relocation_of_the_whole_household(reg: Database) -> None:
    atena_nos, household_no = _family(reg)
    new = Address(postal_code="992-0039", town="門東町一丁目2番3号", line="コーポ門東201")
    with reg.tenant_tx(CODE) as conn:
        result = ch.relocation(conn, CTX, OFFICE, Relocation(
            atena_nos=atena_nos, moved_on=date(2026, 9, 1), notified_on=date(2026, 9, 30),
            address=new), today=TODAY)
        entries = [service.current(conn, a) for a in atena_nos]
    assert result.is_late  # 29 days after the move
    assert {e["household_no"] for e in entries} == {household_no}
    assert {e["address_line"] for e in entries} == {"コーポ門東201"}
    assert entries[0]["previous_address"] == "山形県米沢市金池三丁目1番55号"
    assert entries[0]["address_set_on"] == date(2026, 9, 1)
    same = Relocation(atena_nos=atena_nos, moved_on=date(2026, 10, 1),
                      notified_on=date(2026, 10, 1), address=new)
    _refused(reg, lambda c: ch.relocation(c, CTX, OFFICE, same, today=TODAY), "address")


def test_relocation_of_some_members_forms_a_household(reg: Database) -> None:
    (head, _wife, child), household_no = _family(reg)
    new = Address(town="城南四丁目5番6号")
    req = Relocation(atena_nos=[child], moved_on=date(2026, 9, 1),
                     notified_on=date(2026, 9, 1), address=new)
    _refused(reg, lambda c: ch.relocation(c, CTX, OFFICE, req, today=TODAY), "relationships")
    ok = req.model_copy(update={"relationships": {child: "世帯主"}})
    with reg.tenant_tx(CODE) as conn:
        result = ch.relocation(conn, CTX, OFFICE, ok, today=TODAY)
        moved = service.current(conn, child)
    assert moved["household_no"] != household_no
    assert moved["household_no"] in result.detail["households_created"]
    mixed = Relocation(atena_nos=[head, child], moved_on=date(2026, 10, 1),
                       notified_on=date(2026, 10, 1), address=Address(town="どこか1番"))
    _refused(reg, lambda c: ch.relocation(c, CTX, OFFICE, mixed, today=TODAY), "atena_nos")


def test_death_of_the_householder(reg: Database) -> None:
    (head, wife, child), _ = _family(reg)
    req = Death(atena_no=head, died_on=date(2026, 8, 1), notified_on=date(2026, 8, 3))
    _refused(reg, lambda c: ch.death(c, CTX, req, today=TODAY), "new_householder")
    with reg.tenant_tx(CODE) as conn:
        result = ch.death(conn, CTX, req.model_copy(update={"new_householder": wife}),
                          today=TODAY)
        entry = service.current(conn, head)
    assert not result.is_late
    assert entry["removal_reason"] == "死亡"
    assert entry["removed_on"] == date(2026, 8, 1)
    assert [e.topic for e in events.feed(reg, CODE)][-2:] == ["residents.died"] * 2
    late = Death(atena_no=child, died_on=date(2026, 8, 1), notified_on=date(2026, 8, 9))
    before_birth = Death(atena_no=child, died_on=date(2014, 1, 1), notified_on=date(2026, 8, 9))
    _refused(reg, lambda c: ch.death(c, CTX, before_birth, today=TODAY), "died_on")
    with reg.tenant_tx(CODE) as conn:
        assert ch.death(conn, CTX, late, today=TODAY).is_late  # 戸籍法86条: 7 days


def test_household_split_merge_and_new_householder(reg: Database) -> None:
    (head, wife, child), household_no = _family(reg)
    split = HouseholdChange(kind="split", effective_on=date(2026, 6, 1),
                            notified_on=date(2026, 6, 1), atena_nos=[child],
                            relationships={child: "世帯主"})
    with reg.tenant_tx(CODE) as conn:
        result = ch.household_change(conn, CTX, split, today=TODAY)
        new_household = service.current(conn, child)["household_no"]
    assert new_household == result.detail["households_created"][0]
    everyone = HouseholdChange(kind="split", effective_on=date(2026, 6, 2),
                               notified_on=date(2026, 6, 2), atena_nos=[head, wife],
                               relationships={head: "世帯主"})
    _refused(reg, lambda c: ch.household_change(c, CTX, everyone, today=TODAY), "atena_nos")

    merge = HouseholdChange(kind="merge", effective_on=date(2026, 7, 1),
                            notified_on=date(2026, 7, 1), household_no=new_household,
                            into_household_no=household_no)
    _refused(reg, lambda c: ch.household_change(c, CTX, merge, today=TODAY), "relationships")
    with reg.tenant_tx(CODE) as conn:
        merged = ch.household_change(conn, CTX, merge.model_copy(
            update={"relationships": {child: "子"}}), today=TODAY)
    assert merged.detail["households_dissolved"] == [new_household]

    swap = HouseholdChange(kind="new_householder", effective_on=date(2026, 8, 1),
                           notified_on=date(2026, 8, 1), household_no=household_no,
                           new_householder=wife)
    _refused(reg, lambda c: ch.household_change(c, CTX, swap, today=TODAY), "relationships")
    with reg.tenant_tx(CODE) as conn:
        ch.household_change(conn, CTX, swap.model_copy(update={"relationships": {head: "夫"}}),
                            today=TODAY)
        members = service.household(conn, household_no, ctx=CTX)["members"]
    assert next((m["atena_no"], m["relationship"]) for m in members) == (wife, "世帯主")


def test_merge_refuses_households_at_different_addresses(reg: Database) -> None:
    _, first = _family(reg)
    with reg.tenant_tx(CODE) as conn:
        other = ch.move_in(conn, CTX, family(address=Address(town="松が岬二丁目3番")),
                           today=TODAY).household_nos[0]
    merge = HouseholdChange(kind="merge", effective_on=date(2026, 7, 1),
                            notified_on=date(2026, 7, 1), household_no=other,
                            into_household_no=first)
    _refused(reg, lambda c: ch.household_change(c, CTX, merge, today=TODAY),
             "into_household_no")


def test_correction_keeps_history_and_reindexes(reg: Database) -> None:
    (head, _, _), _ = _family(reg)
    with reg.tenant_tx(CODE) as conn:
        result = ch.correction(conn, CTX, Correction(
            atena_no=head, effective_on=date(2026, 5, 1), reason="戸籍照合による誤記修正",
            kana="ヤマダ タロオ"), today=TODAY)
        versions = service.history(conn, CTX, head)
        found = service.search(conn, CTX, service.SearchCriteria(kana="ヤマダタロオ"))
    assert result.detail["before"] == {"kana": "ヤマダ タロウ"}
    assert [v["kana"] for v in versions] == ["ヤマダ タロウ", "ヤマダ タロオ"]
    assert versions[0]["valid_to"] == versions[1]["valid_from"] == date(2026, 5, 1)
    assert [f["atena_no"] for f in found] == [head]
    early = Correction(atena_no=head, effective_on=date(2026, 3, 1), reason="x", sex="2")
    _refused(reg, lambda c: ch.correction(c, CTX, early, today=TODAY), "effective_on")
    with pytest.raises(ValidationError):
        Correction(atena_no=head, effective_on=date(2026, 5, 1), reason="何も直さない")


def test_cancellation_restores_the_entry_before(reg: Database) -> None:
    atena_nos, household_no = _family(reg)
    with reg.tenant_tx(CODE) as conn:
        wrong = ch.move_out(conn, CTX, OFFICE, MoveOut(
            atena_nos=atena_nos, planned_on=date(2026, 11, 1), notified_on=date(2026, 11, 1),
            destination="誤って入力"), today=TODAY)
        undo = ch.cancellation(conn, CTX, Cancellation(change_id=wrong.change_id,
                                                       reason="別世帯の転出と取り違え"),
                               today=TODAY)
        entries = [service.current(conn, a) for a in atena_nos]
        versions = service.history(conn, CTX, atena_nos[0])
        house = conn.execute(select(households.c.dissolved_on)
                             .where(households.c.household_no == household_no)).scalar_one()
    assert {e["status"] for e in entries} == {"resident"}
    assert house is None
    assert undo.detail["households_reopened"] == [household_no]
    assert [v["change_type"] for v in versions] == ["move_in", "move_out", "cancellation"]
    assert versions[1]["cancelled_by_change"] == undo.change_id
    again = Cancellation(change_id=wrong.change_id, reason="二度目")
    _refused(reg, lambda c: ch.cancellation(c, CTX, again, today=TODAY), "change_id")
    of_undo = Cancellation(change_id=undo.change_id, reason="取消しの取消し")
    _refused(reg, lambda c: ch.cancellation(c, CTX, of_undo, today=TODAY), "change_id")


def test_cancellation_of_a_move_in_leaves_a_removed_entry(reg: Database) -> None:
    atena_nos, _household_no = _family(reg)
    with reg.tenant_tx(CODE) as conn:
        first = service.current(conn, atena_nos[0])
        ch.correction(conn, CTX, Correction(atena_no=atena_nos[0], effective_on=date(2026, 5, 1),
                                            reason="修正", name="山田 太朗"), today=TODAY)
    older = Cancellation(change_id=first["change_id"], reason="誤り")
    _refused(reg, lambda c: ch.cancellation(c, CTX, older, today=TODAY), "change_id")
    with reg.tenant_tx(CODE) as conn:
        other = ch.move_in(conn, CTX, family(address=Address(town="館山一丁目1番")),
                           today=TODAY)
        ch.cancellation(conn, CTX, Cancellation(change_id=other.change_id, reason="二重登録"),
                        today=TODAY)
        entry = service.current(conn, other.atena_nos[0])
        dissolved = conn.execute(select(households.c.dissolved_on).where(
            households.c.household_no == other.household_nos[0])).scalar_one()
    assert entry["status"] == "removed"
    assert entry["removal_reason"] == "記載の取消し"
    assert dissolved == date(2026, 4, 1)


def test_unknown_people_are_not_found(reg: Database) -> None:
    with pytest.raises(NotFound) as caught, reg.tenant_tx(CODE) as conn:
        ch.death(conn, CTX, Death(atena_no="000000000000019", died_on=date(2026, 1, 1),
                                  notified_on=date(2026, 1, 1)), today=TODAY)
    assert caught.value.field == "atena_no"


def test_another_tenants_person_is_not_found(reg: Database, nagai: Tenant) -> None:
    atena_nos, _ = _family(reg)
    with pytest.raises(NotFound), reg.tenant_tx(nagai.lg_code) as conn:
        service.record(conn, CTX, atena_nos[0])
    with reg.tenant_tx(nagai.lg_code) as conn:
        assert conn.execute(select(resident_versions)).first() is None
