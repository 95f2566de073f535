"""Nobody alone replaces a live municipality's data, and nobody erases its audit trail:
each attack tried before (an IT lead's or the operator's import over a live member, a
fabricated one-entry log, the operator setting a member's parameters, one person's
restore) is tried again here and does no harm."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kumomura.platform import audit
from kumomura.platform.audit import AuditContext, audit_log
from kumomura.platform.core.errors import Conflict
from kumomura.platform.exchange.exports import export_tenant
from kumomura.platform.exchange.imports import import_tenant
from kumomura.platform.identity import auth, tokens
from kumomura.platform.identity.auth import Scope
from kumomura.platform.resilience import backup, restores
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant, TenantState, get_tenant, set_state
from kumomura.residents import changes as ch
from kumomura.residents.models import ProtectionOrderIn
from kumomura.residents.service import add_protection
from kumomura.residents.tables import protection_orders, resident_versions
from kumomura.web.app import create_app
from tests.pages import StaffBrowser
from tests.residents.factories import CTX, family

CODE = "062022"
PW = "correct horse battery staple"


def _count(db: Database, table: object) -> int:
    with db.tenant_tx(CODE) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@pytest.fixture
def live(db: Database, yonezawa: Tenant) -> Database:
    """米沢市, live, with a family and a protection order (支援措置)."""
    with db.tenant_tx(CODE) as conn:
        wife = ch.move_in(conn, CTX, family()).atena_nos[1]
        add_protection(conn, CTX, ProtectionOrderIn(atena_no=wife, starts_on=date(2026, 7, 1),
                                                    reason="申出"))
    set_state(db, CODE, TenantState.LIVE, actor="test", reason="本稼働")
    return db


def test_an_import_never_replaces_a_live_municipalitys_tables(live: Database,
                                                              tmp_path: Path) -> None:
    files = tmp_path / "in"
    files.mkdir()
    header = "id,atena_no,kind,starts_on,ends_on,lifted_on,reason,created_by,created_at\n"
    (files / "protection_orders.csv").write_text(header, encoding="utf-8")  # header only
    result = import_tenant(live, CODE, files)
    assert not result.written
    assert [p.column for p in result.problems] == ["state"]
    assert "本稼働中" in result.problems[0].reason
    assert _count(live, protection_orders) == 1  # every 支援措置 still there
    assert import_tenant(live, CODE, files, dry_run=True).ok  # checking is allowed


def test_a_fabricated_log_never_replaces_the_audit_trail(db: Database, yonezawa: Tenant,
                                                         tmp_path: Path) -> None:
    with db.tenant_tx(CODE) as conn:
        ch.move_in(conn, CTX, family())
    export_tenant(db, CODE, tmp_path / "out", ctx=CTX)
    out = tmp_path / "out"
    (out / "manifest.json").unlink()
    log = (out / "audit_log.csv").read_text(encoding="utf-8").splitlines()
    (out / "audit_log.csv").write_text("\n".join(log[:2]) + "\n", encoding="utf-8")
    before = _count(db, audit_log)
    result = import_tenant(db, CODE, out)  # onboarding: the data may be replaced, not the log
    assert result.written, result.problems
    assert result.kept == ["audit_head.csv", "audit_log.csv", "audit_pending.csv"]
    assert _count(db, audit_log) >= before
    assert audit.verify(db, CODE).ok


@pytest.fixture
def staff(live: Database) -> Iterator[TestClient]:
    for name, roles, scope, code in (("operator", ["operator"], Scope.OPERATOR, None),
                                     ("secretariat", ["secretariat"], Scope.CONSORTIUM, None),
                                     ("it", ["municipal_it"], Scope.TENANT, CODE)):
        auth.create_user(live, username=name, password=PW, display_name=name, scope=scope,
                         lg_code=code, role_names=roles)
    with StaffBrowser(create_app(db=live)) as client:
        yield client


def _bearer(db: Database, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue(db, name, 'test')}"}


def test_the_operator_and_the_secretariat_change_no_municipality(live: Database,
                                                                 staff: TestClient) -> None:
    change = {"value": 60, "effective_from": "2026-04-01", "reason": "attack"}
    for name in ("operator", "secretariat"):
        headers = _bearer(live, name)
        r = staff.put(f"/api/v1/t/{CODE}/params/platform/idle_timeout_minutes", json=change,
                      headers=headers)
        assert r.status_code == 403, (name, r.text)
        upload = staff.post(f"/api/v1/t/{CODE}/imports", headers=headers, data={
            "dry_run": "false"}, files={"files": ("protection_orders.csv", b"id\n")})
        assert upload.status_code in (403, 404), (name, upload.text)
    it = _bearer(live, "it")  # the municipality's own IT lead may
    assert staff.put(f"/api/v1/t/{CODE}/params/platform/idle_timeout_minutes", json=change,
                     headers=it).status_code == 200


def test_a_live_restore_takes_two_people_both_in_the_log(live: Database,
                                                         tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    info = backup.run(live, CODE, tmp_path / "b", key_dir=keys, ctx=CTX)
    with live.tenant_tx(CODE) as conn:  # after the backup: undone by the restore
        ch.move_in(conn, CTX, family(address={"town": "丸の内一丁目1番1号"}))
    assert _count(live, resident_versions) == 6
    alice = AuditContext(actor="alice", purpose="復元")
    request_id = restores.request(live, CODE, info.path, reason="誤った一括異動の取消し",
                                  ctx=alice)
    with pytest.raises(Conflict) as alone:
        restores.approve(live, request_id, ctx=alice)
    assert alone.value.field == "approved_by"
    with pytest.raises(Conflict):
        restores.run(live, request_id, key_dir=keys, ctx=alice)  # not approved: nothing runs
    assert _count(live, resident_versions) == 6
    bob = dataclasses.replace(alice, actor="bob")
    restores.approve(live, request_id, ctx=bob)
    result = restores.run(live, request_id, key_dir=keys, ctx=bob)
    assert result.written, result.problems
    assert _count(live, resident_versions) == 3
    assert get_tenant(live, CODE).state == TenantState.LIVE
    actions = [(e["actor"], e["action"]) for e in audit.entries(live, CODE, limit=200)]
    trail = [a for a in actions if a[1].startswith("backup.restore")]
    assert sorted(trail) == [("alice", "backup.restore_requested"),
                             ("bob", "backup.restore_approved"), ("bob", "backup.restored")]
    assert audit.verify(live, CODE).ok


def test_a_manifest_names_only_files_of_the_upload(db: Database, yonezawa: Tenant,
                                                   tmp_path: Path) -> None:
    files = tmp_path / "in"
    files.mkdir()
    (files / "manifest.json").write_text(
        '{"lg_code": "062022", "files": [{"file": "../../secret.csv", "layout": "atena",'
        ' "version": "1.0", "sha256": "0"}]}', encoding="utf-8")
    result = import_tenant(db, CODE, files, dry_run=True)
    assert [(p.file, p.column) for p in result.problems] == [("manifest.json", "file")]


def test_a_restore_that_breaks_leaves_the_member_live_not_open(live: Database,
                                                                tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    info = backup.run(live, CODE, tmp_path / "b", key_dir=keys, ctx=CTX)
    request_id = restores.request(live, CODE, info.path, reason="訓練",
                                  ctx=AuditContext(actor="alice"))
    restores.approve(live, request_id, ctx=AuditContext(actor="bob"))
    (keys / f"{CODE}.key").write_bytes(b"\0" * 32)  # the key lost: the restore cannot read
    with pytest.raises(backup.BadBackup):
        restores.run(live, request_id, key_dir=keys, ctx=AuditContext(actor="bob"))
    assert get_tenant(live, CODE).state == TenantState.LIVE  # not left "restoring"


def test_a_live_restore_over_http_takes_two_of_its_own_staff(
        live: Database, staff: TestClient, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kumomura.platform.core.config import get_settings
    from kumomura.platform.jobs import queue as jobs

    target, keys = tmp_path / "second-site", tmp_path / "keys"
    monkeypatch.setenv("KUMOMURA_BACKUP_TARGET", str(target))
    monkeypatch.setenv("KUMOMURA_BACKUP_KEY_DIR", str(keys))
    get_settings.cache_clear()
    info = backup.run(live, CODE, target, key_dir=keys, ctx=CTX)
    with live.tenant_tx(CODE) as conn:  # after the backup: undone by the restore
        ch.move_in(conn, CTX, family(address={"town": "丸の内一丁目1番1号"}))
    auth.create_user(live, username="it2", password=PW, display_name="it2",
                     scope=Scope.TENANT, lg_code=CODE, role_names=["municipal_it"])
    it, it2, operator = _bearer(live, "it"), _bearer(live, "it2"), _bearer(live, "operator")
    base = f"/api/v1/t/{CODE}"
    listed = staff.get(f"{base}/backups", headers=it).json()
    assert [b["backup"] for b in listed] == [info.path.name]
    ask = {"backup": info.path.name, "reason": "誤った一括異動の取消し"}
    assert staff.post(f"{base}/restores", json=ask, headers=operator).status_code == 403
    for bad in ("../" + info.path.name, str(info.path)):  # only a name the listing gives
        r = staff.post(f"{base}/restores", json={**ask, "backup": bad}, headers=it)
        assert (r.status_code, r.json()["field"]) == (404, "backup")
    made = staff.post(f"{base}/restores", json=ask, headers=it)
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    alone = staff.post(f"{base}/restores/{request_id}/approve", headers=it)
    assert (alone.status_code, alone.json()["field"]) == (409, "approved_by")
    for outsider in (operator,):
        assert staff.post(f"{base}/restores/{request_id}/approve",
                          headers=outsider).status_code == 403
    assert staff.post(f"{base}/restores/3000000000/approve", headers=it2).status_code == 404
    assert _count(live, resident_versions) == 6  # nothing replaced by one person
    job = staff.post(f"{base}/restores/{request_id}/approve", headers=it2)
    assert job.status_code == 202, job.text
    if live.is_postgres:  # what a worker does with the deferred chunk
        jobs.run_in_process(live, job.json()["id"])
    assert staff.get(f"{base}/jobs/{job.json()['id']}", headers=it2).json()["status"] == "done"
    assert _count(live, resident_versions) == 3
    assert get_tenant(live, CODE).state == TenantState.LIVE
    assert [r["status"] for r in staff.get(f"{base}/restores", headers=it).json()] == ["done"]
    trail = sorted((e["actor"], e["action"]) for e in audit.entries(live, CODE, limit=200)
                   if e["action"].startswith("backup.restore"))
    assert trail == [("it", "backup.restore_requested"), ("it2", "backup.restore_approved"),
                     ("it2", "backup.restored")]


def test_an_upload_waits_for_its_job_encrypted(db: Database, yonezawa: Tenant,
                                               tmp_path: Path) -> None:
    """What an IT lead uploads is personal data: on disk it is kept sealed with the
    municipality's key until the job reads it, and a file over the limit is not kept."""
    import io

    from kumomura.platform.core.errors import InvalidInput
    from kumomura.platform.core.sealed import DamagedFile
    from kumomura.platform.exchange import imports

    content = "atena_no,name\n000000000000019,山田 太郎\n".encode() * 50_000  # 2.3 MB
    target = imports.new_upload(db, CODE)
    key = imports.upload_key(CODE)
    imports.save_upload(target, "atena.csv", io.BytesIO(content), limit=10 << 20, key=key)
    stored = (target / "atena.csv.sealed").read_bytes()
    assert "山田".encode() not in stored
    assert b"atena_no" not in stored
    plain = tmp_path / "plain"
    plain.mkdir()
    imports._unseal_upload(target, key, plain)
    assert (plain / "atena.csv").read_bytes() == content
    with pytest.raises(DamagedFile):  # another municipality's key opens nothing
        imports._unseal_upload(target, imports.upload_key("062090"), tmp_path)
    with pytest.raises(InvalidInput, match="バイトを超える"):
        imports.save_upload(target, "big.csv", io.BytesIO(content), limit=1 << 20, key=key)
    assert not target.exists()  # the whole upload removed, nothing half-stored
