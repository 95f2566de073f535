"""The staff's web pages: templates, the session cookie, login and logout, the home page.

Pages are rendered on the server (Jinja2) and made lively with htmx; there is no
front-end build. Each business module adds its own pages (its ``ui.py`` and
``templates/``); they use ``PagePrincipal`` and ``render`` from here. A request without a
live session goes to the login page and comes back after it.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import KumomuraError, Unauthenticated
from kumomura.platform.core.japanese import era_date
from kumomura.platform.core.messages import problems
from kumomura.platform.identity import auth, sessions
from kumomura.platform.identity.auth import Permission, Principal, Scope
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import get_tenant
from kumomura.web.deps import DbDep

COOKIE = "kumomura_session"
WEB = Path(__file__).parent
MODULE_TEMPLATES = ("residents", "inhabitant_tax", "seal_registration")


def _era(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return era_date(value.date() if isinstance(value, datetime) else value)


def _yen(value: int | None) -> str:
    return "" if value is None else f"{value:,}円"


def _environment() -> Environment:
    package = WEB.parent
    loader = ChoiceLoader([FileSystemLoader(WEB / "templates"),
                           *(FileSystemLoader(package / m / "templates")
                             for m in MODULE_TEMPLATES)])
    env = Environment(loader=loader, autoescape=select_autoescape(["html"]))
    env.filters["era"] = _era
    env.filters["yen"] = _yen
    return env


templates = Jinja2Templates(env=_environment())


class LoginRequired(Exception):
    """No live session: the browser goes to the login page (and back after it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def page_principal(request: Request, db: DbDep) -> Principal:
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired("ログインしてください")
    try:
        principal = await run_in_threadpool(sessions.principal_of, db, token)
    except Unauthenticated as exc:
        raise LoginRequired(exc.message) from None
    request.state.principal = principal
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def page_audit(request: Request, principal: Principal, purpose: str | None = None,
               ) -> AuditContext:
    return AuditContext(actor=principal.username, request_id=request.state.request_id,
                        client_addr=request.client.host if request.client else None,
                        purpose=purpose)


def _nav(principal: Principal) -> list[tuple[str, str]]:
    """The menu: what this user may open."""
    if principal.scope != Scope.TENANT:
        return [("/console", "構成団体"), ("/console/params", "パラメータ比較"),
                ("/console/costs", "費用負担")]
    lg = principal.lg_code
    items = []
    if principal.can("residents", Permission.VIEW):
        items.append((f"/t/{lg}/residents", "住民記録"))
    if principal.can("inhabitant_tax", Permission.VIEW):
        items.append((f"/t/{lg}/tax", "個人住民税"))
    items.append((f"/t/{lg}/jobs", "ジョブ"))
    if principal.can("platform", Permission.VIEW):
        items.append((f"/t/{lg}/params", "パラメータ"))
    if principal.can("platform", Permission.ADMIN):
        items.append((f"/t/{lg}/users", "利用者"))
    return items


def render(request: Request, name: str, status_code: int = 200, **context: Any,
           ) -> HTMLResponse:
    principal: Principal | None = getattr(request.state, "principal", None)
    db: Database = request.app.state.db
    municipality = None
    if principal is not None and principal.lg_code:
        municipality = get_tenant(db, principal.lg_code).name
    return templates.TemplateResponse(request, name, {
        "principal": principal, "nav": _nav(principal) if principal else [],
        "municipality": municipality, "today": date.today(), **context},
        status_code=status_code)


def login_redirect(request: Request, message: str) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = f"/login?next={quote(target)}&message={quote(message)}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", message: str | None = None) -> HTMLResponse:
    return render(request, "login.html", next=next, message=message, username="")


def _safe_next(target: str) -> str:
    """Only a path on this site (never another site's address)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", response_model=None)
def login(request: Request, db: DbDep, username: Annotated[str, Form()],
          password: Annotated[str, Form()], totp: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    try:
        principal = auth.authenticate(db, username, password, totp or None)
    except Unauthenticated as exc:
        return render(request, "login.html", status_code=401, next=next,
                      message=exc.message, username=username)
    token = sessions.start(db, principal)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout", response_model=None)
def logout(request: Request, db: DbDep) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        sessions.end(db, token)
    response = RedirectResponse("/login?message=" + quote("ログアウトしました"),
                                status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: PagePrincipal) -> HTMLResponse:
    return render(request, "home.html")


def field_errors(exc: Exception) -> dict[str, str]:
    """Messages by field (dotted, as the form's input names) from a refused request;
    several about one field are all kept, one after the other."""
    if isinstance(exc, ValidationError):
        pairs = [(p.field or "_", p.message) for p in problems(exc)]
    elif isinstance(exc, KumomuraError):
        pairs = [(p.field, p.message) for p in exc.problems] or [(exc.field or "_",
                                                                  exc.message)]
    else:
        raise exc
    messages: dict[str, str] = {}
    for name, message in pairs:
        messages[name] = f"{messages[name]} / {message}" if name in messages else message
    return messages


async def form_fields(request: Request) -> dict[str, str]:
    """A posted form's text fields; a file sent where none is expected is closed unread
    (the form is closed on the way out)."""
    async with request.form() as form:
        return {k: v for k, v in form.items() if isinstance(v, str)}


def blank_to_none(values: dict[str, Any]) -> dict[str, Any]:
    """Form fields left empty mean 'not given'."""
    return {k: (None if v == "" else v) for k, v in values.items()}
