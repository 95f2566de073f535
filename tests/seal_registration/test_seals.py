"""Seal registration: the rules of registering, the certificate PDF, abolition at the
counter and ex officio when the registry removes the person."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest

from kumomura.platform import audit, events, params
from kumomura.platform.core.errors import Conflict, InvalidInput
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.residents.models import Death
from kumomura.seal_registration import service
from kumomura.seal_registration.models import AbolishIn, SealCertificateRequest, SealRegistrationIn
from tests.residents.factories import CTX, OFFICE, family

CODE = "062022"
TODAY = date(2026, 11, 24)


@pytest.fixture
def people(db: Database, yonezawa: Tenant) -> list[str]:
    with db.tenant_tx(CODE) as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=CTX, reason="設定")
        return ch.move_in(conn, CTX, family(), today=TODAY).atena_nos


def _register(db: Database, atena_no: str, on: date = date(2026, 5, 1)) -> str:
    with db.tenant_tx(CODE) as conn:
        row = service.register(conn, CTX, SealRegistrationIn(
            atena_no=atena_no, registered_on=on, impression_text="山田"))
    return str(row["registration_no"])


def test_register_and_certify(db: Database, people: list[str], tmp_path: Path) -> None:
    number = _register(db, people[0])
    with db.tenant_tx(CODE) as conn:
        issue_no, fee, pdf = service.issue_certificate(
            conn, CTX, OFFICE, number, SealCertificateRequest(purpose="不動産登記"), today=TODAY)
    assert issue_no == "2026-S000001"
    assert fee == 300
    path = tmp_path / "seal.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(tmp_path / "p")], check=True)
    assert (tmp_path / "p-1.png").stat().st_size > 10_000
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    for expected in ("印鑑登録証明書", number, "山田 太郎", "山形県米沢市金池三丁目1番55号",
                     "令和8年11月24日", "上杉 鷹雄", "2026-S000001"):
        assert expected in text, expected
    actions = [e["action"] for e in audit.entries(db, CODE, atena_no=people[0])]
    assert "seal_registration.certificate_issued" in actions


def test_registration_rules(db: Database, people: list[str]) -> None:
    head, _, child = people
    _register(db, head)
    with pytest.raises(Conflict):
        _register(db, head)
    with pytest.raises(InvalidInput) as caught:
        _register(db, child)  # born 2015: under 15
    assert "15歳未満" in caught.value.message


def test_abolish_at_the_counter(db: Database, people: list[str]) -> None:
    number = _register(db, people[1])
    with db.tenant_tx(CODE) as conn:
        service.abolish(conn, CTX, number, AbolishIn(abolished_on=date(2026, 6, 1),
                                                       reason="印鑑紛失"))
    with pytest.raises(InvalidInput), db.tenant_tx(CODE) as conn:
        service.issue_certificate(conn, CTX, OFFICE, number,
                                  SealCertificateRequest(purpose="x"), today=TODAY)
    _register(db, people[1], on=date(2026, 6, 2))  # a new seal after abolition


def test_death_abolishes_the_registration_ex_officio(db: Database, people: list[str]) -> None:
    number = _register(db, people[1])
    with db.tenant_tx(CODE) as conn:
        ch.death(conn, CTX, Death(atena_no=people[1], died_on=date(2026, 9, 1),
                                     notified_on=date(2026, 9, 2)), today=TODAY)
    events.dispatch(db, CODE)
    events.dispatch(db, CODE)  # redelivery finds nothing more to do
    with db.tenant_tx(CODE) as conn:
        rows = service.of_person(conn, people[1], ctx=CTX)
    assert [(r["registration_no"], r["status"], r["abolished_on"], r["abolish_reason"])
            for r in rows] == [(number, "abolished", date(2026, 9, 1), "死亡による職権廃止")]
    assert events.dead_letters(db, CODE) == []


def test_two_clerks_registering_at_once_get_one_seal(pg_db: Database) -> None:
    """Both see no active seal; the unique index lets one commit and answers the other 409."""
    import threading

    from tests.conftest import make_tenant

    make_tenant(pg_db)
    with pg_db.tenant_tx(CODE) as conn:
        head = ch.move_in(conn, CTX, family(), today=TODAY).atena_nos[0]
    req = SealRegistrationIn(atena_no=head, registered_on=date(2026, 5, 1),
                             impression_text="山田")
    first_in = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        with pg_db.tenant_tx(CODE) as conn:
            outcome["first"] = service.register(conn, CTX, req)
            first_in.set()
            threading.Event().wait(0.5)  # the second clerk arrives meanwhile

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(10)
    with pytest.raises(Conflict), pg_db.tenant_tx(CODE) as conn:
        service.register(conn, CTX, req)
    thread.join()
    assert "first" in outcome
    with pg_db.tenant_tx(CODE) as conn:
        assert [r["status"] for r in service.of_person(conn, head, ctx=CTX)] == ["active"]
