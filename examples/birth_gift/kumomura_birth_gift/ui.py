"""The town's page: gifts due and paid, and the payment of one."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from kumomura.platform import installation
from kumomura.platform.core.errors import InvalidInput, KumomuraError
from kumomura.platform.http.deps import DbDep
from kumomura.platform.http.pages import (
    PagePrincipal,
    field_errors,
    page_audit,
    redirect_with_notice,
    render,
)
from kumomura.platform.identity.auth import Permission, Principal, require_tenant
from kumomura_birth_gift import service
from kumomura_birth_gift.params import OPTION

PERMISSION_MODULE = "residents"
"""The gifts are paid by the registry's counter staff (who take the birth)."""

ui = APIRouter(prefix="/t/{lg_code}/birth-gifts", include_in_schema=False)


def _page(request: Request, lg_code: str, db: DbDep, principal: Principal, *,
          errors: dict[str, str] | None = None, message: str | None = None,
          status: int = 200) -> HTMLResponse:
    with db.tenant_tx(lg_code) as conn:
        enabled = installation.option_on(conn, OPTION, date.today())
        rows = service.gifts(conn, page_audit(request, principal, "出生祝金"))
    return render(request, "birth_gift/list.html", status_code=status, lg_code=lg_code,
                  rows=rows, enabled=enabled, s=service.summary(rows), errors=errors or {},
                  message=message, today=date.today(),
                  can_pay=principal.can(PERMISSION_MODULE, Permission.EDIT))


@ui.get("", response_class=HTMLResponse)
def gifts_page(request: Request, lg_code: str, db: DbDep,
               principal: PagePrincipal) -> HTMLResponse:
    require_tenant(principal, lg_code, PERMISSION_MODULE, Permission.VIEW)
    return _page(request, lg_code, db, principal)


@ui.post("/{atena_no}/pay", response_model=None)
def pay(request: Request, lg_code: str, atena_no: str, db: DbDep, principal: PagePrincipal,
        paid_on: Annotated[str, Form()] = "") -> Response:
    require_tenant(principal, lg_code, PERMISSION_MODULE, Permission.EDIT)
    try:
        try:
            day = date.fromisoformat(paid_on)
        except ValueError:
            raise InvalidInput("支給日を YYYY-MM-DD で入力してください", field="paid_on") from None
        with db.tenant_tx(lg_code) as conn:
            service.pay(conn, page_audit(request, principal, "出生祝金の支給"), atena_no, day)
    except KumomuraError as exc:
        return _page(request, lg_code, db, principal, errors=field_errors(exc), status=422)
    return redirect_with_notice(f"/t/{lg_code}/birth-gifts", "支給を記録しました")
