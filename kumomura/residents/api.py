"""JSON API of the resident registry under ``/api/v1/t/{lg_code}/residents``.

Thin over the service: each route checks the caller's permission on this module (another
municipality's caller gets 404), opens one tenant transaction, calls one use case.
The caller's purpose travels in the ``X-Purpose`` header into the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Any, TypeVar

from fastapi import APIRouter, Query, Response
from sqlalchemy import Connection

from kumomura.platform.audit import AuditContext
from kumomura.platform.http.deps import AuditDep, DbDep, PrincipalDep, RowId
from kumomura.platform.identity.auth import Permission, Principal, require_tenant
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.profile import office_of
from kumomura.residents import certificates, service
from kumomura.residents import changes as ch
from kumomura.residents.models import (
    Birth,
    Cancellation,
    CertificateRequest,
    Correction,
    Death,
    HouseholdChange,
    MoveIn,
    MoveOut,
    NonResidentIn,
    ProtectionOrderIn,
    Relocation,
)
from kumomura.residents.params import MODULE

router = APIRouter(prefix="/api/v1/t/{lg_code}/residents", tags=["residents"])
INTERNAL = {"id", "name_key", "kana_key", "address_key"}
T = TypeVar("T")


def _gate(principal: Principal, lg_code: str, permission: Permission) -> None:
    """Only the municipality's own staff pass (a tenant user's municipality exists: the
    user row references it), so no further lookup is needed on the hot path."""
    require_tenant(principal, lg_code, MODULE, permission)


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A registry row without the internal search keys."""
    return {k: v for k, v in row.items() if k not in INTERNAL}


def _in_tenant(db: Database, lg_code: str, work: Callable[[Connection], T]) -> T:
    with db.tenant_tx(lg_code) as conn:
        return work(conn)


@router.get("")
def search(lg_code: str, db: DbDep, principal: PrincipalDep, ctx: AuditDep,
           kana: str | None = None, name: str | None = None, birth_date: date | None = None,
           address: str | None = None, atena_no: str | None = None,
           household_no: str | None = None, include_removed: bool = False,
           limit: int = Query(50, ge=1, le=200)) -> list[dict[str, Any]]:
    """Current entries matching every criterion (kana, name and address by prefix)."""
    _gate(principal, lg_code, Permission.VIEW)
    criteria = service.SearchCriteria(kana=kana, name=name, birth_date=birth_date,
                                      address=address, atena_no=atena_no,
                                      household_no=household_no,
                                      include_removed=include_removed, limit=limit)
    return _in_tenant(db, lg_code, lambda c: service.search(c, ctx, criteria))


@router.post("/non-residents", status_code=201)
def non_resident(lg_code: str, body: NonResidentIn, db: DbDep, principal: PrincipalDep,
                 ctx: AuditDep) -> dict[str, Any]:
    """住登外者: an addressee number for a person outside the registry. Any module that
    may edit its own data registers the people it deals with."""
    require_tenant(principal, lg_code, body.registered_by, Permission.EDIT)
    number = _in_tenant(db, lg_code, lambda c: service.register_non_resident(c, ctx, body))
    return {"atena_no": number}


@router.get("/addressees/{atena_no}")
def addressee(lg_code: str, atena_no: str, db: DbDep, principal: PrincipalDep,
              ctx: AuditDep) -> dict[str, Any]:
    """Whoever holds an addressee number, resident or 住登外者."""
    _gate(principal, lg_code, Permission.VIEW)
    return _in_tenant(db, lg_code, lambda c: service.addressee(c, ctx, atena_no))


@router.get("/households/{household_no}")
def household(lg_code: str, household_no: str, db: DbDep, principal: PrincipalDep,
              ctx: AuditDep) -> dict[str, Any]:
    _gate(principal, lg_code, Permission.VIEW)
    return _in_tenant(db, lg_code, lambda c: service.household(c, household_no, ctx=ctx))


@router.get("/changes/{change_id}")
def change(lg_code: str, change_id: RowId, db: DbDep, principal: PrincipalDep,
           ctx: AuditDep) -> dict[str, Any]:
    _gate(principal, lg_code, Permission.VIEW)
    return _in_tenant(db, lg_code, lambda c: service.change(c, change_id, ctx=ctx))


@router.get("/{atena_no}")
def record(lg_code: str, atena_no: str, db: DbDep, principal: PrincipalDep,
           ctx: AuditDep) -> dict[str, Any]:
    """A person's current entry, history, household and protection orders (audited)."""
    _gate(principal, lg_code, Permission.VIEW)
    view = _in_tenant(db, lg_code, lambda c: service.record(c, ctx, atena_no))
    return {**view, "current": public(view["current"]),
            "history": [public(v) for v in view["history"]]}


@router.get("/{atena_no}/history")
def history(lg_code: str, atena_no: str, db: DbDep, principal: PrincipalDep,
            ctx: AuditDep) -> list[dict[str, Any]]:
    _gate(principal, lg_code, Permission.VIEW)
    return [public(v) for v in _in_tenant(db, lg_code,
                                          lambda c: service.history(c, ctx, atena_no))]


