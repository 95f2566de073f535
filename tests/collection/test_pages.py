"""The counter's 収納 page: a person's charges over every levy with the 延滞金 to today,
for the collection and tax staff of the municipality only, every look audited."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from kumomura.platform import audit
from kumomura.platform.storage.db import Database
from kumomura.residents import changes as ch
from tests.collection.test_payments import _charge
from tests.pages import _login, _user
from tests.residents.factories import CTX, family


def _person(db: Database) -> str:
    """A resident of 米沢市 with four installments on the account."""
    with db.tenant_tx("062022") as conn:
        head = ch.move_in(conn, CTX, family(moved_on=date(2024, 4, 1)),
                          today=date(2024, 4, 1)).atena_nos[0]
    _charge(db, atena_no=head)
    return head


def test_the_collection_officer_sees_the_account(client: TestClient, db: Database) -> None:
    person = _person(db)
    _user(db, "collector", ["collection_officer"])
    _login(client, "collector")
    page = client.get(f"/t/062022/collection/{person}")
    assert page.status_code == 200, page.text
    assert page.text.count("第1期") == 1
    assert 'id="balance">101,000円' in page.text
    viewed = [e for e in audit.entries(db, "062022", atena_no=person)
              if e["action"] == "collection.account_viewed"]
    assert viewed
    assert viewed[0]["actor"] == "collector"
    found = client.get("/t/062022/collection", params={"atena_no": person},
                       follow_redirects=False)
    assert found.headers["location"] == f"/t/062022/collection/{person}"
    assert 'href="/t/062022/collection"' in client.get("/").text  # in the menu


def test_a_clerk_and_another_municipality_see_no_account(client: TestClient,
                                                         db: Database) -> None:
    person = _person(db)
    _login(client)  # the counter clerk: residents and seals only
    assert client.get(f"/t/062022/collection/{person}").status_code == 403
    _user(db, "nagai_collector", ["collection_officer"], code="062090")
    _login(client, "nagai_collector")
    assert client.get(f"/t/062022/collection/{person}").status_code == 404


def test_the_collection_officer_issues_a_slip_and_a_tax_officer_may_only_look(
        client: TestClient, db: Database) -> None:
    person = _person(db)
    _user(db, "collector", ["collection_officer"])
    _user(db, "taxman", ["tax_officer"])
    _login(client, "collector")
    assert "納付書を発行する" in client.get(f"/t/062022/collection/{person}").text
    slip = client.get(f"/t/062022/collection/{person}/slip.pdf")
    assert slip.status_code == 200
    assert slip.content.startswith(b"%PDF")
    assert "collection.slip_issued" in [e["action"] for e in audit.entries(
        db, "062022", atena_no=person)]
    _login(client, "taxman")
    assert "納付書を発行する" not in client.get(f"/t/062022/collection/{person}").text
    assert client.get(f"/t/062022/collection/{person}/slip.pdf").status_code == 403


def test_a_paid_in_full_certificate_is_refused_while_something_due_is_owed(
        client: TestClient, db: Database) -> None:
    person = _person(db)  # four installments, the first due 2026-06-30 and unpaid
    _user(db, "collector", ["collection_officer"])
    _login(client, "collector")
    assert "納税証明書 (完納証明) の交付" in client.get(f"/t/062022/collection/{person}").text
    refused = client.post(f"/t/062022/collection/{person}/certificate",
                          data={"purpose": "入札参加資格の申請"})
    assert refused.status_code == 422
    assert "未納があるため" in refused.text
    assert "collection.certificate_issued" not in [e["action"] for e in audit.entries(
        db, "062022", atena_no=person)]
