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

from sqlalchemy import Column, Integer, String, Table, Text, insert, select, update

from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import Conflict, NotFound
from kumomura.platform.core.timeutil import Timestamp, utcnow
from kumomura.platform.exchange.exports import MANIFEST
from kumomura.platform.exchange.imports import AUDIT_LAYOUTS, ImportResult, import_tenant
from kumomura.platform.resilience.backup import BadBackup, key_for, read_header, unpack
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


def _get(db: Database, request_id: int) -> RestoreRequest:
    with db.platform_tx() as conn:
        row = conn.execute(select(restore_requests).where(
            restore_requests.c.id == request_id)).mappings().first()
    if row is None:
        raise NotFound(f"復元の要求 {request_id} はありません", field="request_id")
    return RestoreRequest(**{k: row[k] for k in RestoreRequest.__dataclass_fields__})


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


def approve(db: Database, request_id: int, *, ctx: AuditContext) -> RestoreRequest:
    """A second person agrees to a requested restore (recorded in the municipality's log)."""
    found = _get(db, request_id)
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
    return _get(db, request_id)


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
    found = _get(db, request_id)
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
