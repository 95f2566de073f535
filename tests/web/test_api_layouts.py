"""Data migration over HTTP: upload, dry run as a job, the report, then the real load."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kumomura.platform import jobs
from kumomura.platform.db import Database
from kumomura.platform.exports import export_tenant
from kumomura.platform.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.residents import service
from kumomura.web.app import create_app
from tests.conftest import NAGAI, make_tenant
from tests.residents.factories import CTX, family
from tests.web.test_api_platform import _token

TODAY = family().moved_on


@pytest.fixture
def client(db: Database, yonezawa: Tenant) -> Iterator[TestClient]:
    make_tenant(db, NAGAI)
    with TestClient(create_app(db=db)) as c:
        yield c


def _finish(db: Database, job_id: int) -> jobs.Job:
    job = jobs.get_job(db, job_id)
    if job.status == jobs.JobStatus.QUEUED:  # PostgreSQL: no worker in the test
        job = jobs.run_in_process(db, job_id)
    return job


def test_upload_dry_run_report_then_load(client: TestClient, db: Database,
                                         tmp_path: Path) -> None:
    with db.tenant_tx("062022") as conn:
        ch.move_in(conn, CTX, family(), today=TODAY)
    export_tenant(db, "062022", tmp_path / "out", ctx=CTX)
    it = _token(db, "it_nagai", ["municipal_it"], code="062090")
    clerk = _token(db, "clerk_nagai", ["counter_clerk"], code="062090")
    bad = (tmp_path / "out" / "households.csv").read_text(encoding="utf-8").replace(
        "2026-04-01", "2026-13-01")
    upload = [("files", (p.name, bad.encode() if p.name == "households.csv" else p.read_bytes(),
                         "text/csv")) for p in sorted((tmp_path / "out").glob("*.csv"))]
    assert client.post("/api/v1/t/062090/imports", files=upload,
                       headers=clerk).status_code == 403
    r = client.post("/api/v1/t/062090/imports", files=upload, headers=it)
    assert r.status_code == 202, r.text
    job = _finish(db, r.json()["id"])
    assert job.status == jobs.JobStatus.DONE
    report = client.get(f"/api/v1/t/062090/imports/{job.id}/report", headers=it)
    assert report.status_code == 200
    rows = list(csv.reader(io.StringIO(report.text)))
    assert rows[1][:4] == ["エラー", "households.csv", "2", "created_on"]
    good = [("files", (p.name, p.read_bytes(), "text/csv"))
            for p in sorted((tmp_path / "out").glob("*.csv"))]
    r = client.post("/api/v1/t/062090/imports", files=good, data={"dry_run": "false"},
                    headers=it)
    job = _finish(db, r.json()["id"])
    assert job.status == jobs.JobStatus.DONE
    with db.tenant_tx("062090") as conn:
        assert service.count(conn) == 3
    lines = [line["message"] for line in jobs.job_log_lines(db, job.id)]
    assert any("'written': True" in line for line in lines), lines
    other = _token(db, "it_yonezawa", ["municipal_it"], code="062022")
    assert client.get(f"/api/v1/t/062090/imports/{job.id}/report",
                      headers=other).status_code == 404