def _change(db: Database, principal: Principal, lg_code: str, permission: Permission,
            ctx: AuditContext, body: ch.Notification) -> dict[str, Any]:
    _gate(principal, lg_code, permission)
    office = office_of(db, lg_code)
    return asdict(_in_tenant(db, lg_code, lambda c: ch.apply(c, ctx, office, body)))


@router.post("/changes/move-in", status_code=201)
def move_in(lg_code: str, body: MoveIn, db: DbDep, principal: PrincipalDep,
            ctx: AuditDep) -> dict[str, Any]:
    """転入届."""
    return _change(db, principal, lg_code, Permission.EDIT, ctx, body)


@router.post("/changes/birth", status_code=201)
def birth(lg_code: str, body: Birth, db: DbDep, principal: PrincipalDep,
          ctx: AuditDep) -> dict[str, Any]:
    """出生."""
    return _change(db, principal, lg_code, Permission.EDIT, ctx, body)


@router.post("/changes/move-out", status_code=201)
def move_out(lg_code: str, body: MoveOut, db: DbDep, principal: PrincipalDep,
             ctx: AuditDep) -> dict[str, Any]:
    """転出届; the response carries the 転出証明書 data."""
    return _change(db, principal, lg_code, Permission.EDIT, ctx, body)


@router.post("/changes/relocation", status_code=201)
def relocation(lg_code: str, body: Relocation, db: DbDep, principal: PrincipalDep,
               ctx: AuditDep) -> dict[str, Any]:
    """転居届."""
    return _change(db, principal, lg_code, Permission.EDIT, ctx, body)


@router.post("/changes/death", status_code=201)
def death(lg_code: str, body: Death, db: DbDep, principal: PrincipalDep,
          ctx: AuditDep) -> dict[str, Any]:
    """死亡."""
    return _change(db, principal, lg_code, Permission.EDIT, ctx, body)


@router.post("/changes/household", status_code=201)
def household_change(lg_code: str, body: HouseholdChange, db: DbDep, principal: PrincipalDep,
                     ctx: AuditDep) -> dict[str, Any]:
    """世帯変更届 (分離, 合併, 世帯主変更)."""
    return _change(db, principal, lg_code, Permission.EDIT, ctx, body)


@router.post("/changes/correction", status_code=201)
def correction(lg_code: str, body: Correction, db: DbDep, principal: PrincipalDep,
               ctx: AuditDep) -> dict[str, Any]:
    """職権修正 (registry administrator)."""
    return _change(db, principal, lg_code, Permission.ADMIN, ctx, body)


@router.post("/changes/cancellation", status_code=201)
def cancellation(lg_code: str, body: Cancellation, db: DbDep, principal: PrincipalDep,
                 ctx: AuditDep) -> dict[str, Any]:
    """異動の取消し (registry administrator)."""
    return _change(db, principal, lg_code, Permission.ADMIN, ctx, body)


@router.post("/certificates", response_class=Response,
             responses={200: {"content": {"application/pdf": {}}}})
def certificate(lg_code: str, body: CertificateRequest, db: DbDep, principal: PrincipalDep,
                ctx: AuditDep) -> Response:
    """Issue a certificate; the PDF comes back, its number and fee in the headers."""
    _gate(principal, lg_code, Permission.ISSUE)
    office = office_of(db, lg_code)
    issued = _in_tenant(db, lg_code, lambda c: certificates.issue(
        c, ctx, office, body, may_override=principal.can(MODULE, Permission.ADMIN)))
    return Response(issued.pdf, media_type="application/pdf", headers={
        "X-Issue-No": issued.issue_no, "X-Fee": str(issued.fee),
        "Content-Disposition": f'inline; filename="{issued.issue_no}.pdf"'})


@router.post("/protection-orders", status_code=201)
def protection_add(lg_code: str, body: ProtectionOrderIn, db: DbDep, principal: PrincipalDep,
                   ctx: AuditDep) -> dict[str, Any]:
    """支援措置 (registry administrator)."""
    _gate(principal, lg_code, Permission.ADMIN)
    return _in_tenant(db, lg_code, lambda c: service.add_protection(c, ctx, body))


@router.post("/protection-orders/{order_id}/extend")
def protection_extend(lg_code: str, order_id: RowId, db: DbDep, principal: PrincipalDep,
                      ctx: AuditDep) -> dict[str, Any]:
    _gate(principal, lg_code, Permission.ADMIN)
    return _in_tenant(db, lg_code, lambda c: service.extend_protection(c, ctx, order_id))


@router.post("/protection-orders/{order_id}/lift")
def protection_lift(lg_code: str, order_id: RowId, db: DbDep, principal: PrincipalDep,
                    ctx: AuditDep, on: date | None = None) -> dict[str, Any]:
    _gate(principal, lg_code, Permission.ADMIN)
    day = on or date.today()
    _in_tenant(db, lg_code, lambda c: service.lift_protection(c, ctx, order_id, day))
    return {"id": order_id, "lifted_on": day.isoformat()}
