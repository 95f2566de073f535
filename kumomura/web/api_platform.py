"""JSON API of the platform: tenants, parameters, the change feed, jobs, dead letters.

Every tenant-scoped route first asks ``require_tenant``: another municipality's caller
gets 404, as if the tenant did not exist.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Query
from pydantic import BaseModel, Field

from kumomura.platform import audit, events, params
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.errors import NotFound
from kumomura.platform.http.deps import AuditDep, DbDep, PrincipalDep, RowId
from kumomura.platform.http.jobs import job_json, start_job
from kumomura.platform.identity.auth import (
    LINKAGE_MODULE,
    Permission,
    Principal,
    Scope,
    require_platform,
    require_tenant,
)
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant, get_tenant, list_tenants

router = APIRouter(prefix="/api/v1")
log = logging.getLogger(__name__)


def _tenant_json(t: Tenant) -> dict[str, Any]:
    return {"lg_code": t.lg_code, "name": t.name, "prefecture": t.prefecture,
            "population": t.population, "state": t.state, "placement": t.placement,
            "go_live": {b: d.isoformat() for b, d in sorted(t.go_live.items())}}


def _member(db: Database, principal: Principal, lg_code: str, module: str,
            permission: Permission) -> Tenant:
    require_tenant(principal, lg_code, module, permission)
    return get_tenant(db, lg_code)


def params_reader(db: Database, principal: Principal, lg_code: str) -> None:
    """Parameters are no personal data: the tenant's own staff and the secretariat read them."""
    if principal.scope == Scope.TENANT:
        if principal.lg_code != lg_code:
            raise NotFound(f"tenant {lg_code} does not exist", field="lg_code")
    else:
        require_platform(principal, Permission.VIEW)
    get_tenant(db, lg_code)


