"""Data migration over HTTP: upload, dry run as a job, the report, then the real load."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.exchange.exports import export_tenant
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
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
        with contextlib.suppress(InvalidInput):  # a refused job is marked FAILED
            jobs.run_in_process(db, job_id)
    return jobs.get_job(db, job_id)


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


def test_an_import_job_reads_only_its_own_uploads(client: TestClient, db: Database,
                                                  tmp_path: Path) -> None:
    """Another municipality's files, or any path on the server, are out of reach."""
    with db.tenant_tx("062022") as conn:
        ch.move_in(conn, CTX, family(), today=TODAY)
    it = _token(db, "it_nagai", ["municipal_it"], code="062090")
    yonezawa_it = _token(db, "it_yonezawa", ["municipal_it"], code="062022")
    export_tenant(db, "062022", tmp_path / "out", ctx=CTX)
    files = [("files", (p.name, p.read_bytes(), "text/csv"))
             for p in sorted((tmp_path / "out").glob("*.csv"))]
    theirs = client.post("/api/v1/t/062022/imports", files=files, headers=yonezawa_it).json()
    directory = jobs.get_job(db, theirs["id"]).params["directory"]
    for target in (directory, str(tmp_path / "out")):
        r = client.post("/api/v1/t/062090/jobs", headers=it, json={
            "kind": "platform.import", "params": {"directory": target, "dry_run": False}})
        job = _finish(db, r.json()["id"]) if r.status_code == 202 else None
        assert job is None or job.status == jobs.JobStatus.FAILED
        if job is not None:
            assert "アップロード" in (job.error or "")
            assert client.get(f"/api/v1/t/062090/imports/{job.id}/report",
                              headers=it).status_code == 404
    with db.tenant_tx("062090") as conn:
        assert service.count(conn) == 0


def test_fixed_width_profiles_name_files_of_the_directory_only(db: Database, yonezawa: Tenant,
                                                               tmp_path: Path) -> None:
    from kumomura.platform.exchange.imports import import_tenant

    (tmp_path / "fixed_width.json").write_text(
        '{"counters": {"file": "/etc/passwd", "fields": [["series", 8], ["last_value", 4]]}}',
        encoding="utf-8")
    result = import_tenant(db, "062022", tmp_path, dry_run=True)
    assert [p.file for p in result.problems] == ["fixed_width.json"]
    assert "must be a file name" in result.problems[0].reason


def test_uploads_are_bounded_and_the_files_go_when_the_job_ends(
        client: TestClient, db: Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kumomura.platform.core.config import get_settings
    from kumomura.platform.exchange.imports import REPORT, upload_area

    it = _token(db, "it_nagai", ["municipal_it"], code="062090")
    with db.tenant_tx("062022") as conn:
        ch.move_in(conn, CTX, family(), today=TODAY)
    export_tenant(db, "062022", tmp_path / "out", ctx=CTX)
    atena = (tmp_path / "out" / "atena.csv").read_bytes().replace(b"062022", b"062090")
    monkeypatch.setenv("KUMOMURA_UPLOAD_MAX_BYTES", str(len(atena) - 1))
    get_settings.cache_clear()
    too_big = client.post("/api/v1/t/062090/imports", headers=it,
                          files=[("files", ("atena.csv", atena, "text/csv"))])
    assert too_big.status_code == 422
    assert too_big.json()["field"] == "files"
    assert "atena.csv" in too_big.json()["detail"]
    area = upload_area(db, "062090")
    assert not area.exists() or list(area.iterdir()) == []  # nothing left half-stored
    monkeypatch.delenv("KUMOMURA_UPLOAD_MAX_BYTES")
    get_settings.cache_clear()
    r = client.post("/api/v1/t/062090/imports", headers=it,
                    files=[("files", ("atena.csv", atena, "text/csv"))])
    assert r.status_code == 202, r.text
    job = _finish(db, r.json()["id"])
    assert job.status == jobs.JobStatus.DONE
    (folder,) = list(area.iterdir())
    assert [p.name for p in folder.iterdir()] == [REPORT]  # the personal data has gone
    assert client.get(f"/api/v1/t/062090/imports/{job.id}/report",
                      headers=it).status_code == 200
