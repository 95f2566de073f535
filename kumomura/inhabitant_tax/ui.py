"""The tax office's pages (個人住民税): a person's income, assessment with its history,
correction and notice; the annual assessment and the bulk notices as jobs; a simulator."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from kumomura.inhabitant_tax import batch, income_data, notices, service
from kumomura.inhabitant_tax.models import Case, IncomeReturnIn
from kumomura.inhabitant_tax.params import MODULE
from kumomura.platform.core.errors import KumomuraError, NotFound
from kumomura.platform.http.deps import DbDep, RowId, YearQuery
from kumomura.platform.http.jobs import start_job
from kumomura.platform.http.pages import (
    PagePrincipal,
    blank_to_none,
    field_errors,
    form_fields,
    page_audit,
    redirect_with_notice,
    render,
)
from kumomura.platform.identity.auth import Permission, Principal, require_tenant
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.params import fiscal_year
from kumomura.residents import public as residents

ui = APIRouter(prefix="/t/{lg_code}/tax", include_in_schema=False)


def _gate(principal: Principal, lg_code: str, permission: Permission) -> None:
    require_tenant(principal, lg_code, MODULE, permission)


def _this_year() -> int:
    return fiscal_year(date.today())


@ui.get("", response_class=HTMLResponse)
def overview(request: Request, lg_code: str, db: DbDep, principal: PagePrincipal,
             year: YearQuery | None = None) -> HTMLResponse:
    _gate(principal, lg_code, Permission.VIEW)
    year = year or _this_year()
    with db.tenant_tx(lg_code) as conn:
        count = service.count_current(conn, year)
        tenant = service.tenant_parameters(conn, year)
    return render(request, "tax/overview.html", lg_code=lg_code, year=year, count=count,
                  tenant=tenant, can_admin=principal.can(MODULE, Permission.ADMIN))


@ui.post("/assess", response_model=None)
def assess(request: Request, lg_code: str, db: DbDep, principal: PagePrincipal,
           background: BackgroundTasks, year: Annotated[int, Form()]) -> Response:
    """当初課税 as a job; the browser follows its progress on the job's page."""
    _gate(principal, lg_code, Permission.ADMIN)
    job_id = batch.start(db, lg_code, year, actor=principal.username)
    start_job(db, job_id, background)
    return RedirectResponse(f"/t/{lg_code}/jobs/{job_id}", status_code=303)


@ui.post("/notices", response_model=None)
def bulk_notices(request: Request, lg_code: str, db: DbDep, principal: PagePrincipal,
                 background: BackgroundTasks, year: Annotated[int, Form()],
                 issued_on: Annotated[date, Form()]) -> Response:
    _gate(principal, lg_code, Permission.ISSUE)
    job_id = notices.start(db, lg_code, year, actor=principal.username, issued_on=issued_on)
    start_job(db, job_id, background)
    return RedirectResponse(f"/t/{lg_code}/jobs/{job_id}", status_code=303)


def _notice_dir(db: Any, lg_code: str, job_id: int) -> Any:
    job = jobs.get_job(db, job_id, lg_code=lg_code)
    if job.kind != notices.KIND:
        raise NotFound(f"ジョブ {job_id} は通知書の作成ではありません", field="job_id")
    return notices.run_directory({**job.params, "lg_code": lg_code,
                                  "data_dir": str(db.data_dir)})


@ui.get("/notices/{job_id}", response_class=HTMLResponse)
def notice_files(request: Request, lg_code: str, job_id: RowId, db: DbDep,
                 principal: PagePrincipal) -> HTMLResponse:
    _gate(principal, lg_code, Permission.ISSUE)
    directory = _notice_dir(db, lg_code, job_id)
    files = sorted(p.name for p in directory.glob("*") if p.suffix in (".pdf", ".csv"))
    return render(request, "tax/notice_files.html", lg_code=lg_code, job_id=job_id,
                  files=files)


