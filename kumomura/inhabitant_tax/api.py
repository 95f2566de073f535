"""JSON API of the inhabitant tax under ``/api/v1/t/{lg_code}/inhabitant-tax``.

Thin over the service: each route checks the caller's permission on this module (another
municipality's caller gets 404), opens one tenant transaction and calls one use case.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from kumomura.inhabitant_tax import batch, income_data, notices, service
from kumomura.inhabitant_tax.models import Case, IncomeReturnIn
from kumomura.inhabitant_tax.params import MODULE
from kumomura.platform import audit
from kumomura.platform.core.errors import NotFound
from kumomura.platform.http.deps import AuditDep, DbDep, FiscalYear, PrincipalDep, RowId
from kumomura.platform.http.jobs import job_json, start_job
from kumomura.platform.identity.auth import Permission, require_tenant
from kumomura.platform.jobs import queue as jobs

router = APIRouter(prefix="/api/v1/t/{lg_code}/inhabitant-tax", tags=["inhabitant_tax"])


class CorrectionIn(BaseModel):
    note: str = Field(min_length=1, max_length=500, description="更正の理由")


class RunIn(BaseModel):
    chunk_size: int = Field(batch.DEFAULT_CHUNK, ge=100, le=1_000_000)


class NoticesIn(BaseModel):
    issued_on: date = Field(description="発行日")
    per_file: int = Field(notices.PER_FILE, ge=1, le=100_000)


@router.post("/simulate")
def simulate(lg_code: str, case: Case, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    """The whole calculation of one case under this municipality's parameters; what-if
    changes go in ``parameters``. Nothing is stored."""
    require_tenant(principal, lg_code, MODULE, Permission.VIEW)
    with db.tenant_tx(lg_code) as conn:
        return service.simulate(conn, case)


@router.post("/returns", status_code=201)
def record_return(lg_code: str, body: IncomeReturnIn, db: DbDep, principal: PrincipalDep,
                  ctx: AuditDep) -> dict[str, Any]:
    """Store or replace a person's 課税資料 for an income year."""
    require_tenant(principal, lg_code, MODULE, Permission.EDIT)
    with db.tenant_tx(lg_code) as conn:
        return {"return_id": income_data.record_return(conn, ctx, body)}


@router.get("/returns/{atena_no}/{income_year}")
def get_return(lg_code: str, atena_no: str, income_year: FiscalYear, db: DbDep,
               principal: PrincipalDep, ctx: AuditDep) -> dict[str, Any]:
    require_tenant(principal, lg_code, MODULE, Permission.VIEW)
    with db.tenant_tx(lg_code) as conn:
        return income_data.get_return(conn, ctx, atena_no, income_year)


@router.post("/assessments/{fiscal_year}/run", status_code=202)
def run_assessment(lg_code: str, fiscal_year: FiscalYear, body: RunIn, db: DbDep,
                   principal: PrincipalDep, ctx: AuditDep,
                   background: BackgroundTasks) -> dict[str, Any]:
    """Start the annual assessment (当初課税) of a fiscal year; follow it at .../jobs/{id}."""
    require_tenant(principal, lg_code, MODULE, Permission.ADMIN)
    job_id = batch.start(db, lg_code, fiscal_year, actor=principal.username,
                         chunk_size=body.chunk_size)
    with db.tenant_tx(lg_code) as conn:
        audit.record(conn, ctx, "inhabitant_tax.assessment_started",
                     detail={"job_id": job_id, "fiscal_year": fiscal_year})
    start_job(db, job_id, background)
    return job_json(jobs.get_job(db, job_id))


@router.get("/jobs/{job_id}/problems")
def problems(lg_code: str, job_id: RowId, db: DbDep, principal: PrincipalDep,
             ctx: AuditDep) -> list[dict[str, Any]]:
    """The returns an assessment job could not assess, with the reason."""
    require_tenant(principal, lg_code, MODULE, Permission.VIEW)
    jobs.get_job(db, job_id, lg_code=lg_code)
    with db.tenant_tx(lg_code) as conn:
        return batch.problem_rows(conn, job_id, ctx)


