"""The finer rules: notification periods by law, household dates, protection-order periods
(民法 第143条), certificates of one household, searches that cannot be made."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from kumomura.platform import audit, params
from kumomura.platform.core.errors import Conflict, InvalidInput
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import certificates, service
from kumomura.residents import changes as ch
from kumomura.residents.models import (
    Address,
    Birth,
    CertificateRequest,
    Correction,
    Death,
    MoveIn,
    ProtectionOrderIn,
)
from kumomura.residents.service import period_end
from tests.residents.factories import CTX, OFFICE, family, person

CODE = "062022"
TODAY = date(2026, 11, 24)


@pytest.fixture
def house(db: Database, yonezawa: Tenant) -> tuple[list[str], str]:
    with db.tenant_tx(CODE) as conn:
        result = ch.move_in(conn, CTX, family(), today=TODAY)
    return result.atena_nos, result.household_nos[0]


@pytest.mark.parametrize(("born", "notified", "late"), [
    (date(2026, 5, 1), date(2026, 5, 14), False),  # 戸籍法43条: the birth day is day 1
    (date(2026, 5, 1), date(2026, 5, 15), True),
])
def test_birth_period_counts_the_day_of_birth(db: Database, house: tuple[list[str], str],
                                              born: date, notified: date, late: bool) -> None:
    baby = person("山田 桜", "ヤマダ サクラ", born=born, relationship="子")
    with db.tenant_tx(CODE) as conn:
        result = ch.birth(conn, CTX, Birth(household_no=house[1], notified_on=notified,
                                           person=baby), today=TODAY)
    assert result.is_late is late


def test_death_period_is_seven_days_counting_the_day(db: Database,
                                                      house: tuple[list[str], str]) -> None:
    (_, wife, child), _ = house
    with db.tenant_tx(CODE) as conn:
        on_time = ch.death(conn, CTX, Death(atena_no=child, died_on=date(2026, 6, 1),
                                            notified_on=date(2026, 6, 7)), today=TODAY)
        late = ch.death(conn, CTX, Death(atena_no=wife, died_on=date(2026, 6, 1),
                                         notified_on=date(2026, 6, 8)), today=TODAY)
    assert not on_time.is_late
    assert late.is_late


def test_nothing_joins_a_household_before_it_existed(db: Database,
                                                      house: tuple[list[str], str]) -> None:
    early = MoveIn.model_validate({
        **family().model_dump(), "moved_on": date(2025, 1, 1), "notified_on": date(2025, 1, 1),
        "household_no": house[1], "address": None,
        "persons": [person("山田 梅", "ヤマダ ウメ", born=date(1950, 1, 1), relationship="母")]})
    with pytest.raises(InvalidInput) as caught, db.tenant_tx(CODE) as conn:
        ch.move_in(conn, CTX, early, today=TODAY)
    assert caught.value.field == "effective_on"


def test_removed_people_cannot_be_given_relationships(db: Database,
                                                       house: tuple[list[str], str]) -> None:
    (head, wife, child), _ = house
    with db.tenant_tx(CODE) as conn:
        ch.death(conn, CTX, Death(atena_no=child, died_on=date(2026, 6, 1),
                                  notified_on=date(2026, 6, 2)), today=TODAY)
    with pytest.raises(InvalidInput) as caught, db.tenant_tx(CODE) as conn:
        ch.death(conn, CTX, Death(atena_no=head, died_on=date(2026, 7, 1),
                                  notified_on=date(2026, 7, 2), new_householder=wife,
                                  relationships={child: "孫"}), today=TODAY)
    assert "relationships" in {p.field for p in caught.value.problems}


def test_corrections_cannot_blank_an_item() -> None:
    with pytest.raises(ValidationError):
        Correction.model_validate({"atena_no": "0" * 15, "effective_on": "2026-05-01",
                                   "reason": "誤記", "name": None})


def test_protection_order_periods_follow_the_civil_code() -> None:
    assert period_end(date(2026, 6, 1), 12) == date(2027, 5, 31)
    assert period_end(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert period_end(date(2027, 3, 1), 12) == date(2028, 2, 29)
    assert period_end(date(2026, 1, 31), 1) == date(2026, 2, 28)


def test_protection_order_extension_and_lifting(db: Database,
                                                house: tuple[list[str], str]) -> None:
    wife = house[0][1]
    with db.tenant_tx(CODE) as conn:
        order = service.add_protection(conn, CTX, ProtectionOrderIn(
            atena_no=wife, starts_on=date(2025, 12, 1), reason="申出"))
    assert order["ends_on"] == date(2026, 11, 30)
    with pytest.raises(InvalidInput), db.tenant_tx(CODE) as conn:
        service.extend_protection(conn, CTX, order["id"], today=date(2026, 10, 29))
    with pytest.raises(InvalidInput), db.tenant_tx(CODE) as conn:
        service.extend_protection(conn, CTX, order["id"], today=date(2026, 12, 1))
    with db.tenant_tx(CODE) as conn:
        extended = service.extend_protection(conn, CTX, order["id"], today=date(2026, 11, 1))
        service.lift_protection(conn, CTX, order["id"], date(2026, 11, 20))
    assert extended["ends_on"] == date(2027, 11, 30)
    with pytest.raises(Conflict), db.tenant_tx(CODE) as conn:
        service.lift_protection(conn, CTX, order["id"], date(2026, 11, 21))


def test_certificates_hold_one_household_and_its_head_of_the_day(
        db: Database, house: tuple[list[str], str]) -> None:
    (head, wife, _), _ = house
    with db.tenant_tx(CODE) as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=CTX, reason="設定")
        other = ch.move_in(conn, CTX, family(address=Address(town="館山1番")),
                           today=TODAY).atena_nos[0]
        ch.death(conn, CTX, Death(atena_no=head, died_on=date(2026, 9, 1),
                                  notified_on=date(2026, 9, 1), new_householder=wife),
                 today=TODAY)
        assert service.householder_on(conn, house[1], date(2026, 8, 31)) == "山田 太郎"
        assert service.householder_on(conn, house[1], TODAY) == "山田 花子"
    mixed = CertificateRequest(kind="copy", atena_nos=[wife, other], applicant_kind="self",
                               purpose="x")
    with pytest.raises(InvalidInput), db.tenant_tx(CODE) as conn:
        certificates.issue(conn, CTX, OFFICE, mixed, may_override=False, today=TODAY)


def test_searches_that_cannot_be_made_and_audited_change_views(
        db: Database, house: tuple[list[str], str]) -> None:
    with pytest.raises(InvalidInput) as caught, db.tenant_tx(CODE) as conn:
        service.search(conn, CTX, service.SearchCriteria(name="・"))
    assert caught.value.field == "name"
    with db.tenant_tx(CODE) as conn:
        change_id = service.current(conn, house[0][0])["change_id"]
        service.change(conn, change_id, ctx=CTX)
    assert audit.entries(db, CODE)[0]["action"] == "residents.change_viewed"