@ui.get("/notices/{job_id}/{name}", response_class=FileResponse)
def notice_file(request: Request, lg_code: str, job_id: RowId, name: str, db: DbDep,
                principal: PagePrincipal) -> FileResponse:
    _gate(principal, lg_code, Permission.ISSUE)
    path = _notice_dir(db, lg_code, job_id) / name
    if path.name != name or path.suffix not in (".pdf", ".csv") or not path.is_file():
        raise NotFound(f"{name} はありません", field="name")
    notices.audit_file_read(db, lg_code, page_audit(request, principal, "通知書の確認"),
                            job_id, path)
    media = "application/pdf" if path.suffix == ".pdf" else "text/csv; charset=utf-8"
    return FileResponse(path, media_type=media, filename=name, content_disposition_type="inline")


@ui.get("/jobs/{job_id}/problems", response_class=HTMLResponse)
def problems(request: Request, lg_code: str, job_id: RowId, db: DbDep,
             principal: PagePrincipal) -> HTMLResponse:
    _gate(principal, lg_code, Permission.VIEW)
    jobs.get_job(db, job_id, lg_code=lg_code)
    with db.tenant_tx(lg_code) as conn:
        rows = batch.problem_rows(conn, job_id, page_audit(request, principal, "課税エラーの確認"))
    return render(request, "tax/problems.html", lg_code=lg_code, job_id=job_id, rows=rows)


SIMULATE_FIELDS = ("birth_date", "salary_revenue", "pension_revenue", "other_income",
                   "social_insurance", "spouse_income", "dependents")


@ui.get("/simulate", response_class=HTMLResponse)
def simulate_form(request: Request, lg_code: str, principal: PagePrincipal) -> HTMLResponse:
    _gate(principal, lg_code, Permission.VIEW)
    return render(request, "tax/simulate.html", lg_code=lg_code, v={
        "fiscal_year": str(_this_year()), "birth_date": "1980-04-01",
        "salary_revenue": "5000000", "pension_revenue": "0", "other_income": "0",
        "social_insurance": "750000", "spouse_income": "", "dependents": "",
        "donation_furusato": "0"},
        errors={}, out=None)


def _case(v: dict[str, str], year: int) -> dict[str, Any]:
    nobody = {"salary_revenue": 0, "pension_revenue": 0, "other_income": 0}
    ages = [a.strip() for a in v.get("dependents", "").replace("、", ",").split(",")
            if a.strip()]
    return {
        "fiscal_year": v.get("fiscal_year") or None,
        "taxpayer": blank_to_none({k: v.get(k, "") for k in (
            "birth_date", "salary_revenue", "pension_revenue", "other_income")})
        | {"dividend_income": v.get("dividend_income") or 0},
        "deductions": {"social_insurance": v.get("social_insurance") or 0,
                       "donations": {"furusato": v.get("donation_furusato") or 0,
                                     "one_stop": v.get("donation_one_stop") == "true"},
                       "housing_loan": {"available": v.get("housing_loan_available") or 0,
                                        "used": v.get("housing_loan_used") or 0}},
        "spouse": None if v.get("spouse_income", "") == "" else {
            "birth_date": f"{year - 41}-06-01", **nobody,
            "salary_revenue": v["spouse_income"]},
        "dependents": [{"birth_date": f"{year - 1 - int(a)}-06-01", **nobody}
                       if a.isdigit() else {"birth_date": a, **nobody} for a in ages]}


@ui.post("/simulate", response_class=HTMLResponse)
async def simulate(request: Request, lg_code: str, db: DbDep,
                   principal: PagePrincipal) -> HTMLResponse:
    """試算: the whole calculation for the figures typed in; nothing is stored."""
    _gate(principal, lg_code, Permission.VIEW)
    v = await form_fields(request)
    year = int(v["fiscal_year"]) if v.get("fiscal_year", "").isdigit() else _this_year()
    try:
        case = Case.model_validate(_case(v, year))
        with db.tenant_tx(lg_code) as conn:
            out = service.simulate(conn, case)
    except (ValidationError, KumomuraError) as exc:
        renamed = {"donations.furusato": "donation_furusato",
                   "housing_loan.available": "housing_loan_available",
                   "housing_loan.used": "housing_loan_used", "housing_loan": "housing_loan_used"}
        errors = {}
        for key, message in field_errors(exc).items():
            key = key.removeprefix("taxpayer.").removeprefix("deductions.")
            errors[renamed.get(key, key)] = message
        return render(request, "tax/simulate.html", status_code=422, lg_code=lg_code, v=v,
                      errors=errors, out=None)
    return render(request, "tax/simulate.html", lg_code=lg_code, v=v, errors={}, out=out)


