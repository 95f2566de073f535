"""Every read of personal data leaves an audit entry: a walk over every page and API
route of a municipality, each asked for with a request id of its own, each answer
found again in the municipality's trail under that id. A route that shows nobody is
named below with the reason; a new route is either audited or named, or this fails."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from kumomura.inhabitant_tax import income_data
from kumomura.inhabitant_tax.models import IncomeReturnIn
from kumomura.platform import audit, events, params
from kumomura.platform.exchange.exports import export_tenant
from kumomura.platform.identity import tokens
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.residents.tables import changes
from kumomura.seal_registration import service as seals
from kumomura.seal_registration.models import SealRegistrationIn
from kumomura.web.app import create_app
from tests.pages import StaffBrowser, _login, _user
from tests.residents.factories import CTX, family

CODE = "062022"

SHOWS_NOBODY = {
    "/api/v1/tenants/{lg_code}": "the municipality's profile",
    "/api/v1/t/{lg_code}/params/{module}": "parameters",
    "/api/v1/t/{lg_code}/params/{module}/history": "parameters and who changed them",
    "/t/{lg_code}/params": "parameters",
    "/api/v1/t/{lg_code}/jobs": "jobs: kinds, states and counts",
    "/api/v1/t/{lg_code}/jobs/{job_id}": "a job's state and log lines (counts, no person)",
    "/t/{lg_code}/jobs": "jobs: kinds, states and counts",
    "/t/{lg_code}/jobs/{job_id}": "a job's state and log lines",
    "/t/{lg_code}/jobs/{job_id}/progress": "a job's progress bar",
    "/api/v1/t/{lg_code}/dead-letters": "event ids, topics and subscribers' errors",
    "/api/v1/t/{lg_code}/backups": "backup file names and sizes",
    "/api/v1/t/{lg_code}/restores": "restore requests: backup names, staff, reasons",
    "/t/{lg_code}/restores": "backups and restore requests",
    "/t/{lg_code}/imports": "the upload form",
    "/t/{lg_code}/users": "the municipality's staff, not its residents",
    "/t/{lg_code}/tokens": "the municipality's staff's API tokens",
    "/t/{lg_code}/oidc-clients": "the municipality's other systems and their addresses",
    "/oidc/{lg_code}/.well-known/openid-configuration": "the provider's addresses",
    "/oidc/{lg_code}/jwks": "the provider's public key",
    "/oidc/{lg_code}/authorize": "a staff member signing in to another system (auth.*)",
    "/oidc/{lg_code}/userinfo": "the signed-in staff member's own name and roles",
    "/t/{lg_code}/residents": "the empty search form",
    "/t/{lg_code}/collection": "the empty lookup form (宛名番号)",
    "/t/{lg_code}/residents/move-in": "the empty move-in form",
    "/t/{lg_code}/tax": "the tax office's counts and jobs",
    "/t/{lg_code}/tax/simulate": "a what-if of no one in particular",
    "/t/{lg_code}/tax/notices/{job_id}": "the run's file names (numbered, no person)",
    "/api/v1/t/{lg_code}/inhabitant-tax/notices/jobs/{job_id}/files": "the run's file names",
}


def _routes(app: Any) -> Iterator[str]:
    """The path of every GET route, through the routers the app includes."""
    def walk(routes: list[Any], prefix: str) -> Iterator[str]:
        for route in routes:
            if hasattr(route, "include_context"):
                yield from walk(route.include_context.included_router.routes,
                                prefix + route.include_context.prefix)
            elif isinstance(route, APIRoute) and "GET" in (route.methods or ()):
                yield prefix + route.path
    yield from walk(app.routes, "")


def _done(db: Database, job_id: int) -> int:
    """A job the API started, finished (on PostgreSQL this test is the worker)."""
    if jobs.get_job(db, job_id).status != jobs.JobStatus.DONE:
        jobs.run_in_process(db, job_id)
    return job_id


def _red_ring() -> str:
    """A scanned seal's impression (a PNG)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (60, 60), "white")
    ImageDraw.Draw(image).ellipse((4, 4, 56, 56), outline=(196, 30, 40), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


@pytest.fixture
def town(db: Database, yonezawa: Tenant, tmp_path: Path) -> Iterator[tuple[StaffBrowser,
                                                                          dict[str, str]]]:
    """A family with a seal, a declaration, an assessment and its notices, an import with
    a refused row; a member of staff with every role, signed in and with a token."""
    _user(db, "all", ["registry_editor", "tax_officer", "collection_officer", "municipal_it",
                      "linkage_client"])
    with db.tenant_tx(CODE) as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=CTX, reason="設定")
        moved = ch.move_in(conn, CTX, family())
        head = moved.atena_nos[0]
        change_id = conn.execute(select(func.max(changes.c.change_id))).scalar_one()
        registration = seals.register(conn, CTX, SealRegistrationIn(
            atena_no=head, registered_on=date(2026, 5, 1), impression_text="山田",
            impression_png_base64=_red_ring()))
        income_data.record_return(conn, CTX, IncomeReturnIn.model_validate({
            "atena_no": head, "income_year": 2025,
            "taxpayer": {"birth_date": "1980-04-01", "salary_revenue": 5_000_000,
                         "pension_revenue": 0, "other_income": 0}}))
    export_tenant(db, CODE, tmp_path / "out", ctx=CTX)
    with StaffBrowser(create_app(db=db)) as client:
        bearer = {"Authorization": f"Bearer {tokens.issue(db, 'all', 'walk')}"}
        api = f"/api/v1/t/{CODE}"
        assessed = _done(db, client.post(f"{api}/inhabitant-tax/assessments/2026/run",
                                         json={}, headers=bearer).json()["id"])
        events.dispatch(db, CODE)  # collection takes the assessment's charges
        noticed = _done(db, client.post(f"{api}/inhabitant-tax/notices/2026/run",
                                        json={"issued_on": "2026-06-10"},
                                        headers=bearer).json()["id"])
        bad = (tmp_path / "out" / "households.csv").read_text(encoding="utf-8").replace(
            "2026-04-01", "2026-13-01")
        upload = [("files", (p.name, bad.encode() if p.name == "households.csv"
                             else p.read_bytes(), "text/csv"))
                  for p in sorted((tmp_path / "out").glob("*.csv"))]
        imported = _done(db, client.post(f"{api}/imports", files=upload,
                                         headers=bearer).json()["id"])
        files = client.get(f"{api}/inhabitant-tax/notices/jobs/{noticed}/files",
                           headers=bearer).json()
        _login(client, "all")
        values = {"lg_code": CODE, "atena_no": head, "household_no": moved.household_nos[0],
                  "change_id": str(change_id), "registration_no": registration["registration_no"],
                  "income_year": "2025", "fiscal_year": "2026", "module": "residents",
                  "kind": "move-out", "assessed": str(assessed), "noticed": str(noticed),
                  "imported": str(imported),
                  "pdf": next(f for f in files if f.endswith(".pdf"))}
        yield client, values | {f"bearer:{k}": v for k, v in bearer.items()}


