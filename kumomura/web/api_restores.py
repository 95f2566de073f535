"""Restoring a live municipality over HTTP: one of its IT staff asks, naming a backup and
the reason; another approves, and the restore runs as a job (docs/platform.md, *Nobody
alone replaces a municipality's data*). Both steps are the municipality's own staff's:
the operator and the secretariat may look, not restore."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks
from pydantic import BaseModel, ConfigDict, Field

from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.http.deps import AuditDep, DbDep, PrincipalDep, RowId
from kumomura.platform.http.jobs import job_json, start_job
from kumomura.platform.identity.auth import Permission, require_tenant
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.resilience import backup, restores

router = APIRouter(prefix="/api/v1/t/{lg_code}", tags=["backup"])


class RestoreAsk(BaseModel):
    """What the first person gives: which backup (its file name from ``GET .../backups``,
    never a path) and why."""

    model_config = ConfigDict(extra="forbid")
    backup: Annotated[str, Field(min_length=1, max_length=200)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]


def _request_json(found: restores.RestoreRequest) -> dict[str, Any]:
    return {"id": found.id, "backup": found.backup_name, "reason": found.reason,
            "requested_by": found.requested_by, "approved_by": found.approved_by,
            "status": found.status, "requested_at": found.requested_at.isoformat()}


@router.get("/backups")
def list_backups(lg_code: str, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The municipality's backups at the second site, oldest first."""
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.VIEW)
    return [{"backup": info.path.name, "created_at": info.created_at, "size": info.size}
            for info in backup.listing(restores.backup_target(), lg_code)]


@router.get("/restores")
def list_restores(lg_code: str, db: DbDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.VIEW)
    return [_request_json(found) for found in restores.requests_of(db, lg_code)]


@router.post("/restores", status_code=201)
def ask(lg_code: str, body: RestoreAsk, db: DbDep, principal: PrincipalDep,
        ctx: AuditDep) -> dict[str, Any]:
    """Ask for a restore (written to the municipality's log); someone else approves."""
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    request_id = restores.request_named(db, lg_code, body.backup, reason=body.reason,
                                        ctx=ctx)
    return _request_json(restores.get(db, request_id, lg_code=lg_code))


@router.post("/restores/{request_id}/approve", status_code=202)
def approve(lg_code: str, request_id: RowId, db: DbDep, principal: PrincipalDep,
            ctx: AuditDep, background: BackgroundTasks) -> dict[str, Any]:
    """Approve someone else's request (written to the log) and start the restore job;
    follow it at .../jobs/{id}."""
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    job_id = restores.approve_to_job(db, lg_code, request_id, ctx=ctx)
    start_job(db, job_id, background)
    return job_json(jobs.get_job(db, job_id))
