"""OIDC for the municipality's other systems: the provider's endpoints under
``/oidc/{lg_code}`` (discovery, keys, authorization, token, user info) and the IT lead's
page of registered systems (``/t/{lg_code}/oidc-clients``).

The session cookie is SameSite=Strict, so a browser arriving from another site's system
brings none: the authorization page then reloads itself once from this site (a meta
refresh, no script), which does bring it, before it asks for a login. The code goes back
through a page of its own too, so that the way back after a login form is a navigation
of its own, not a redirect the login page's ``form-action 'self'`` would stop.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kumomura.platform.core.errors import KumomuraError, Unauthenticated
from kumomura.platform.http.deps import DbDep
from kumomura.platform.http.pages import (
    COOKIE,
    PagePrincipal,
    attempt_of,
    field_errors,
    redirect_with_notice,
    render,
    text_fields,
)
from kumomura.platform.identity import oidc, oidc_clients, sessions, trail
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import get_tenant
from kumomura.web.account_pages import audit_admin, require_it_lead

router = APIRouter(include_in_schema=False)

RELOADED = "_same_site"
"""Marks the authorization page's one reload from this site."""


def _issuer(request: Request, lg_code: str) -> str:
    base = request.app.state.settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/oidc/{lg_code}"


def _call(request: Request, pairs: list[tuple[str, str]]) -> oidc.Call:
    return oidc.Call(request.method, str(request.url), request.headers, pairs)


@router.get("/oidc/{lg_code}/.well-known/openid-configuration")
def discovery(request: Request, lg_code: str, db: DbDep) -> dict[str, Any]:
    get_tenant(db, lg_code)
    return oidc.metadata(_issuer(request, lg_code))


@router.get("/oidc/{lg_code}/jwks")
def keys(lg_code: str, db: DbDep) -> dict[str, Any]:
    get_tenant(db, lg_code)
    return oidc.jwks(lg_code)


def _signed_in(db: Database, token: str | None) -> tuple[Any, Any]:
    if not token:
        return None, None
    try:
        return sessions.principal_of(db, token), sessions.started_at(db, token)
    except Unauthenticated:
        return None, None


@router.get("/oidc/{lg_code}/authorize", response_model=None)
def authorize(request: Request, lg_code: str, db: DbDep) -> Response:
    """A system asks who its user is: back to it with a code for this municipality's
    signed-in staff member, to the login page first for nobody, ``access_denied`` for
    anyone else; a request naming no registered system or address is refused here."""
    get_tenant(db, lg_code)
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k != RELOADED]
    here = f"/oidc/{lg_code}/authorize?{urlencode(pairs)}"
    token = request.cookies.get(COOKIE)
    if token is None and RELOADED not in request.query_params:
        return render(request, "oidc_redirect.html", location=f"{here}&{RELOADED}=1",
                      system=None)
    principal, started = _signed_in(db, token)
    result = oidc.authorize(db, lg_code, _issuer(request, lg_code), _call(request, pairs),
                            principal, started)
    if isinstance(result, oidc.Refused):
        return render(request, "error.html", status_code=400, title="認証連携できません",
                      message=f"連携元システムの要求が正しくありません ({result.message})。"
                              "システムの管理者に連絡してください。")
    if result is None:
        return RedirectResponse(f"/login?{urlencode({'next': here, 'notice': 'login'})}",
                                status_code=303)
    system = oidc.client_name(db, lg_code, request.query_params.get("client_id", ""))
    if principal is not None:
        granted = "code=" in (result.location or "")
        trail.record(db, attempt_of(request, principal.username),
                     "oidc_login" if granted else "oidc_refused",
                     lg_code=principal.lg_code, client=system, for_lg_code=lg_code)
    if result.location is None:
        return JSONResponse(result.body, status_code=result.status)
    return render(request, "oidc_redirect.html", location=result.location, system=system)


@router.post("/oidc/{lg_code}/token", response_model=None)
async def token_endpoint(request: Request, lg_code: str, db: DbDep) -> Response:
    """The system's server exchanges the code (and its PKCE verifier) for the tokens."""
    await run_in_threadpool(get_tenant, db, lg_code)
    async with request.form() as form:
        pairs = [(k, str(v)) for k, v in form.multi_items()]
    answer = await run_in_threadpool(oidc.token, db, lg_code, _issuer(request, lg_code),
                                     _call(request, pairs))
    return JSONResponse(answer.body, status_code=answer.status, headers={
        k: v for k, v in answer.headers.items() if k.lower() != "content-type"})


@router.api_route("/oidc/{lg_code}/userinfo", methods=["GET", "POST"], response_model=None)
def userinfo(request: Request, lg_code: str, db: DbDep) -> Response:
    scheme, _, access_token = request.headers.get("authorization", "").partition(" ")
    claims = None
    if scheme.lower() == "bearer" and access_token.strip():
        claims = oidc.user_info(db, lg_code, access_token.strip())
    if claims is None:
        return JSONResponse({"error": "invalid_token"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return JSONResponse(claims)


# -- the IT lead's page ------------------------------------------------------------------
def _clients_page(request: Request, db: DbDep, lg_code: str, *,
                  issued: dict[str, Any] | None = None, v: dict[str, Any] | None = None,
                  errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    return render(request, "oidc_clients.html", status_code=status, lg_code=lg_code,
                  rows=oidc_clients.of_municipality(db, lg_code), issued=issued,
                  issuer=_issuer(request, lg_code), v=v or {}, errors=errors or {})


@router.get("/t/{lg_code}/oidc-clients", response_class=HTMLResponse)
def clients(request: Request, lg_code: str, principal: PagePrincipal,
            db: DbDep) -> HTMLResponse:
    """The systems that sign this municipality's staff in through kumomura."""
    require_it_lead(principal, lg_code)
    return _clients_page(request, db, lg_code)


@router.post("/t/{lg_code}/oidc-clients", response_model=None)
async def register_client(request: Request, lg_code: str, principal: PagePrincipal,
                          db: DbDep) -> Response:
    """Register a system; its secret is shown this once."""
    require_it_lead(principal, lg_code)
    async with request.form() as form:
        v = text_fields(form)
    try:
        client_id, secret = await run_in_threadpool(
            oidc_clients.register, db, lg_code, v.get("name", "")[:200],
            v.get("redirect_uris", "")[:4000].splitlines(),
            confidential=v.get("kind", "confidential") != "public", by=principal.username)
    except KumomuraError as exc:
        return _clients_page(request, db, lg_code, v=v, errors=field_errors(exc), status=422)
    await run_in_threadpool(audit_admin, request, principal, db, lg_code, "oidc_client_registered",
                            principal.username, client_id=client_id, name=v["name"].strip())
    return _clients_page(request, db, lg_code, issued={"client_id": client_id,
                                                       "secret": secret})


@router.post("/t/{lg_code}/oidc-clients/{client_id}/revoke", response_model=None)
def revoke_client(request: Request, lg_code: str, client_id: str, principal: PagePrincipal,
                  db: DbDep) -> Response:
    require_it_lead(principal, lg_code)
    name = oidc_clients.revoke(db, lg_code, client_id, by=principal.username)
    audit_admin(request, principal, db, lg_code, "oidc_client_revoked", principal.username,
           client_id=client_id, name=name)
    return redirect_with_notice(f"/t/{lg_code}/oidc-clients",
                                f"{name} の認証連携を停止しました")