@router.get("/assessments/{fiscal_year}/{atena_no}")
def assessment(lg_code: str, fiscal_year: FiscalYear, atena_no: str, db: DbDep,
               principal: PrincipalDep, ctx: AuditDep, history: bool = False) -> Any:
    """The assessment in force; with ``history=true`` every version, oldest first."""
    require_tenant(principal, lg_code, MODULE, Permission.VIEW)
    with db.tenant_tx(lg_code) as conn:
        if history:
            return service.history(conn, ctx, atena_no, fiscal_year)
        return service.current(conn, ctx, atena_no, fiscal_year)


@router.post("/assessments/{fiscal_year}/{atena_no}/correction")
def correct(lg_code: str, fiscal_year: FiscalYear, atena_no: str, body: CorrectionIn, db: DbDep,
            principal: PrincipalDep, ctx: AuditDep) -> dict[str, Any]:
    """更正: recompute from the return as it now stands; the old version stays."""
    require_tenant(principal, lg_code, MODULE, Permission.ADMIN)
    with db.tenant_tx(lg_code) as conn:
        return service.correct(conn, ctx, atena_no, fiscal_year, body.note)


@router.post("/notices/{fiscal_year}/run", status_code=202)
def run_notices(lg_code: str, fiscal_year: FiscalYear, body: NoticesIn, db: DbDep,
                principal: PrincipalDep, ctx: AuditDep,
                background: BackgroundTasks) -> dict[str, Any]:
    """Start the bulk notices of a fiscal year; the files are listed at
    .../notices/jobs/{id}/files when the job is done."""
    require_tenant(principal, lg_code, MODULE, Permission.ISSUE)
    job_id = notices.start(db, lg_code, fiscal_year, actor=principal.username,
                           issued_on=body.issued_on, per_file=body.per_file)
    with db.tenant_tx(lg_code) as conn:
        audit.record(conn, ctx, "inhabitant_tax.notices_started",
                     detail={"job_id": job_id, "fiscal_year": fiscal_year})
    start_job(db, job_id, background)
    return job_json(jobs.get_job(db, job_id))


def _run_dir(db: Any, lg_code: str, job_id: int) -> Path:
    job = jobs.get_job(db, job_id, lg_code=lg_code)
    if job.kind != notices.KIND:
        raise NotFound(f"job {job_id} is not a notices job", field="job_id")
    return notices.run_directory({**job.params, "lg_code": lg_code,
                                  "data_dir": str(db.data_dir)})


@router.get("/notices/jobs/{job_id}/files")
def notice_files(lg_code: str, job_id: RowId, db: DbDep,
                 principal: PrincipalDep) -> list[str]:
    """The run's PDF files and index.csv (what is written so far)."""
    require_tenant(principal, lg_code, MODULE, Permission.ISSUE)
    directory = _run_dir(db, lg_code, job_id)
    return sorted(p.name for p in directory.glob("*") if p.suffix in (".pdf", ".csv"))


@router.get("/notices/jobs/{job_id}/files/{name}", response_class=FileResponse)
def notice_file(lg_code: str, job_id: RowId, name: str, db: DbDep,
                principal: PrincipalDep, ctx: AuditDep) -> FileResponse:
    """One file of the run (audited: the files hold personal data)."""
    require_tenant(principal, lg_code, MODULE, Permission.ISSUE)
    directory = _run_dir(db, lg_code, job_id)
    path = directory / Path(name).name
    if path.name != name or path.suffix not in (".pdf", ".csv") or not path.is_file():
        raise NotFound(f"{name} is not a file of job {job_id}", field="name")
    notices.audit_file_read(db, lg_code, ctx, job_id, path)
    media = "application/pdf" if path.suffix == ".pdf" else "text/csv; charset=utf-8"
    return FileResponse(path, media_type=media, filename=name)
