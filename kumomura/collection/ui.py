"""The counter's page for 収納: a person's account over every levy (what is charged,
paid, still owed and the 延滞金 to today), found by 宛名番号."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kumomura.collection import certificate, plans, service, slips, write_offs
from kumomura.collection.params import MODULE
from kumomura.platform.http.deps import DbDep
from kumomura.platform.http.pages import PagePrincipal, form_fields, page_audit, render
from kumomura.platform.identity.auth import Permission, require_tenant
from kumomura.platform.tenancy.tenants import get_tenant
from kumomura.residents import public as residents

ui = APIRouter(prefix="/t/{lg_code}/collection", include_in_schema=False)
PLAN_STATES = {"active": "履行中", "breached": "不履行", "completed": "完了", "cancelled": "取消"}



@ui.get("", response_model=None)
def find(request: Request, lg_code: str, principal: PagePrincipal,
         atena_no: Annotated[str, Query(max_length=15)] = "") -> Response:
    """The 宛名番号 to look up (from the resident's page or typed at the counter)."""
    require_tenant(principal, lg_code, MODULE, Permission.VIEW)
    if atena_no.strip():
        return RedirectResponse(f"/t/{lg_code}/collection/{atena_no.strip()}", status_code=303)
    return render(request, "collection/find.html", lg_code=lg_code)


@ui.get("/{atena_no}", response_class=HTMLResponse)
def account_page(request: Request, lg_code: str, atena_no: str, db: DbDep,
                 principal: PagePrincipal) -> HTMLResponse:
    """Every charge the person pays, with the 延滞金 to today; the look is audited."""
    require_tenant(principal, lg_code, MODULE, Permission.VIEW)
    today = date.today()
    with db.tenant_tx(lg_code) as conn:
        person = residents.current(conn, atena_no[:15])
        found = service.account(conn, page_audit(request, principal, "納付状況の確認"),
                                atena_no[:15], today)
        payer = ("person", atena_no[:15])
        promised = plans.plans_of(conn, payer, today)
        stayed = write_offs.stays_of(conn, payer)
    return render(request, "collection/account.html", lg_code=lg_code, person=person,
                  account=found, levies=service.LEVY_NAMES, today=today, plans=promised,
                  stays=stayed, plan_states=PLAN_STATES,
                  can_issue=principal.can(MODULE, Permission.ISSUE))


@ui.get("/{atena_no}/slip.pdf", response_class=Response)
def slip(request: Request, lg_code: str, atena_no: str, db: DbDep, principal: PagePrincipal,
         year: Annotated[int | None, Query(ge=1989, le=2200)] = None) -> Response:
    """The person's 納付書 of a year (by default the latest), for what is still owed."""
    require_tenant(principal, lg_code, MODULE, Permission.ISSUE)
    tenant = get_tenant(db, lg_code)
    with db.tenant_tx(lg_code) as conn:
        pdf = slips.issue(conn, page_audit(request, principal, "納付書の発行"), atena_no[:15],
                          year, date.today(), municipality=tenant.name,
                          prefecture=tenant.prefecture)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="slip-{atena_no[:15]}.pdf"'})


@ui.post("/{atena_no}/certificate", response_model=None)
async def paid_in_full(request: Request, lg_code: str, atena_no: str, db: DbDep,
                       principal: PagePrincipal) -> Response:
    """納税証明書 (完納証明) at the counter, with the purpose the applicant gives."""
    require_tenant(principal, lg_code, MODULE, Permission.ISSUE)
    purpose = (await form_fields(request)).get("purpose", "")[:200]
    tenant = get_tenant(db, lg_code)
    with db.tenant_tx(lg_code) as conn:
        pdf = certificate.paid_in_full(
            conn, page_audit(request, principal, purpose or "納税証明"), atena_no[:15],
            date.today(), purpose=purpose, municipality=tenant.name,
            prefecture=tenant.prefecture)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="nozei-{atena_no[:15]}.pdf"'})
