"""Restoring a live municipality: two people, both in the municipality's own log.

One person asks, naming the backup and the reason; a different person approves; the
restore then runs with the municipality in ``restoring`` (the only state besides
onboarding in which an import may replace its tables) and returns it to ``live``. The
request and the approval are written to the municipality's audit log before anything is
replaced, and the log itself is kept: a restore never rolls the audit trail back (the
backup's entries are older than the ones that say it was restored).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, String, Table, Text, insert, select, update

from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.config import backup_keys, get_settings
from kumomura.platform.core.errors import Conflict, InvalidInput, NotFound
from kumomura.platform.core.timeutil import Timestamp, utcnow
from kumomura.platform.exchange.exports import MANIFEST
from kumomura.platform.exchange.imports import AUDIT_LAYOUTS, ImportResult, import_tenant
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.resilience import backup_remote
from kumomura.platform.resilience.backup import (
    BadBackup,
    key_for,
    listing,
    read_header,
    unpack,
)
from kumomura.platform.storage.db import Database, platform_metadata
from kumomura.platform.tenancy.tenants import (
    TenantState,
    begin_restore,
    get_tenant,
    set_state,
)

restore_requests = Table(
    "restore_requests",
    platform_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lg_code", String(6), nullable=False, index=True),
    Column("backup_file", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", Timestamp(), nullable=False),
    Column("approved_by", Text),
    Column("approved_at", Timestamp()),
    Column("status", String(16), nullable=False),  # requested | approved | done | failed
    Column("finished_at", Timestamp()),
)


@dataclass(frozen=True)
class RestoreRequest:
    id: int
    lg_code: str
    backup_file: str
    reason: str
    requested_by: str
    approved_by: str | None
    status: str
    requested_at: datetime

    @property
    def backup_name(self) -> str:
        return Path(self.backup_file).name


def _of(row: Any) -> RestoreRequest:
    return RestoreRequest(**{k: row[k] for k in RestoreRequest.__dataclass_fields__})


def get(db: Database, request_id: int, *, lg_code: str | None = None) -> RestoreRequest:
    """One request; with ``lg_code``, only that municipality's (another's is not found)."""
    with db.platform_tx() as conn:
        row = conn.execute(select(restore_requests).where(
            restore_requests.c.id == request_id)).mappings().first()
    if row is None or (lg_code is not None and row["lg_code"] != lg_code):
        raise NotFound(f"復元の要求 {request_id} はありません", field="request_id")
    return _of(row)


def requests_of(db: Database, lg_code: str) -> list[RestoreRequest]:
    """A municipality's restore requests, newest first."""
    with db.platform_tx() as conn:
        rows = conn.execute(select(restore_requests)
                            .where(restore_requests.c.lg_code == lg_code)
                            .order_by(restore_requests.c.id.desc())).mappings().all()
    return [_of(row) for row in rows]


def request(db: Database, lg_code: str, backup_file: Path, *, reason: str,
            ctx: AuditContext) -> int:
    """Ask for a restore of a municipality from one of its backups (recorded in its log)."""
    get_tenant(db, lg_code)
    header = read_header(backup_file)
    if header.get("lg_code") != lg_code:
        raise BadBackup(f"{header.get('lg_code')} のバックアップは {lg_code} に戻せません",
                        field="lg_code")
    if not reason.strip():
        raise Conflict("復元の理由を書いてください", field="reason")
    with db.platform_tx() as conn:
        request_id = int(conn.execute(insert(restore_requests).values(
            lg_code=lg_code, backup_file=str(backup_file.resolve()), reason=reason.strip(),
            requested_by=ctx.actor, requested_at=utcnow(), status="requested")
            .returning(restore_requests.c.id)).scalar_one())
    with db.tenant_tx(lg_code) as conn:
        audit.record(conn, ctx, "backup.restore_requested", detail={
            "request_id": request_id, "backup": backup_file.name, "reason": reason})
    return request_id


def backup_target() -> str:
    """Where the deployment's backups are (``KUMOMURA_BACKUP_TARGET``); refused by name
    when unset."""
    target = get_settings().backup_target
    if target is None:
        raise InvalidInput("バックアップ先が設定されていません (KUMOMURA_BACKUP_TARGET)",
                           field="backup")
    return target


def request_named(db: Database, lg_code: str, name: str, *, reason: str,
                  ctx: AuditContext) -> int:
    """Ask for a restore from one of the municipality's backups at the backup target,
    named as the listing names it (a file name, never a path: nothing else can be
    pointed at). A backup at a second cluster is fetched into the deployment's own area
    first."""
    target = backup_target()
    found = next((info for info in listing(target, lg_code) if info.path.name == name), None)
    if found is None:
        raise NotFound(f"{lg_code} のバックアップ {name} はありません", field="backup")
    path = found.path
    if backup_remote.is_remote(target):
        into = db.data_dir / "restores" / lg_code
        into.mkdir(parents=True, exist_ok=True)
        path = backup_remote.fetch(str(target), name, into)
    return request(db, lg_code, path, reason=reason, ctx=ctx)


