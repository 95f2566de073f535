"""The example plugin (examples/birth_gift): installed beside the standard package, found
through its entry point, and at work only where a municipality turned its option on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from kumomura_birth_gift.tables import birth_gifts
from sqlalchemy import select

from kumomura import catalog
from kumomura.platform import audit, events, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.config import get_settings
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.identity import auth
from kumomura.platform.identity.auth import Scope
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.residents.models import Birth
from kumomura.web.app import create_app
from tests.conftest import NAGAI, make_tenant
from tests.pages import StaffBrowser
from tests.residents.factories import family, person
from tests.test_cli import run

CTX = AuditContext(actor="test")
PW = "correct horse battery staple"


def _turn_on(db: Database, code: str, amount: int | None = 50_000) -> None:
    with db.tenant_tx(code) as conn:
        params.set_value(conn, "options", "birth_gift", True,
                         effective_from=date(2026, 4, 1), ctx=CTX, reason="条例施行")
        if amount is not None:
            params.set_value(conn, "birth_gift", "amount", amount,
                             effective_from=date(2026, 4, 1), ctx=CTX, reason="条例")


def _born(db: Database, code: str, on: date) -> str:
    with db.tenant_tx(code) as conn:
        household = ch.move_in(conn, CTX, family(moved_on=date(2026, 1, 5))).household_nos[0]
        baby = ch.birth(conn, CTX, Birth(household_no=household, notified_on=on, person=person(
            "山田 さくら", "ヤマダ サクラ", born=on, sex="2", relationship="子")),
            today=on)
    return baby.atena_nos[0]


def _gifts(db: Database, code: str) -> list[dict[str, object]]:
    with db.tenant_tx(code) as conn:
        return [dict(r) for r in conn.execute(select(birth_gifts)).mappings()]


def test_the_plugin_is_found_through_its_entry_point() -> None:
    found = {m.code: m for m in catalog.plugins()}
    assert "birth_gift" in found
    assert not found["birth_gift"].standard
    assert "birth_gift" in {m.code for m in catalog.install()}


def test_a_birth_puts_the_newborn_on_the_list_only_where_the_option_is_on(
        db: Database, yonezawa: Tenant) -> None:
    make_tenant(db, NAGAI)
    _turn_on(db, "062022")
    before = _born(db, "062022", date(2026, 3, 20))  # before the ordinance took effect
    baby = _born(db, "062022", date(2026, 6, 1))
    elsewhere = _born(db, "062090", date(2026, 6, 1))  # 長井市 has no such payment
    for code in ("062022", "062090"):
        events.dispatch(db, code)
        events.dispatch(db, code)  # delivered again: nothing twice
    gifts = _gifts(db, "062022")
    assert [(g["atena_no"], g["amount"], g["status"], g["born_on"]) for g in gifts] == [
        (baby, 50_000, "due", date(2026, 6, 1))]
    assert before != baby
    assert _gifts(db, "062090") == []
    assert elsewhere


def test_an_amount_not_set_is_a_dead_letter_replayed_once_set(
        db: Database, yonezawa: Tenant) -> None:
    _turn_on(db, "062022", amount=None)
    baby = _born(db, "062022", date(2026, 6, 1))
    for _ in range(get_settings().event_max_attempts):
        events.dispatch(db, "062022")
        with db.tenant_tx("062022") as conn:  # the retries' backoff passed
            conn.execute(events.event_failures.update().values(
                next_attempt_at=utcnow() - timedelta(hours=1)))
    dead = [d for d in events.dead_letters(db, "062022") if d["subscriber"] == "birth_gift"]
    assert len(dead) == 1
    assert "birth_gift.amount" in dead[0]["last_error"]
    assert _gifts(db, "062022") == []
    with db.tenant_tx("062022") as conn:
        params.set_value(conn, "birth_gift", "amount", 30_000,
                         effective_from=date(2026, 4, 1), ctx=CTX, reason="条例")
    events.replay(db, "062022", "birth_gift", dead[0]["event_id"])
    assert [(g["atena_no"], g["amount"]) for g in _gifts(db, "062022")] == [(baby, 30_000)]


@pytest.fixture
def clerk(db: Database, yonezawa: Tenant) -> Iterator[TestClient]:
    auth.create_user(db, username="clerk", password=PW, display_name="窓口",
                     scope=Scope.TENANT, lg_code="062022", role_names=["counter_clerk"])
    with StaffBrowser(create_app(db=db)) as client:
        r = client.post("/login", data={"username": "clerk", "password": PW, "next": "/"},
                        follow_redirects=False)
        assert r.status_code == 303
        yield client


def test_the_towns_page_pays_a_gift_and_the_record_shows_it(
        db: Database, clerk: TestClient) -> None:
    assert "出生祝金" not in clerk.get("/").text  # not in the menu while the option is off
    _turn_on(db, "062022")
    baby = _born(db, "062022", date(2026, 6, 1))
    events.dispatch(db, "062022")
    page = clerk.get("/t/062022/birth-gifts")
    assert page.status_code == 200
    assert "山田 さくら" in page.text
    assert "未支給 1 件 (計 50,000円)" in page.text
    assert "出生祝金" in clerk.get("/").text
    early = clerk.post(f"/t/062022/birth-gifts/{baby}/pay", data={"paid_on": "2026-05-01"})
    assert early.status_code == 422
    assert "支給日が出生日より前です" in early.text
    paid = clerk.post(f"/t/062022/birth-gifts/{baby}/pay", data={"paid_on": "2026-07-10"},
                      follow_redirects=False)
    assert paid.status_code == 303
    assert clerk.post(f"/t/062022/birth-gifts/{baby}/pay",
                      data={"paid_on": "2026-07-11"}).status_code == 422  # once only
    record = clerk.get(f"/t/062022/residents/{baby}")
    assert "出生祝金 50,000円 (令和8年7月10日支給済)" in record.text
    actions = [e["action"] for e in audit.entries(db, "062022", atena_no=baby)]
    assert "birth_gift.paid" in actions
    assert "birth_gift.list" in actions


def test_another_municipalitys_staff_cannot_open_the_page(db: Database,
                                                          clerk: TestClient) -> None:
    make_tenant(db, NAGAI)
    assert clerk.get("/t/062090/birth-gifts").status_code in (403, 404)


def test_plugins_list_names_the_members_that_turned_it_on(
        db: Database, yonezawa: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    make_tenant(db, NAGAI)
    _turn_on(db, "062022")
    code, out, _ = run(capsys, "plugins", "list", "--format", "json", "--on", "2026-06-01")
    assert code == 0
    rows = {r["code"]: r for r in json.loads(out)}
    assert rows["birth_gift"]["enabled_by"] == ["062022 米沢市"]
    assert rows["birth_gift"]["distribution"] == "kumomura-birth-gift"
