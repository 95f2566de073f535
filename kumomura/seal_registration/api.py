"""JSON API of seal registration under ``/api/v1/t/{lg_code}/seals``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from kumomura.platform.http.deps import AuditDep, DbDep, PrincipalDep
from kumomura.platform.identity.auth import Permission, require_tenant
from kumomura.platform.tenancy.profile import office_of
from kumomura.platform.tenancy.tenants import get_tenant
from kumomura.seal_registration import service
from kumomura.seal_registration.models import AbolishIn, SealCertificateRequest, SealRegistrationIn
from kumomura.seal_registration.params import MODULE

router = APIRouter(prefix="/api/v1/t/{lg_code}/seals", tags=["seal_registration"])


@router.get("")
def of_person(lg_code: str, atena_no: str, db: DbDep, principal: PrincipalDep,
              ctx: AuditDep) -> list[dict[str, Any]]:
    require_tenant(principal, lg_code, MODULE, Permission.VIEW)
    get_tenant(db, lg_code)
    with db.tenant_tx(lg_code) as conn:
        return service.of_person(conn, atena_no, ctx=ctx)


@router.post("", status_code=201)
def register(lg_code: str, body: SealRegistrationIn, db: DbDep, principal: PrincipalDep,
             ctx: AuditDep) -> dict[str, Any]:
    """印鑑登録."""
    require_tenant(principal, lg_code, MODULE, Permission.EDIT)
    get_tenant(db, lg_code)
    with db.tenant_tx(lg_code) as conn:
        return service.register(conn, ctx, body)


@router.post("/{registration_no}/abolish")
def abolish(lg_code: str, registration_no: str, body: AbolishIn, db: DbDep,
            principal: PrincipalDep, ctx: AuditDep) -> dict[str, Any]:
    """印鑑登録の廃止."""
    require_tenant(principal, lg_code, MODULE, Permission.EDIT)
    get_tenant(db, lg_code)
    with db.tenant_tx(lg_code) as conn:
        service.abolish(conn, ctx, registration_no, body)
    return {"registration_no": registration_no, "abolished_on": body.abolished_on.isoformat()}


@router.post("/{registration_no}/certificate", response_class=Response,
             responses={200: {"content": {"application/pdf": {}}}})
def certificate(lg_code: str, registration_no: str, body: SealCertificateRequest, db: DbDep,
                principal: PrincipalDep, ctx: AuditDep) -> Response:
    """印鑑登録証明書 (PDF; number and fee in the headers)."""
    require_tenant(principal, lg_code, MODULE, Permission.ISSUE)
    office = office_of(db, lg_code)
    with db.tenant_tx(lg_code) as conn:
        issue_no, fee, pdf = service.issue_certificate(conn, ctx, office, registration_no, body)
    return Response(pdf, media_type="application/pdf",
                    headers={"X-Issue-No": issue_no, "X-Fee": str(fee)})
