"""Back-office and consortium pages: jobs with live progress, parameters with their
history, data migration uploads with the report, and the secretariat's console."""

from __future__ import annotations

import csv
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from kumomura.platform import audit, params
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.config import get_settings
from kumomura.platform.core.errors import InvalidInput, KumomuraError, NotFound
from kumomura.platform.exchange.imports import (
    IMPORT_JOB,
    new_upload,
    report_of,
    save_upload,
    upload_key,
)
from kumomura.platform.http.deps import DbDep, RowId
from kumomura.platform.http.jobs import start_job
from kumomura.platform.http.pages import (
    PagePrincipal,
    field_errors,
    page_audit,
    redirect_with_notice,
    render,
)
from kumomura.platform.identity.auth import Permission, Scope, require_platform, require_tenant
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.resilience import backup, restores
from kumomura.platform.tenancy.tenants import business_name, list_tenants
from kumomura.web.api_platform import job_reader, may_see_job, params_reader

router = APIRouter(include_in_schema=False)
STATUS = {"queued": "待機中", "running": "実行中", "done": "完了", "failed": "失敗"}


def _job(db: Any, principal: Any, lg_code: str, job_id: int) -> jobs.Job:
    job_reader(db, principal, lg_code)
    job = jobs.get_job(db, job_id, lg_code=lg_code)
    if not may_see_job(principal, job):
        raise NotFound(f"ジョブ {job_id} はありません", field="job_id")
    return job


@router.get("/t/{lg_code}/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, lg_code: str, db: DbDep,
              principal: PagePrincipal) -> HTMLResponse:
    job_reader(db, principal, lg_code)
    rows = [j for j in jobs.list_jobs(db, lg_code=lg_code) if may_see_job(principal, j)]
    return render(request, "jobs.html", lg_code=lg_code, rows=rows, status=STATUS,
                  titles={k.name: k.title for k in jobs.kinds()})


@router.get("/t/{lg_code}/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, lg_code: str, job_id: RowId, db: DbDep,
             principal: PagePrincipal) -> HTMLResponse:
    job = _job(db, principal, lg_code, job_id)
    return render(request, "job.html", lg_code=lg_code, title=jobs.kind_of(job.kind).title,
                  **_progress(db, job))


def _progress(db: Any, job: jobs.Job) -> dict[str, Any]:
    lines = jobs.job_log_lines(db, job.id)[-8:]
    return {"job": job, "status": STATUS, "lines": lines,
            "finished": job.status in (jobs.JobStatus.DONE, jobs.JobStatus.FAILED)}


@router.get("/t/{lg_code}/jobs/{job_id}/progress", response_class=HTMLResponse)
def job_progress(request: Request, lg_code: str, job_id: RowId, db: DbDep,
                 principal: PagePrincipal) -> HTMLResponse:
    """The progress block; htmx polls it every second until the job has finished."""
    job = _job(db, principal, lg_code, job_id)
    return render(request, "job_progress.html", lg_code=lg_code, **_progress(db, job))


@router.get("/t/{lg_code}/params", response_class=HTMLResponse)
def params_page(request: Request, lg_code: str, db: DbDep,
                principal: PagePrincipal) -> HTMLResponse:
    params_reader(db, principal, lg_code)
    today = date.today()
    modules = []
    for module in params.declared_modules():
        decl = params.declaration(module)
        values = params.get(db, lg_code, module, today).model_dump(mode="json")
        national = decl.national_for(today).model_dump(mode="json")
        modules.append({
            "module": module, "title": _title(module),
            "fields": [{"name": n, "label": decl.model.model_fields[n].description or n,
                        "value": values[n], "national": national[n]}
                       for n in decl.field_names()],
            "history": params.history(db, lg_code, module)})
    can_edit = principal.scope == Scope.TENANT and principal.can(PLATFORM_MODULE,
                                                                  Permission.ADMIN)
    return render(request, "params.html", lg_code=lg_code, modules=modules,
                  can_edit=can_edit, errors={}, v={})


def _title(module: str) -> str:
    """A module's Japanese name (a parameter set of no business shows its code)."""
    if module == PLATFORM_MODULE:
        return "共通 (ログイン)"
    try:
        return business_name(module)
    except KeyError:
        return module


@router.post("/t/{lg_code}/params", response_model=None)
def params_change(request: Request, lg_code: str, db: DbDep, principal: PagePrincipal,
                  module: Annotated[str, Form()], name: Annotated[str, Form()],
                  value: Annotated[str, Form()], effective_from: Annotated[str, Form()],
                  reason: Annotated[str, Form()] = "") -> Response:
    """Override one value from a date (情報主管課); a refused value is shown with its rule."""
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    try:
        day = date.fromisoformat(effective_from)
    except ValueError:
        day = None
    try:
        if day is None:
            raise InvalidInput("日付を入力してください", field="effective_from")
        with db.tenant_tx(lg_code) as conn:
            params.set_value(conn, module, name, value, effective_from=day,
                             ctx=page_audit(request, principal, "パラメータ変更"),
                             reason=reason or None)
    except (KumomuraError, ValidationError) as exc:
        message = "変更できません: " + "; ".join(field_errors(exc).values())
    else:
        message = f"{module}.{name} を変更しました"
    return redirect_with_notice(f"/t/{lg_code}/params", message)



@router.get("/t/{lg_code}/imports", response_class=HTMLResponse)
def imports_page(request: Request, lg_code: str, principal: PagePrincipal) -> HTMLResponse:
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    return render(request, "imports.html", lg_code=lg_code)