def approve_to_job(db: Database, lg_code: str, request_id: int, *,
                   ctx: AuditContext) -> int:
    """Approve one of the municipality's requests (another's is not found) and submit
    the job that carries it out; the job's number (the caller starts it)."""
    get(db, request_id, lg_code=lg_code)
    approve(db, request_id, ctx=ctx)
    return jobs.submit(db, lg_code, RESTORE_JOB.name, {"request_id": request_id},
                       actor=ctx.actor)


def approve(db: Database, request_id: int, *, ctx: AuditContext) -> RestoreRequest:
    """A second person agrees to a requested restore (recorded in the municipality's log)."""
    found = get(db, request_id)
    if found.status != "requested":
        raise Conflict(f"復元の要求 {request_id} は{found.status}です", field="request_id")
    if ctx.actor == found.requested_by:
        raise Conflict("復元は要求した人とは別の人が承認します", field="approved_by")
    with db.platform_tx() as conn:
        conn.execute(update(restore_requests).where(restore_requests.c.id == request_id)
                     .values(status="approved", approved_by=ctx.actor, approved_at=utcnow()))
    with db.tenant_tx(found.lg_code) as conn:
        audit.record(conn, ctx, "backup.restore_approved", detail={
            "request_id": request_id, "requested_by": found.requested_by,
            "backup": Path(found.backup_file).name})
    return get(db, request_id)


def _keep_the_log(db: Database, lg_code: str, unpacked: Path) -> None:
    """Leave the municipality's own audit trail as it is: the backup's audit files, and
    their lines in its manifest, go before the import sees them."""
    with db.tenant_tx(lg_code) as conn:
        if not audit.has_entries(conn):
            return
    files = {f"{name}.csv" for name in AUDIT_LAYOUTS}
    for name in files:
        (unpacked / name).unlink(missing_ok=True)
    manifest_path = unpacked / MANIFEST
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["files"] = [e for e in manifest["files"] if e.get("file") not in files]
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def run(db: Database, request_id: int, *, key_dir: Path, ctx: AuditContext,
        report_dir: Path | None = None) -> ImportResult:
    """Carry out an approved restore: ``restoring``, the import (one transaction; the
    audit trail kept), then ``live`` again, the outcome in the municipality's log."""
    found = get(db, request_id)
    if found.status != "approved":
        raise Conflict(f"復元の要求 {request_id} は承認されていません ({found.status})",
                       field="request_id")
    tenant = get_tenant(db, found.lg_code)
    restoring = tenant.state != TenantState.ONBOARDING
    if restoring:
        begin_restore(db, found.lg_code, actor=ctx.actor,
                      reason=f"復元の要求 {request_id} (承認 {found.approved_by})")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            unpacked = Path(tmp)
            unpack(Path(found.backup_file), key_for(key_dir, found.lg_code), unpacked)
            _keep_the_log(db, found.lg_code, unpacked)
            result = import_tenant(db, found.lg_code, unpacked,
                                   report_dir=report_dir or unpacked)
    finally:  # never left open to replacement: back to live whatever happened
        if restoring:
            set_state(db, found.lg_code, TenantState.LIVE, actor=ctx.actor,
                      reason=f"復元の要求 {request_id} の終了")
    with db.platform_tx() as conn:
        conn.execute(update(restore_requests).where(restore_requests.c.id == request_id)
                     .values(status="done" if result.written else "failed",
                             finished_at=utcnow()))
    with db.tenant_tx(found.lg_code) as conn:
        audit.record(conn, ctx, "backup.restored" if result.written else "backup.restore_failed",
                     detail={"request_id": request_id, "rows": sum(result.rows.values()),
                             "problems": len(result.problems)})
    return result


def _restore_job(db: Database, lg_code: str, params: dict[str, Any]) -> dict[str, Any]:
    """The approved restore, run by a worker: the approver acts, the log says so."""
    found = get(db, int(params["request_id"]), lg_code=lg_code)
    if found.status == "done":  # run again after a crash between the restore and its mark
        return {"written": True, "request_id": found.id}
    result = run(db, found.id, key_dir=backup_keys(get_settings()),
                 ctx=AuditContext(actor=found.approved_by or "", purpose="復元の承認",
                                  request_id=f"restore-{found.id}"))
    if not result.written:
        raise InvalidInput(f"復元できませんでした: {result.summary()}", field="backup")
    return {"written": True, "rows": sum(result.rows.values()), "request_id": found.id}


RESTORE_JOB = jobs.JobKind(
    name="platform.restore", title="バックアップからの復元 (二人の承認済み)",
    module=PLATFORM_MODULE, plan=lambda _conn, _params: 1, run_alone=_restore_job)
"""Started only by an approval (no request model: not through the generic jobs API)."""
