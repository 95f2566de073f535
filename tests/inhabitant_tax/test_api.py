"""The inhabitant tax over HTTP and from the command line: simulate, bad input named by
field, returns, the annual assessment, correction, notices; who may see what."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kumomura.platform.identity.auth import Scope
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.web.app import create_app
from tests.conftest import NAGAI, make_tenant
from tests.test_cli import run
from tests.web.test_api_platform import _token

BASE = "/api/v1/t/062022/inhabitant-tax"
CASE: dict[str, Any] = {
    "fiscal_year": 2026,
    "taxpayer": {"birth_date": "1980-04-01", "salary_revenue": 5_000_000,
                 "pension_revenue": 0, "other_income": 0},
    "deductions": {"social_insurance": 500_000},
    "spouse": {"birth_date": "1985-06-01", "salary_revenue": 0, "pension_revenue": 0,
               "other_income": 0},
    "dependents": [{"birth_date": "2007-06-01", "salary_revenue": 0, "pension_revenue": 0,
                    "other_income": 0},
                   {"birth_date": "2011-06-01", "salary_revenue": 0, "pension_revenue": 0,
                    "other_income": 0}],
}


def _finished(db: Database, job_id: int) -> jobs.Job:
    """On SQLite the app ran the job after the response; on PostgreSQL it was deferred to
    the queue, and this test is the worker."""
    if jobs.get_job(db, job_id).status != jobs.JobStatus.DONE:
        jobs.run_in_process(db, job_id)
    return jobs.get_job(db, job_id)


@pytest.fixture
def client(db: Database, yonezawa: Tenant) -> Iterator[TestClient]:
    make_tenant(db, NAGAI)
    with TestClient(create_app(db=db)) as c:
        yield c


@pytest.fixture
def officer(db: Database, client: TestClient) -> dict[str, str]:
    return _token(db, "tax_yonezawa", ["tax_officer"])


def test_simulate_and_what_if(client: TestClient, officer: dict[str, str]) -> None:
    r = client.post(f"{BASE}/simulate", json=CASE, headers=officer)
    assert r.status_code == 200, r.text
    body = r.json()
    # 新潟市's 令和8年度 example at standard (not designated) rates: 6% and 4%.
    assert body["taxable_base"] == 1_970_000
    assert body["municipal"]["computed_income_levy"] == 118_200
    assert body["prefectural"]["computed_income_levy"] == 78_800
    assert len(body["ordinary_installments"]) == 4
    assert len(body["special_collection"]) == 12
    assert sum(body["special_collection"]) == body["total"]
    proposal = client.post(f"{BASE}/simulate", headers=officer, json={
        **CASE, "parameters": {"municipal_per_capita": 3_500}}).json()
    assert proposal["total"] == body["total"] + 500
    assert proposal["parameters"]["municipal_per_capita"] == 3_500
    donor = client.post(f"{BASE}/simulate", headers=officer, json={
        **CASE, "deductions": {**CASE["deductions"],
                               "donations": {"furusato": 20_000, "one_stop": True}}}).json()
    credit = donor["municipal"]["donation_credit"] + donor["prefectural"]["donation_credit"]
    assert credit == 18_002  # 18,000 of the 20,000 back, and 2 yen from rounding each part up
    assert body["total"] - donor["total"] in range(credit - 199, credit + 200)


@pytest.mark.parametrize(("change", "field"), [
    (lambda c: c["taxpayer"].pop("salary_revenue"), "taxpayer.salary_revenue"),
    (lambda c: c["deductions"].update(social_insurance=-1), "deductions.social_insurance"),
    (lambda c: c["spouse"].update(birth_date="2025-02-30"), "spouse.birth_date"),
    (lambda c: c.update(fiscal_year=2019), "fiscal_year"),
    (lambda c: c["dependents"][1].update(birth_date="2026-01-05"), "dependents.1.birth_date"),
    (lambda c: c.update(parameters={"grade": 4}), "parameters.grade"),
    (lambda c: c.update(parameters={"rate": 7}), "parameters.rate"),
    (lambda c: c["deductions"].update(donations={"furusato": -1}),
     "deductions.donations.furusato"),
    (lambda c: c["deductions"].update(housing_loan={"available": 100, "used": 200}),
     "deductions.housing_loan"),
])
def test_bad_cases_are_refused_naming_the_field(client: TestClient, officer: dict[str, str],
                                                change: Any, field: str) -> None:
    case = json.loads(json.dumps(CASE))
    change(case)
    r = client.post(f"{BASE}/simulate", json=case, headers=officer)
    assert r.status_code == 422, r.text
    assert field in [e["field"].removeprefix("body.") for e in r.json()["errors"]], r.json()


def test_who_may_simulate(client: TestClient, db: Database) -> None:
    clerk = _token(db, "clerk_yonezawa", ["counter_clerk"])
    nagai = _token(db, "tax_nagai", ["tax_officer"], code="062090")
    secretariat = _token(db, "sec", ["secretariat"], code=None, scope=Scope.CONSORTIUM)
    assert client.post(f"{BASE}/simulate", json=CASE, headers=clerk).status_code == 403
    assert client.post(f"{BASE}/simulate", json=CASE, headers=nagai).status_code == 404
    assert client.post(f"{BASE}/simulate", json=CASE, headers=secretariat).status_code == 404


def test_returns_assessment_correction_and_notices(client: TestClient, db: Database,
                                                   officer: dict[str, str]) -> None:
    clerk = _token(db, "clerk_yonezawa", ["counter_clerk", "registry_editor"])
    moved = client.post("/api/v1/t/062022/residents/changes/move-in", headers=clerk, json={
        "moved_on": "2024-04-01", "notified_on": "2024-04-01",
        "previous_address": "宮城県仙台市青葉区国分町三丁目7番1号",
        "address": {"postal_code": "992-0012", "town": "金池三丁目1番55号"},
        "persons": [{"name": "佐藤 健一", "kana": "サトウ ケンイチ", "birth_date": "1980-04-01",
                     "sex": "1", "relationship": "世帯主"}]})
    assert moved.status_code == 201, moved.text
    atena_no = moved.json()["atena_nos"][0]
    for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
        assert client.put(f"/api/v1/t/062022/params/residents/{name}", headers=_token(
            db, f"it_{name}", ["municipal_it"]), json={
            "value": value, "effective_from": "2026-04-01", "reason": "設定"}).status_code < 300
    case = json.loads(json.dumps(CASE))  # a copy: the test changes it
    data = {"atena_no": atena_no, "income_year": 2025,
            **{k: case[k] for k in ("taxpayer", "deductions", "spouse", "dependents")}}
    assert client.post(f"{BASE}/returns", json=data, headers=officer).status_code == 201
    job = client.post(f"{BASE}/assessments/2026/run", json={}, headers=officer).json()
    assert _finished(db, job["id"]).status == jobs.JobStatus.DONE
    current = client.get(f"{BASE}/assessments/2026/{atena_no}", headers=officer).json()
    assert current["taxable_base"] == 1_970_000
    data["taxpayer"]["salary_revenue"] = 5_400_000
    client.post(f"{BASE}/returns", json=data, headers=officer)
    fixed = client.post(f"{BASE}/assessments/2026/{atena_no}/correction",
                        json={"note": "給与支払報告書の訂正"}, headers=officer).json()
    assert fixed["version"] == 2
    history = client.get(f"{BASE}/assessments/2026/{atena_no}", params={"history": True},
                         headers=officer).json()
    assert [v["current"] for v in history] == [False, True]

    run_ = client.post(f"{BASE}/notices/2026/run", json={"issued_on": "2026-06-10"},
                       headers=officer).json()
    assert _finished(db, run_["id"]).status == jobs.JobStatus.DONE
    files = client.get(f"{BASE}/notices/jobs/{run_['id']}/files", headers=officer).json()
    assert "index.csv" in files
    pdf = next(f for f in files if f.endswith(".pdf"))
    got = client.get(f"{BASE}/notices/jobs/{run_['id']}/files/{pdf}", headers=officer)
    assert got.content.startswith(b"%PDF")
    assert client.get(f"{BASE}/notices/jobs/{run_['id']}/files/..%2Fx.pdf",
                      headers=officer).status_code == 404
    nagai = _token(db, "tax_nagai", ["tax_officer"], code="062090")
    assert client.get(f"{BASE}/assessments/2026/{atena_no}",
                      headers=nagai).status_code == 404
    assert client.get(f"/api/v1/t/062090/inhabitant-tax/assessments/2026/{atena_no}",
                      headers=nagai).status_code == 404


def test_simulate_from_the_command_line(db: Database, yonezawa: Tenant, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(CASE), encoding="utf-8")
    code, out, err = run(capsys, "inhabitant-tax", "simulate", "--tenant", "062022",
                         "--input", str(path))
    assert code == 0, err
    assert json.loads(out)["taxable_base"] == 1_970_000
    path.write_text(json.dumps({**CASE, "fiscal_year": 2030}), encoding="utf-8")
    code, out, err = run(capsys, "inhabitant-tax", "simulate", "--tenant", "062022",
                         "--input", str(path))
    assert code == 2
    assert "fiscal_year" in err
