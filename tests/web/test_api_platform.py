"""The platform's HTTP API: problem+json, tenant scoping, parameters, feed and jobs."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kumomura.platform import events
from kumomura.platform.identity import auth, tokens
from kumomura.platform.identity.auth import Scope
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.web.app import create_app
from tests.conftest import NAGAI, make_tenant
from tests.platform import jobkinds  # noqa: F401

PW = "correct horse battery"


def _token(db: Database, username: str, roles: list[str], code: str | None = "062022",
           scope: Scope = Scope.TENANT) -> dict[str, str]:
    auth.create_user(db, username=username, password=PW, display_name=username, scope=scope,
                     lg_code=code, role_names=roles)
    return {"Authorization": f"Bearer {tokens.issue(db, username, 'test')}"}


@pytest.fixture
def client(db: Database, yonezawa: Tenant) -> Iterator[TestClient]:
    make_tenant(db, NAGAI)
    with TestClient(create_app(db=db)) as c:
        yield c


def test_health_and_readiness(client: TestClient, db: Database) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == db.dialect
    assert client.get("/openapi.json").json()["info"]["title"] == "kumomura"


def test_errors_are_problem_json_with_request_id(client: TestClient) -> None:
    r = client.get("/api/v1/tenants", headers={"X-Request-ID": "abc123"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "abc123"
    assert r.json()["request_id"] == "abc123"
    assert "Bearer" in r.json()["detail"]


def test_other_tenants_resources_answer_404_like_missing_ones(client: TestClient,
                                                              db: Database) -> None:
    it = _token(db, "it1", ["municipal_it", "linkage_client", "counter_clerk"])
    for path in ("/api/v1/t/{c}/params/platform", "/api/v1/t/{c}/events",
                 "/api/v1/t/{c}/jobs", "/api/v1/t/{c}/dead-letters", "/api/v1/tenants/{c}"):
        other = client.get(path.format(c="062090"), headers=it)
        missing = client.get(path.format(c="064033"), headers=it)
        assert other.status_code == missing.status_code == 404, path
        assert other.json()["detail"].replace("062090", "X") == \
            missing.json()["detail"].replace("064033", "X")
        assert client.get(path.format(c="062022"), headers=it).status_code == 200, path


def test_params_over_http(client: TestClient, db: Database) -> None:
    it = _token(db, "it1", ["municipal_it"])
    clerk = _token(db, "clerk1", ["counter_clerk"])
    body = {"value": 20, "effective_from": "2025-04-01", "reason": "セキュリティ方針"}
    assert client.put("/api/v1/t/062022/params/platform/idle_timeout_minutes", json=body,
                      headers=clerk).status_code == 403
    r = client.put("/api/v1/t/062022/params/platform/idle_timeout_minutes", json=body,
                   headers=it)
    assert r.status_code == 200, r.text
    bad = client.put("/api/v1/t/062022/params/platform/idle_timeout_minutes",
                     json={**body, "value": 1}, headers=it)
    assert bad.status_code == 422
    assert bad.json()["field"] == "idle_timeout_minutes"
    assert "5 以上にしてください" in bad.json()["detail"]
    shown = client.get("/api/v1/t/062022/params/platform?on=2025-05-01", headers=clerk).json()
    assert shown["values"]["idle_timeout_minutes"] == 20
    assert shown["departures"] == ["idle_timeout_minutes"]
    history = client.get("/api/v1/t/062022/params/platform/history", headers=it).json()
    assert [(h["value"], h["changed_by"]) for h in history] == [(20, "it1")]
    sec = _token(db, "sec", ["secretariat"], code=None, scope=Scope.CONSORTIUM)
    diff = client.get("/api/v1/consortium/params/diff?on=2025-05-01", headers=sec).json()
    assert diff == [{"lg_code": "062022", "module": "platform", "name": "idle_timeout_minutes",
                     "national": 30, "value": 20}]
    assert client.get("/api/v1/consortium/params/diff", headers=it).status_code == 403


def test_events_feed(client: TestClient, db: Database) -> None:
    feed = _token(db, "juki-link", ["linkage_client"])
    with db.tenant_tx("062022") as conn:
        ids = [events.emit_raw(conn, "residents.moved_in", {"n": n}) for n in range(3)]
    with db.tenant_tx("062090") as conn:
        events.emit_raw(conn, "residents.moved_in", {"n": 99})
    page = client.get(f"/api/v1/t/062022/events?after={ids[0]}&limit=10", headers=feed).json()
    assert [e["payload"]["n"] for e in page["events"]] == [1, 2]
    assert page["next_after"] == ids[2]
    assert client.get("/api/v1/t/062022/events?limit=0", headers=feed).status_code == 422


def test_jobs_over_http(client: TestClient, db: Database) -> None:
    clerk = _token(db, "clerk1", ["registry_editor"])
    r = client.post("/api/v1/t/062022/jobs", json={"kind": "test.emit_chunks",
                                                   "params": {"chunks": 3}}, headers=clerk)
    assert r.status_code == 202, r.text
    if db.is_postgres:  # queued for procrastinate: a worker runs it
        from kumomura.platform.worker import run_worker

        assert r.json()["status"] == "queued"
        run_worker(db, wait=False)
    job = client.get(f"/api/v1/t/062022/jobs/{r.json()['id']}", headers=clerk).json()
    assert (job["status"], job["done_chunks"], job["progress"]) == ("done", 3, 1.0)
    assert job["log"][-1]["message"] == "finished"
    tax = _token(db, "tax1", ["tax_officer"])
    assert client.post("/api/v1/t/062022/jobs", json={"kind": "test.emit_chunks",
                       "params": {"chunks": 1}}, headers=tax).status_code == 403


def test_embedded_deployment_delivers_events_without_a_worker(sqlite_db: Database) -> None:
    import time

    from sqlalchemy import Connection

    from kumomura.platform.events import Event

    make_tenant(sqlite_db)
    got: list[int] = []

    def handle(conn: Connection, event: Event) -> None:
        got.append(event.id)

    events.subscribe("test_school", ["residents.moved_in"], handle)
    try:
        with TestClient(create_app(db=sqlite_db)):
            with sqlite_db.tenant_tx("062022") as conn:
                event_id = events.emit_raw(conn, "residents.moved_in", {"n": 1})
            deadline = time.monotonic() + 10
            while not got and time.monotonic() < deadline:
                time.sleep(0.1)
        assert got == [event_id]
    finally:
        events.unsubscribe("test_school")


def test_a_job_takes_only_what_its_caller_may_say(client: TestClient, db: Database) -> None:
    """The server sets what it knows (the municipality printed on notices, the actor, the
    run's directory and shape); a request naming any of them, or an unknown field, or a
    run of too many chunks, is refused by name and nothing is queued."""
    from kumomura.platform.jobs.queue import MAX_CHUNKS

    tax = _token(db, "tax1", ["tax_officer"])
    clerk = _token(db, "clerk1", ["registry_editor"])
    it = _token(db, "it1", ["municipal_it"])
    cases = [
        (tax, "inhabitant_tax.notices", {"fiscal_year": 2026, "issued_on": "2026-06-10",
                                         "municipality": "長井市"}, "params.municipality"),
        (tax, "inhabitant_tax.assess", {"fiscal_year": 2026, "actor": "someone_else"},
         "params.actor"),
        (tax, "inhabitant_tax.notices", {"fiscal_year": 2026, "issued_on": "2026-06-10",
                                         "directory": "../../etc"}, "params.directory"),
        (tax, "inhabitant_tax.assess", {"fiscal_year": 2026, "chunk_size": 1},
         "params.chunk_size"),
        (it, "platform.import", {"directory": "/etc"}, "kind"),
        (clerk, "test.emit_chunks", {"chunks": MAX_CHUNKS + 1}, "params"),
    ]
    for headers, kind, params_, field in cases:
        r = client.post("/api/v1/t/062022/jobs", json={"kind": kind, "params": params_},
                        headers=headers)
        assert r.status_code == 422, (kind, r.text)
        body = r.json()
        named = {e["field"] for e in body.get("errors", [])} | {body.get("field")}
        assert field in named, (kind, body)
    assert client.get("/api/v1/t/062022/jobs", headers=clerk).json() == []