@router.post("/t/{lg_code}/imports", response_model=None)
async def imports_upload(request: Request, lg_code: str, db: DbDep, principal: PagePrincipal,
                         background: BackgroundTasks) -> Response:
    """Upload the files and start the import job (a dry run unless unticked)."""
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    target = new_upload(db, lg_code)
    limit, key = get_settings().upload_max_bytes, upload_key(lg_code)
    async with request.form() as form:  # the spooled uploads are closed on the way out
        for item in form.getlist("files"):
            if isinstance(item, UploadFile) and item.filename:
                save_upload(target, item.filename, item.file, limit=limit, key=key)
        options = {"dry_run": form.get("dry_run") == "true",
                   "quarantine": form.get("quarantine") == "true"}
    job_id = jobs.submit(db, lg_code, IMPORT_JOB.name, {
        "directory": str(target), **options, "encoding": None}, actor=principal.username)
    start_job(db, job_id, background)
    return RedirectResponse(f"/t/{lg_code}/jobs/{job_id}", status_code=303)


@router.get("/t/{lg_code}/imports/{job_id}/report", response_class=HTMLResponse)
def import_report(request: Request, lg_code: str, job_id: RowId, db: DbDep,
                  principal: PagePrincipal) -> HTMLResponse:
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    job = jobs.get_job(db, job_id, lg_code=lg_code)
    with report_of(db, lg_code, job).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    with db.tenant_tx(lg_code) as conn:  # the refused rows quote what was in them
        audit.record(conn, page_audit(request, principal, "移行結果の確認"),
                     "imports.report_read", detail={"job_id": job_id, "rows": len(rows) - 1})
    return render(request, "import_report.html", lg_code=lg_code, job=job,
                  header=rows[0], rows=rows[1:])


RESTORE_STATUSES = {"requested": "承認待ち", "approved": "承認済み", "done": "完了",
                    "failed": "失敗"}


@router.get("/t/{lg_code}/restores", response_class=HTMLResponse)
def restores_page(request: Request, lg_code: str, db: DbDep,
                  principal: PagePrincipal) -> HTMLResponse:
    """The municipality's backups and restore requests (情報主管課)."""
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    target = get_settings().backup_target
    return render(request, "restores.html", lg_code=lg_code,
                  requests=restores.requests_of(db, lg_code), statuses=RESTORE_STATUSES,
                  backups=backup.listing(target, lg_code) if target else [],
                  no_backups="バックアップ先が設定されていません" if target is None
                  else "この団体のバックアップはまだありません")


def _back_to_restores(lg_code: str, message: str, *, failed: bool) -> RedirectResponse:
    return redirect_with_notice(f"/t/{lg_code}/restores", message, failed=failed)


@router.post("/t/{lg_code}/restores", response_model=None)
def restores_ask(request: Request, lg_code: str, db: DbDep, principal: PagePrincipal,
                 backup_name: Annotated[str, Form(alias="backup", max_length=200)],
                 reason: Annotated[str, Form(max_length=500)]) -> Response:
    """The first person: a backup and the reason."""
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    try:
        request_id = restores.request_named(db, lg_code, backup_name, reason=reason,
                                            ctx=page_audit(request, principal, "復元の要求"))
    except KumomuraError as exc:
        return _back_to_restores(lg_code, f"要求できません: {exc.message}", failed=True)
    return _back_to_restores(lg_code, f"復元の要求 {request_id} を受け付けました。別の担当者が"
                             "承認します", failed=False)


@router.post("/t/{lg_code}/restores/{request_id}/approve", response_model=None)
def restores_approve(request: Request, lg_code: str, request_id: RowId, db: DbDep,
                     principal: PagePrincipal, background: BackgroundTasks) -> Response:
    """The second person: approve and start the restore; its job page shows progress."""
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)
    try:
        job_id = restores.approve_to_job(db, lg_code, request_id,
                                         ctx=page_audit(request, principal, "復元の承認"))
    except KumomuraError as exc:
        return _back_to_restores(lg_code, f"承認できません: {exc.message}", failed=True)
    start_job(db, job_id, background)
    return RedirectResponse(f"/t/{lg_code}/jobs/{job_id}", status_code=303)


@router.get("/console", response_class=HTMLResponse)
def console(request: Request, db: DbDep, principal: PagePrincipal) -> HTMLResponse:
    """Members, their state and each business's go-live on one timeline."""
    require_platform(principal, Permission.VIEW)
    members = list_tenants(db)
    start, end = date(2024, 4, 1), date(2029, 4, 1)
    span = (end - start).days
    businesses = sorted({b for t in members for b in t.go_live})
    rows = []
    for t in members:
        bars = {b: round(100 * max(0, (d - start).days) / span, 1)
                for b, d in t.go_live.items()}
        rows.append({"tenant": t, "bars": bars})
    years = [(y, round(100 * (date(y, 4, 1) - start).days / span, 1))
             for y in range(start.year, end.year)]
    today = round(100 * (date.today() - start).days / span, 1)
    return render(request, "console.html", rows=rows, businesses=businesses, years=years,
                  today_at=today, names={b: business_name(b) for b in businesses},
                  population=sum(t.population for t in members))


@router.get("/console/params", response_class=HTMLResponse)
def console_params(request: Request, db: DbDep, principal: PagePrincipal) -> HTMLResponse:
    """Where members depart from the national defaults, side by side."""
    require_platform(principal, Permission.VIEW)
    members = list_tenants(db, include_left=False)
    found = params.diff(db, [t.lg_code for t in members], date.today())
    keys = sorted({(d.module, d.name) for d in found})
    cells = {(d.lg_code, d.module, d.name): d.value for d in found}
    national = {(d.module, d.name): d.national for d in found}
    return render(request, "console_params.html", members=members, keys=keys, cells=cells,
                  national=national)
