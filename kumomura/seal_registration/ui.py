"""The counter's page for 印鑑登録: a person's registrations, and the three things the
clerk does there (register a seal, abolish it, issue its certificate).

Thin over the service, like the API: each form opens one tenant transaction and calls
one use case; a refused field comes back beside its input and nothing is written.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from kumomura.platform.core.errors import KumomuraError
from kumomura.platform.http.deps import DbDep
from kumomura.platform.http.pages import (
    PagePrincipal,
    blank_to_none,
    field_errors,
    form_fields,
    page_audit,
    redirect_with_notice,
    render,
    text_fields,
)
from kumomura.platform.identity.auth import Permission, require_tenant
from kumomura.platform.tenancy.profile import office_of
from kumomura.residents import public as residents
from kumomura.seal_registration import service
from kumomura.seal_registration.models import (
    MAX_PNG,
    AbolishIn,
    SealCertificateRequest,
    SealRegistrationIn,
)
from kumomura.seal_registration.params import MODULE

ui = APIRouter(prefix="/t/{lg_code}/seals", include_in_schema=False)


def _page(request: Request, principal: PagePrincipal, db: DbDep, lg_code: str,
          atena_no: str, *, forms: dict[str, dict[str, Any]] | None = None,
          errors: dict[str, dict[str, str]] | None = None, message: str | None = None,
          status: int = 200) -> HTMLResponse:
    """The person's page; ``forms`` and ``errors`` refill the form that was refused."""
    with db.tenant_tx(lg_code) as conn:
        person = residents.current(conn, atena_no)
        seals = service.of_person(conn, atena_no,
                                  ctx=page_audit(request, principal, "印鑑登録の照会"))
    active = next((s for s in seals if s["status"] == "active"), None)
    today = date.today().isoformat()
    values = {"register": {"registered_on": today}, "abolish": {"abolished_on": today},
              "certificate": {"purpose": ""}} | (forms or {})
    return render(request, "seals/person.html", status_code=status, lg_code=lg_code,
                  person=person, seals=seals, active=active, v=values,
                  errors={"register": {}, "abolish": {}, "certificate": {}} | (errors or {}),
                  message=message, can_edit=principal.can(MODULE, Permission.EDIT),
                  can_issue=principal.can(MODULE, Permission.ISSUE))


@ui.get("/{atena_no}", response_class=HTMLResponse)
def person_page(request: Request, lg_code: str, atena_no: str, db: DbDep,
                principal: PagePrincipal) -> HTMLResponse:
    require_tenant(principal, lg_code, MODULE, Permission.VIEW)
    return _page(request, principal, db, lg_code, atena_no)


@ui.get("/{atena_no}/{registration_no}/impression.png", response_class=Response)
def impression(request: Request, lg_code: str, atena_no: str, registration_no: str,
               db: DbDep, principal: PagePrincipal) -> Response:
    require_tenant(principal, lg_code, MODULE, Permission.VIEW)
    with db.tenant_tx(lg_code) as conn:
        png = service.impression(conn, page_audit(request, principal, "印鑑登録の照会"),
                                 atena_no, registration_no)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


def _back(lg_code: str, atena_no: str, message: str) -> RedirectResponse:
    return redirect_with_notice(f"/t/{lg_code}/seals/{atena_no}", message)


async def _impression(upload: Any) -> str | None:
    """The seal's image from the file input, as the model takes it (base64 PNG)."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    # One byte past the model's limit is enough for it to refuse the file.
    return base64.b64encode(await upload.read(MAX_PNG + 1)).decode("ascii")


@ui.post("/{atena_no}/register", response_model=None)
async def register(request: Request, lg_code: str, atena_no: str, db: DbDep,
                   principal: PagePrincipal) -> Response:
    """印鑑登録 at the counter (the seal's text, and its impression scanned as PNG)."""
    require_tenant(principal, lg_code, MODULE, Permission.EDIT)
    async with request.form() as form:  # closes the uploaded file's spool
        values = text_fields(form)
        impression = await _impression(form.get("impression"))
    try:
        req = SealRegistrationIn.model_validate(blank_to_none(values) | {
            "atena_no": atena_no, "impression_png_base64": impression})
        with db.tenant_tx(lg_code) as conn:
            done = service.register(conn, page_audit(request, principal, "印鑑登録"), req)
    except (ValidationError, KumomuraError) as exc:
        errors = {("impression" if k == "impression_png_base64" else k): m
                  for k, m in field_errors(exc).items()}
        return _page(request, principal, db, lg_code, atena_no, forms={"register": values},
                     errors={"register": errors}, status=422)
    return _back(lg_code, atena_no, f"印鑑を登録しました (登録番号 {done['registration_no']})")


@ui.post("/{atena_no}/{registration_no}/abolish", response_model=None)
async def abolish(request: Request, lg_code: str, atena_no: str, registration_no: str,
                  db: DbDep, principal: PagePrincipal) -> Response:
    """印鑑登録の廃止 (亡失, 本人の申請, ...)."""
    require_tenant(principal, lg_code, MODULE, Permission.EDIT)
    values = await form_fields(request)
    try:
        req = AbolishIn.model_validate(blank_to_none(values))
        with db.tenant_tx(lg_code) as conn:
            service.check_owner(conn, atena_no, registration_no)
            service.abolish(conn, page_audit(request, principal, "印鑑登録の廃止"),
                            registration_no, req)
    except (ValidationError, KumomuraError) as exc:
        return _page(request, principal, db, lg_code, atena_no, forms={"abolish": values},
                     errors={"abolish": field_errors(exc)}, status=422)
    return _back(lg_code, atena_no, f"登録番号 {registration_no} を廃止しました")


@ui.post("/{atena_no}/{registration_no}/certificate", response_model=None)
async def certificate(request: Request, lg_code: str, atena_no: str, registration_no: str,
                      db: DbDep, principal: PagePrincipal) -> Response:
    """印鑑登録証明書 as a PDF in the browser (the clerk previews, then prints)."""
    require_tenant(principal, lg_code, MODULE, Permission.ISSUE)
    values = await form_fields(request)
    office = office_of(db, lg_code)
    try:
        req = SealCertificateRequest.model_validate(blank_to_none(values))
        with db.tenant_tx(lg_code) as conn:
            service.check_owner(conn, atena_no, registration_no)
            issue_no, fee, pdf = service.issue_certificate(
                conn, page_audit(request, principal, req.purpose), office, registration_no, req)
    except (ValidationError, KumomuraError) as exc:
        return _page(request, principal, db, lg_code, atena_no, forms={"certificate": values},
                     errors={"certificate": field_errors(exc)}, status=422)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{issue_no}.pdf"',
        "X-Issue-No": issue_no, "X-Fee": str(fee)})