JOB_OF = {"problems": "assessed", "notices": "noticed", "imports": "imported"}
QUERIES = {
    "/api/v1/t/{lg_code}/residents": {"kana": "ﾔﾏﾀﾞ"},
    "/t/{lg_code}/residents/results": {"kana": "ﾔﾏﾀﾞ"},
    "/api/v1/t/{lg_code}/seals": {"atena_no": "{atena_no}"},
    "/t/{lg_code}/tax/{atena_no}": {"year": "2026"},
    "/t/{lg_code}/tax/{atena_no}/return": {"year": "2026"},
    "/t/{lg_code}/tax/{atena_no}/notice.pdf": {"year": "2026"},
}


def _urls(path: str, values: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """The route asked for with real values (a notices file: the index and a PDF)."""
    job = next((values[v] for k, v in JOB_OF.items() if f"/{k}" in path), values["noticed"])
    names = ["index.csv", values["pdf"]] if "{name}" in path else [""]
    query = {k: v.format(**values) for k, v in QUERIES.get(path, {}).items()}
    return [(path.format(**values | {"job_id": job, "name": name}), query) for name in names]


def test_every_read_of_personal_data_is_in_the_trail(
        db: Database, town: tuple[StaffBrowser, dict[str, str]]) -> None:
    client, values = town
    bearer = {k.removeprefix("bearer:"): v for k, v in values.items() if k.startswith("bearer:")}
    paths = sorted({p for p in _routes(client.app) if "{lg_code}" in p})
    assert set(SHOWS_NOBODY) <= set(paths), "a route named here is gone"
    unaudited = []
    asked = 0
    for path in paths:
        if path in SHOWS_NOBODY:
            continue
        for i, (url, query) in enumerate(_urls(path, values)):
            request_id = f"walk-{asked}-{i}"
            headers = {"X-Request-ID": request_id, **(bearer if url.startswith("/api/")
                                                         else {})}
            answer = client.get(url, params=query, headers=headers)
            assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
            asked += 1
            with db.tenant_tx(CODE) as conn:
                assert audit.has_entries(conn)
            if not any(e["request_id"] == request_id for e in audit.entries(db, CODE)):
                unaudited.append(url)
    assert asked >= 25
    assert unaudited == []


def test_a_search_records_the_numbers_it_returned(
        db: Database, town: tuple[StaffBrowser, dict[str, str]]) -> None:
    client, values = town
    found = client.get(f"/t/{CODE}/residents/results", params={"kana": "ﾔﾏﾀﾞ"},
                       headers={"X-Request-ID": "search-1"})
    assert values["atena_no"] in found.text
    entry = next(e for e in audit.entries(db, CODE) if e["request_id"] == "search-1")
    assert values["atena_no"] in entry["detail"]["atena_nos"]
    index = client.get(f"/t/{CODE}/tax/notices/{values['noticed']}/index.csv",
                       headers={"X-Request-ID": "index-1"})
    listed = list(csv.reader(io.StringIO(index.text.lstrip("\ufeff"))))[1:]
    entry = next(e for e in audit.entries(db, CODE) if e["request_id"] == "index-1")
    assert entry["detail"]["people"] == len(listed) >= 1  # everyone's, by their number
    pdf = client.get(f"/t/{CODE}/tax/notices/{values['noticed']}/{values['pdf']}",
                     headers={"X-Request-ID": "pdf-1"})
    assert pdf.content.startswith(b"%PDF")
    entry = next(e for e in audit.entries(db, CODE) if e["request_id"] == "pdf-1")
    assert entry["detail"]["atena_nos"] == [row[3] for row in listed
                                            if row[0] == values["pdf"]]
