"""Request dependencies: the database, the caller, and the audit context of a request."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Request

from kumomura.platform.audit import AuditContext
from kumomura.platform.auth import Principal, principal_from_token
from kumomura.platform.db import Database
from kumomura.platform.errors import Unauthenticated


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_principal(request: Request, db: Annotated[Database, Depends(get_db)]) -> Principal:
    """The caller, from an API token (``Authorization: Bearer kmr_...``)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("Authorization: Bearer <API token> is required")
    principal = principal_from_token(db, token.strip())
    request.state.principal = principal
    return principal


def audit_context(request: Request,
                  principal: Annotated[Principal, Depends(get_principal)]) -> AuditContext:
    return AuditContext(
        actor=principal.username, request_id=request.state.request_id,
        client_addr=request.client.host if request.client else None,
        purpose=_purpose(request))


def _purpose(request: Request) -> str | None:
    """Why the caller looks: ``X-Purpose``, percent-encoded UTF-8 (headers are ASCII)."""
    raw = request.headers.get("x-purpose")
    return unquote(raw) if raw else None


DbDep = Annotated[Database, Depends(get_db)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
AuditDep = Annotated[AuditContext, Depends(audit_context)]
