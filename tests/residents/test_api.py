"""The registry over HTTP: each change, search and record, certificates, permissions,
and 404 for another municipality's people."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from kumomura.platform import audit
from kumomura.platform.identity.auth import Scope
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.web.app import create_app
from tests.conftest import NAGAI, make_tenant
from tests.web.test_api_platform import _token

BASE = "/api/v1/t/062022/residents"
MOVE_IN: dict[str, Any] = {
    "moved_on": "2026-04-01", "notified_on": "2026-04-03",
    "previous_address": "宮城県仙台市青葉区国分町三丁目7番1号",
    "address": {"postal_code": "992-0012", "town": "金池三丁目1番55号"},
    "persons": [
        {"name": "佐藤 健一", "kana": "サトウ ケンイチ", "birth_date": "1975-05-05", "sex": "1",
         "relationship": "世帯主"},
        {"name": "佐藤 由美", "kana": "サトウ ユミ", "birth_date": "1978-08-08", "sex": "2",
         "relationship": "妻"},
    ],
}


@pytest.fixture
def client(db: Database, yonezawa: Tenant) -> Iterator[TestClient]:
    make_tenant(db, NAGAI)
    with TestClient(create_app(db=db)) as c:
        yield c


@pytest.fixture
def clerk(db: Database, client: TestClient) -> dict[str, str]:
    return _token(db, "clerk_yonezawa", ["counter_clerk"])


def test_move_in_search_record_and_household(client: TestClient, clerk: dict[str, str],
                                             db: Database) -> None:
    r = client.post(f"{BASE}/changes/move-in", json=MOVE_IN, headers=clerk)
    assert r.status_code == 201, r.text
    head, wife = r.json()["atena_nos"]
    household_no = r.json()["household_nos"][0]
    found = client.get(BASE, params={"kana": "ｻﾄｳ"}, headers=clerk).json()
    assert [p["atena_no"] for p in found] == [head, wife]
    view = client.get(f"{BASE}/{head}", headers={**clerk, "X-Purpose": quote("転入確認")})
    assert view.status_code == 200
    body = view.json()
    assert body["current"]["name"] == "佐藤 健一"
    assert "kana_key" not in body["current"]
    assert [m["atena_no"] for m in body["household"]] == [head, wife]
    assert len(client.get(f"{BASE}/{head}/history", headers=clerk).json()) == 1
    house = client.get(f"{BASE}/households/{household_no}", headers=clerk).json()
    assert [m["relationship"] for m in house["members"]] == ["世帯主", "妻"]
    viewed = [e for e in audit.entries(db, "062022", atena_no=head)
              if e["action"] == "residents.view"]
    assert viewed[0]["purpose"] == "転入確認"
    assert viewed[0]["actor"] == "clerk_yonezawa"


def test_a_broken_rule_is_422_listing_each_field(client: TestClient,
                                                 clerk: dict[str, str]) -> None:
    two_heads = {**MOVE_IN, "notified_on": "2026-03-01",
                 "persons": [{**p, "relationship": "世帯主"} for p in MOVE_IN["persons"]]}
    r = client.post(f"{BASE}/changes/move-in", json=two_heads, headers=clerk)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"notified_on", "relationships"}
    bad_kana = {**MOVE_IN, "persons": [{**MOVE_IN["persons"][0], "kana": "佐藤"}]}
    r = client.post(f"{BASE}/changes/move-in", json=bad_kana, headers=clerk)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.persons.0.kana"
    assert client.get(BASE, params={"kana": "サトウ"}, headers=clerk).json() == []


def test_other_municipalities_and_the_secretariat_get_404(
        client: TestClient, clerk: dict[str, str], db: Database) -> None:
    head = client.post(f"{BASE}/changes/move-in", json=MOVE_IN,
                       headers=clerk).json()["atena_nos"][0]
    nagai_clerk = _token(db, "clerk_nagai", ["counter_clerk"], code="062090")
    secretariat = _token(db, "sec", ["secretariat"], code=None, scope=Scope.CONSORTIUM)
    for headers in (nagai_clerk, secretariat):
        assert client.get(f"{BASE}/{head}", headers=headers).status_code == 404
        assert client.get(BASE, params={"kana": "サトウ"}, headers=headers).status_code == 404
    own = client.get(f"/api/v1/t/062090/residents/{head}", headers=nagai_clerk)
    assert own.status_code == 404
    assert client.get(f"{BASE}/999999999999999", headers=clerk).status_code == 404


def test_permissions_by_role(client: TestClient, clerk: dict[str, str], db: Database) -> None:
    head = client.post(f"{BASE}/changes/move-in", json=MOVE_IN,
                       headers=clerk).json()["atena_nos"][0]
    tax = _token(db, "tax", ["tax_officer"])
    editor = _token(db, "editor", ["registry_editor"])
    death = {"atena_no": head, "died_on": "2026-06-01", "notified_on": "2026-06-02"}
    assert client.get(f"{BASE}/{head}", headers=tax).status_code == 200
    assert client.post(f"{BASE}/changes/death", json=death, headers=tax).status_code == 403
    fix = {"atena_no": head, "effective_on": "2026-05-01", "reason": "誤記", "name": "佐藤 健市"}
    assert client.post(f"{BASE}/changes/correction", json=fix,
                       headers=clerk).status_code == 403
    assert client.post(f"{BASE}/changes/correction", json=fix,
                       headers=editor).status_code == 201


def test_certificate_over_http(client: TestClient, clerk: dict[str, str], db: Database) -> None:
    it = _token(db, "it", ["municipal_it"])
    for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
        assert client.put(f"/api/v1/t/062022/params/residents/{name}", headers=it, json={
            "value": value, "effective_from": "2026-04-01"}).status_code == 200
    household_no = client.post(f"{BASE}/changes/move-in", json=MOVE_IN,
                               headers=clerk).json()["household_nos"][0]
    r = client.post(f"{BASE}/certificates", headers=clerk, json={
        "kind": "copy", "household_no": household_no, "items": ["householder"],
        "applicant_kind": "self", "purpose": "児童手当申請"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert r.headers["x-fee"] == "300"
    assert r.headers["x-issue-no"].endswith("-000001")
    refused = client.post(f"{BASE}/certificates", headers=clerk, json={
        "kind": "copy", "household_no": household_no, "applicant_kind": "self",
        "purpose": ""})
    assert refused.status_code == 422


def test_non_residents_get_numbers_from_the_same_series(client: TestClient,
                                                        clerk: dict[str, str],
                                                        db: Database) -> None:
    resident = client.post(f"{BASE}/changes/move-in", json=MOVE_IN,
                           headers=clerk).json()["atena_nos"][-1]
    tax = _token(db, "tax", ["tax_officer"])
    body = {"name": "鈴木 一郎", "kana": "スズキ イチロウ", "birth_date": "1960-01-01",
            "address": "東京都千代田区丸の内一丁目1番", "registered_by": "inhabitant_tax"}
    assert client.post(f"{BASE}/non-residents", json=body, headers=clerk).status_code == 403
    r = client.post(f"{BASE}/non-residents", json=body, headers=tax)
    assert r.status_code == 201
    number = r.json()["atena_no"]
    assert int(number[:-1]) == int(resident[:-1]) + 1
    who = client.get(f"{BASE}/addressees/{number}", headers=tax).json()
    assert who["kind"] == "non_resident"
    assert who["address"].startswith("東京都")
    assert client.get(f"{BASE}/addressees/{resident}", headers=tax).json()["kind"] == "resident"
    assert client.get(BASE, params={"kana": "スズキ"}, headers=tax).json() == []
    unknown = {**body, "registered_by": "astrology"}
    assert client.post(f"{BASE}/non-residents", json=unknown, headers=tax).status_code == 403