@router.get("/tenants", tags=["tenants"])
def tenants_index(db: DbDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Member municipalities (secretariat and operator)."""
    require_platform(principal, Permission.VIEW)
    return [_tenant_json(t) for t in list_tenants(db)]


@router.get("/tenants/{lg_code}", tags=["tenants"])
def tenant_detail(lg_code: str, db: DbDep, principal: PrincipalDep) -> dict[str, Any]:
    params_reader(db, principal, lg_code)
    return _tenant_json(get_tenant(db, lg_code))


@router.get("/t/{lg_code}/params/{module}", tags=["parameters"])
def params_show(lg_code: str, module: str, db: DbDep, principal: PrincipalDep,
                on: date | None = None) -> dict[str, Any]:
    """Values in force on a date, with the national defaults beside them."""
    params_reader(db, principal, lg_code)
    day = on or date.today()
    values = params.get(db, lg_code, module, day).model_dump(mode="json")
    national = params.declaration(module).national_for(day).model_dump(mode="json")
    return {"lg_code": lg_code, "module": module, "on": day.isoformat(), "values": values,
            "national": national,
            "departures": sorted(k for k in values if values[k] != national[k])}


@router.get("/t/{lg_code}/params/{module}/history", tags=["parameters"])
def params_history(lg_code: str, module: str, db: DbDep, principal: PrincipalDep,
                   name: str | None = None) -> list[dict[str, Any]]:
    params_reader(db, principal, lg_code)
    return [{"id": c.id, "name": c.name, "effective_from": c.effective_from.isoformat(),
             "value": None if c.is_reset else c.value, "reset": c.is_reset,
             "changed_by": c.changed_by, "changed_at": c.changed_at.isoformat(),
             "reason": c.reason} for c in params.history(db, lg_code, module, name)]


class ParamChange(BaseModel):
    value: Any = Field(description="the new value; null with reset=true returns to national")
    effective_from: date
    reason: str | None = Field(None, max_length=500)
    reset: bool = False


@router.put("/t/{lg_code}/params/{module}/{name}", tags=["parameters"])
def params_set(lg_code: str, module: str, name: str, change: ParamChange, db: DbDep,
               principal: PrincipalDep, ctx: AuditDep) -> dict[str, Any]:
    """Override one value from a date (municipal IT of that municipality)."""
    _member(db, principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    with db.tenant_tx(lg_code) as conn:
        if change.reset:
            params.reset_value(conn, module, name, effective_from=change.effective_from,
                               ctx=ctx, reason=change.reason)
            stored = None
        else:
            stored = params.set_value(conn, module, name, change.value,
                                      effective_from=change.effective_from, ctx=ctx,
                                      reason=change.reason)
    return {"module": module, "name": name, "value": stored,
            "effective_from": change.effective_from.isoformat()}


@router.get("/consortium/params/diff", tags=["parameters"])
def params_diff(db: DbDep, principal: PrincipalDep, on: date | None = None,
                module: str | None = None) -> list[dict[str, Any]]:
    """Every member's departures from the national defaults (secretariat)."""
    require_platform(principal, Permission.VIEW)
    members = [t.lg_code for t in list_tenants(db, include_left=False)]
    return [{"lg_code": d.lg_code, "module": d.module, "name": d.name,
             "national": d.national, "value": d.value}
            for d in params.diff(db, members, on or date.today(), [module] if module else None)]


@router.get("/t/{lg_code}/events", tags=["linkage"])
def events_feed(lg_code: str, db: DbDep, principal: PrincipalDep, ctx: AuditDep,
                after: int = Query(0, ge=0, le=2**63 - 1), limit: int = Query(100, ge=1, le=1000)
                ) -> dict[str, Any]:
    """Change events after an id, oldest first; poll with ``after`` = the last id seen."""
    _member(db, principal, lg_code, LINKAGE_MODULE, Permission.VIEW)
    items = [{"id": e.id, "topic": e.topic, "version": e.version, "payload": e.payload,
              "atena_no": e.atena_no,
              "created_at": e.created_at.isoformat()}
             for e in events.feed(db, lg_code, after=after, limit=limit)]
    with db.tenant_tx(lg_code) as conn:  # the other system read whose changes
        audit.record(conn, ctx, "linkage.feed_read", detail={
            "after": after, "events": len(items),
            "atena_nos": sorted({i["atena_no"] for i in items if i["atena_no"]})})
    return {"events": items, "next_after": items[-1]["id"] if items else after}


def job_reader(db: Database, principal: Principal, lg_code: str) -> None:
    if principal.scope == Scope.OPERATOR:
        require_platform(principal, Permission.VIEW)
        get_tenant(db, lg_code)
    elif principal.lg_code != lg_code:
        raise NotFound(f"tenant {lg_code} does not exist", field="lg_code")


def may_see_job(principal: Principal, job: jobs.Job) -> bool:
    return principal.scope == Scope.OPERATOR or principal.can(
        jobs.kind_of(job.kind).module, Permission.VIEW) or principal.can(
        PLATFORM_MODULE, Permission.ADMIN)


@router.get("/t/{lg_code}/jobs", tags=["jobs"])
def jobs_index(lg_code: str, db: DbDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    job_reader(db, principal, lg_code)
    return [job_json(j) for j in jobs.list_jobs(db, lg_code=lg_code)
            if may_see_job(principal, j)]


@router.get("/t/{lg_code}/jobs/{job_id}", tags=["jobs"])
def jobs_detail(lg_code: str, job_id: RowId, db: DbDep,
                principal: PrincipalDep) -> dict[str, Any]:
    job_reader(db, principal, lg_code)
    job = jobs.get_job(db, job_id, lg_code=lg_code)
    if not may_see_job(principal, job):
        raise NotFound(f"job {job_id} does not exist", field="job_id")
    lines = [{"at": r["at"].isoformat(), "level": r["level"], "message": r["message"]}
             for r in jobs.job_log_lines(db, job_id)]
    return {**job_json(job), "log": lines}


class JobRequest(BaseModel):
    kind: str = Field(max_length=100)
    params: dict[str, Any] = Field(default_factory=dict)


@router.post("/t/{lg_code}/jobs", tags=["jobs"], status_code=202)
def jobs_submit(lg_code: str, body: JobRequest, db: DbDep, principal: PrincipalDep,
                ctx: AuditDep, background: BackgroundTasks) -> dict[str, Any]:
    """Start a job; follow it with GET .../jobs/{id}."""
    kind = jobs.kind_of(body.kind)
    _member(db, principal, lg_code, kind.module, Permission.EDIT)
    job_id = jobs.start_requested(db, lg_code, body.kind, body.params,
                                  actor=principal.username)
    with db.tenant_tx(lg_code) as conn:
        audit.record(conn, ctx, "jobs.submit", detail={"job_id": job_id, "kind": body.kind})
    start_job(db, job_id, background)
    return job_json(jobs.get_job(db, job_id))


@router.get("/t/{lg_code}/dead-letters", tags=["linkage"])
def dead_letters(lg_code: str, db: DbDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Events a subscriber gave up on (municipal IT)."""
    _member(db, principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    return [{"event_id": r["event_id"], "topic": r["topic"], "subscriber": r["subscriber"],
             "attempts": r["attempts"], "last_error": r["last_error"]}
            for r in events.dead_letters(db, lg_code)]


@router.post("/t/{lg_code}/dead-letters/{subscriber}/{event_id}/replay", tags=["linkage"])
def dead_letter_replay(lg_code: str, subscriber: str, event_id: int, db: DbDep,
                       principal: PrincipalDep, ctx: AuditDep) -> dict[str, Any]:
    _member(db, principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    events.replay(db, lg_code, subscriber, event_id)
    with db.tenant_tx(lg_code) as conn:
        audit.record(conn, ctx, "events.replay",
                     detail={"subscriber": subscriber, "event_id": event_id})
    return {"replayed": event_id, "subscriber": subscriber}