@ui.get("/{atena_no}", response_class=HTMLResponse)
def person(request: Request, lg_code: str, atena_no: str, db: DbDep,
           principal: PagePrincipal, year: YearQuery | None = None) -> HTMLResponse:
    _gate(principal, lg_code, Permission.VIEW)
    year = year or _this_year()
    ctx = page_audit(request, principal, "個人住民税の照会")
    with db.tenant_tx(lg_code) as conn:
        who = residents.addressee(conn, ctx, atena_no)
        try:
            income = income_data.get_return(conn, ctx, atena_no, year - 1)
        except NotFound:
            income = None
        try:
            versions = service.history(conn, ctx, atena_no, year)
        except NotFound:
            versions = []
    return render(request, "tax/person.html", lg_code=lg_code, who=who, year=year,
                  income=income, versions=versions,
                  current=next((v for v in versions if v["current"]), None),
                  can_admin=principal.can(MODULE, Permission.ADMIN),
                  can_issue=principal.can(MODULE, Permission.ISSUE))


RETURN_FIELDS = ("salary_revenue", "pension_revenue", "other_income", "dividend_income",
                 "social_insurance",
                 "life_new_general", "life_old_general", "life_care_medical",
                 "earthquake_insurance", "medical_expenses", "donation_furusato",
                 "housing_loan_available", "housing_loan_used", "donation_both",
                 "donation_municipal_only", "donation_prefectural_only")


def _return_request(atena_no: str, year: int, v: dict[str, str]) -> dict[str, Any]:
    """申告 from the form: the person's incomes, payments, status and family."""
    amount = {k: (v.get(k) or "0") for k in RETURN_FIELDS}
    nobody = {"salary_revenue": 0, "pension_revenue": 0, "other_income": 0}
    dependents = [d.strip() for d in v.get("dependents", "").replace("、", ",").split(",")
                  if d.strip()]
    return {
        "atena_no": atena_no, "income_year": year - 1, "source": "declaration",
        "employer_no": v.get("employer_no") or None, "employer_name":
        v.get("employer_name") or None,
        "taxpayer": {"birth_date": v.get("birth_date") or None,
                     "salary_revenue": amount["salary_revenue"],
                     "pension_revenue": amount["pension_revenue"],
                     "other_income": amount["other_income"],
                     "dividend_income": amount["dividend_income"],
                     "disability": v.get("disability") or None,
                     "widow": v.get("widow") == "true",
                     "single_parent": v.get("single_parent") or None,
                     "working_student": v.get("working_student") == "true"},
        "deductions": {"social_insurance": amount["social_insurance"],
                       "earthquake_insurance": amount["earthquake_insurance"],
                       "medical_expenses": amount["medical_expenses"],
                       "donations": {"furusato": amount["donation_furusato"],
                                     "one_stop": v.get("donation_one_stop") == "true",
                                     "both": amount["donation_both"],
                                     "municipal_only": amount["donation_municipal_only"],
                                     "prefectural_only": amount["donation_prefectural_only"]},
                       "housing_loan": {
                           "available": amount["housing_loan_available"],
                           "used": amount["housing_loan_used"],
                           "specified": v.get("housing_loan_specified") == "true",
                           "income_tax_base": v.get("income_tax_base") or None},
                       "life_insurance": {"new_general": amount["life_new_general"],
                                          "old_general": amount["life_old_general"],
                                          "care_medical": amount["life_care_medical"]}},
        "spouse": None if not v.get("spouse_birth_date") else {
            **nobody, "birth_date": v["spouse_birth_date"],
            "salary_revenue": v.get("spouse_salary") or "0"},
        "dependents": [{**nobody, "birth_date": d, "living_together": True}
                       for d in dependents]}


