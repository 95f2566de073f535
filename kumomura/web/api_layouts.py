"""Data migration over HTTP: upload standard-layout files, check or load them as a job,
and fetch the report (municipal IT of the municipality)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, UploadFile
from fastapi.responses import FileResponse

from kumomura.platform import audit
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.config import get_settings
from kumomura.platform.exchange.imports import (
    IMPORT_JOB,
    new_upload,
    report_of,
    save_upload,
    upload_key,
)
from kumomura.platform.http.deps import AuditDep, DbDep, PrincipalDep, RowId
from kumomura.platform.http.jobs import job_json, start_job
from kumomura.platform.identity.auth import Permission, require_tenant
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.tenancy.tenants import get_tenant

router = APIRouter(prefix="/api/v1/t/{lg_code}/imports", tags=["migration"])


@router.post("", status_code=202)
def upload(lg_code: str, db: DbDep, principal: PrincipalDep,
           background: BackgroundTasks, files: Annotated[list[UploadFile], File()],
           dry_run: Annotated[bool, Form()] = True,
           quarantine: Annotated[bool, Form()] = False,
           encoding: Annotated[str | None, Form(max_length=20)] = None) -> dict[str, Any]:
    """Upload the files and start the import job (a dry run unless asked otherwise);
    follow it at .../jobs/{id}, then fetch .../imports/{id}/report. The submission is in
    the job's log (the tenant's audit log is among what an import replaces)."""
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    get_tenant(db, lg_code)
    target = new_upload(db, lg_code)
    limit, key = get_settings().upload_max_bytes, upload_key(lg_code)
    for upload_file in files:
        save_upload(target, upload_file.filename or "", upload_file.file, limit=limit,
                    key=key)
    job_id = jobs.submit(db, lg_code, IMPORT_JOB.name, {
        "directory": str(target), "dry_run": dry_run, "quarantine": quarantine,
        "encoding": encoding}, actor=principal.username)
    start_job(db, job_id, background)
    return job_json(jobs.get_job(db, job_id))


@router.get("/{job_id}/report", response_class=FileResponse)
def report(lg_code: str, job_id: RowId, db: DbDep, principal: PrincipalDep,
           ctx: AuditDep) -> FileResponse:
    """The import report (CSV: 区分, ファイル, 行, 項目, 理由); the read is audited (the
    refused rows quote what was in them)."""
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    job = jobs.get_job(db, job_id, lg_code=lg_code)
    with db.tenant_tx(lg_code) as conn:
        audit.record(conn, ctx, "imports.report_read", detail={"job_id": job_id})
    return FileResponse(report_of(db, lg_code, job), media_type="text/csv; charset=utf-8",
                        filename=f"import_report_{job_id}.csv")
