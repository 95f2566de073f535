"""Request dependencies: the database, the caller, and the audit context of a request."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import Unauthenticated
from kumomura.platform.identity import tokens
from kumomura.platform.identity.auth import Principal, token_hash
from kumomura.platform.storage.db import Database


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


@dataclass
class PrincipalCache:
    """Principals by token hash for a few seconds: the token check is a database round
    trip on every request otherwise. A revoked or expired token, a removed role or a
    disabled user takes effect within the TTL (``KUMOMURA_AUTH_CACHE_SECONDS``)."""

    ttl: float
    entries: dict[str, tuple[float, Principal]] = field(default_factory=dict)

    def get(self, token: str) -> Principal | None:
        hit = self.entries.get(token_hash(token))
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, token: str, principal: Principal) -> None:
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[token_hash(token)] = (time.monotonic() + self.ttl, principal)


async def get_principal(request: Request,
                        db: Annotated[Database, Depends(get_db)]) -> Principal:
    """The caller, from an API token (``Authorization: Bearer kmr_...``)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("Authorization: Bearer <API token> is required")
    cache: PrincipalCache = request.app.state.principals
    principal = cache.get(token)
    if principal is None:
        principal = await run_in_threadpool(tokens.principal_from, db, token)
        cache.put(token, principal)
    request.state.principal = principal
    return principal


async def audit_context(request: Request,
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


INT4_MAX = 2**31 - 1
"""The largest number an ``Integer`` column holds on PostgreSQL."""

RowId = Annotated[int, Path(ge=1, le=INT4_MAX)]
"""A job, change, order or request number in a path: one beyond what a column holds
names nothing, and is answered 404 like any number that names nothing."""

FiscalYear = Annotated[int, Path(ge=1989, le=2200)]
"""A fiscal year in a path (平成元年 on): any other names nothing (404)."""

YearQuery = Annotated[int, Query(ge=1989, le=2200)]
"""A fiscal year asked for in a query: any other is refused (422, naming ``year``)."""