def _return_errors(exc: Exception) -> dict[str, str]:
    """Messages under the form's own input names."""
    renamed = {"taxpayer.": "", "deductions.life_insurance.new_general": "life_new_general",
               "deductions.life_insurance.old_general": "life_old_general",
               "deductions.life_insurance.care_medical": "life_care_medical",
               "deductions.donations.furusato": "donation_furusato",
               "deductions.donations.both": "donation_both",
               "deductions.donations.municipal_only": "donation_municipal_only",
               "deductions.donations.prefectural_only": "donation_prefectural_only",
               "deductions.donations": "donation_furusato",
               "deductions.housing_loan.available": "housing_loan_available",
               "deductions.housing_loan.used": "housing_loan_used",
               "deductions.housing_loan.income_tax_base": "income_tax_base",
               "deductions.housing_loan": "housing_loan_used",
               "deductions.": "", "spouse.birth_date": "spouse_birth_date",
               "spouse.salary_revenue": "spouse_salary"}
    errors = {}
    for key, message in field_errors(exc).items():
        for old, new in renamed.items():
            if key.startswith(old):
                key = new or key.removeprefix(old)
                break
        if key.startswith("dependents."):
            key = "dependents"
        errors[key] = message
    return errors


@ui.get("/{atena_no}/return", response_class=HTMLResponse)
def return_form(request: Request, lg_code: str, atena_no: str, db: DbDep,
                principal: PagePrincipal, year: YearQuery | None = None) -> HTMLResponse:
    """申告の受付: the person's income data for the year before a fiscal year."""
    _gate(principal, lg_code, Permission.EDIT)
    year = year or _this_year()
    with db.tenant_tx(lg_code) as conn:
        who = residents.addressee(conn, page_audit(request, principal, "申告の受付"),
                                  atena_no)
    birth = who.get("birth_date")
    return render(request, "tax/return.html", lg_code=lg_code, who=who, year=year,
                  v={"birth_date": birth.isoformat() if birth else ""}, errors={})


@ui.post("/{atena_no}/return", response_model=None)
async def record_return(request: Request, lg_code: str, atena_no: str, db: DbDep,
                        principal: PagePrincipal) -> Response:
    _gate(principal, lg_code, Permission.EDIT)
    v = await form_fields(request)
    year = int(v["year"]) if v.get("year", "").isdigit() else _this_year()
    ctx = page_audit(request, principal, "申告の受付")
    try:
        data = IncomeReturnIn.model_validate(_return_request(atena_no, year, v))
        with db.tenant_tx(lg_code) as conn:
            income_data.record_return(conn, ctx, data)
    except (ValidationError, KumomuraError) as exc:
        with db.tenant_tx(lg_code) as conn:
            who = residents.addressee(conn, ctx, atena_no)
        return render(request, "tax/return.html", status_code=422, lg_code=lg_code,
                      who=who, year=year, v=v, errors=_return_errors(exc))
    return redirect_with_notice(f"/t/{lg_code}/tax/{atena_no}?year={year}",
                                f"{year - 1}年分の課税資料を受け付けました")


@ui.post("/{atena_no}/correction", response_model=None)
def correction(request: Request, lg_code: str, atena_no: str, db: DbDep,
               principal: PagePrincipal, year: Annotated[int, Form()],
               note: Annotated[str, Form()] = "") -> Response:
    """更正 from the return as it now stands."""
    _gate(principal, lg_code, Permission.ADMIN)
    try:
        with db.tenant_tx(lg_code) as conn:
            result = service.correct(conn, page_audit(request, principal, "更正"), atena_no,
                                     year, note)
        if not result["changed"]:
            message = "課税資料から計算し直しましたが、変更はありません"
        elif result["total_before"] is None:  # no assessment yet: assessed now
            message = (f"第{result['version']}版に更正しました (新たに賦課、年税額 "
                       f"{result['total_after']:,}円)")
        else:
            message = (f"第{result['version']}版に更正しました (年税額 "
                       f"{result['total_before']:,}円 → {result['total_after']:,}円)")
    except KumomuraError as exc:
        message = f"更正できません: {exc.message}"
    return redirect_with_notice(f"/t/{lg_code}/tax/{atena_no}?year={year}", message)


@ui.get("/{atena_no}/notice.pdf", response_model=None)
def notice(request: Request, lg_code: str, atena_no: str, db: DbDep,
           principal: PagePrincipal, year: YearQuery) -> Response:
    """The person's 納税通知書 (再発行), shown in the browser."""
    _gate(principal, lg_code, Permission.ISSUE)
    pdf = notices.single(db, lg_code, page_audit(request, principal, "納税通知書の再発行"),
                         atena_no, year, date.today())
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="notice-{year}-{atena_no}.pdf"'})
