"""Pages of every module: templates, the session cookie, the page's caller, rendering.

Pages are rendered on the server (Jinja2) and made lively with htmx; there is no
front-end build. Each module adds its own pages (its ``ui.py`` and ``templates/``, named
in its manifest); they use ``PagePrincipal`` and ``render`` from here. A request without
a live session goes to the login page and comes back after it. The menu is built from
the installed modules' manifests.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from kumomura.platform import installation
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.config import get_settings
from kumomura.platform.core.errors import KumomuraError, Unauthenticated
from kumomura.platform.core.japanese import era_date
from kumomura.platform.core.messages import problems
from kumomura.platform.http import csrf
from kumomura.platform.http.deps import DbDep
from kumomura.platform.identity import sessions
from kumomura.platform.identity.auth import Permission, Principal, Scope
from kumomura.platform.identity.throttle import Attempt
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import get_tenant

COOKIE = "kumomura_session"
BASE_TEMPLATES = Path(__file__).parent / "templates"


def _era(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return era_date(value.date() if isinstance(value, datetime) else value)


def _yen(value: int | None) -> str:
    return "" if value is None else f"{value:,}円"


def _environment(extra: list[Path]) -> Environment:
    folders = [*extra, BASE_TEMPLATES,
               *(m.templates for m in installation.installed() if m.templates is not None)]
    loader = ChoiceLoader([FileSystemLoader(f) for f in folders])
    env = Environment(loader=loader, autoescape=select_autoescape(["html"]))
    env.filters["era"] = _era
    env.filters["yen"] = _yen
    env.globals["csrf_field"] = _csrf_field
    return env


@pass_context
def _csrf_field(context: Any) -> Markup:
    """The form's first field: the browser's token (``platform.http.csrf``)."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(
        context.get("csrf_token", ""))


_TEMPLATES: list[Jinja2Templates] = []


def use_templates(extra: list[Path]) -> None:
    """Build the templates of the installed modules, the shell's own first (the app
    factory calls this once the modules are installed)."""
    _TEMPLATES[:] = [Jinja2Templates(env=_environment(extra))]


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


def attempt_of(request: Request, username: str) -> Attempt:
    """Who signs in (or confirms a password) from where, for the throttle and the trail."""
    return Attempt(username, request.client.host if request.client else None,
                   getattr(request.state, "request_id", None))


def _nav(db: Database, principal: Principal) -> list[tuple[str, str]]:
    """The menu: what this user may open, from the installed modules' menu entries."""
    if principal.scope != Scope.TENANT:
        return [("/console", "構成団体"), ("/console/params", "パラメータ比較"),
                ("/console/costs", "費用負担")]
    lg = principal.lg_code
    wanted = [item for module in installation.business_modules() for item in module.menu
              if principal.can(item.module or module.code, Permission(item.permission))]
    if any(item.option for item in wanted):
        with db.tenant_tx(str(lg)) as conn:
            wanted = [item for item in wanted if item.option is None
                      or installation.option_on(conn, item.option, date.today())]
    items = [(item.path.format(lg=lg), item.label) for item in wanted]
    items.append((f"/t/{lg}/jobs", "ジョブ"))
    if principal.can("platform", Permission.VIEW):
        items.append((f"/t/{lg}/params", "パラメータ"))
    if principal.can("platform", Permission.ADMIN):
        items.append((f"/t/{lg}/users", "利用者"))
        items.append((f"/t/{lg}/restores", "復元"))
    return items


NOTICE_COOKIE = "kumomura_notice"


def redirect_with_notice(url: str, message: str, *, failed: bool = False,
                         ) -> RedirectResponse:
    """Go to ``url`` and say ``message`` there once. The words travel in a short-lived
    cookie that only this site sets, never in the address, where a link could put
    anyone's words on a staff page."""
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(NOTICE_COOKIE, ("!" if failed else "") + quote(message[:500]),
                        max_age=60, httponly=True, samesite="strict", path="/",
                        secure=get_settings().cookie_secure)
    return response


def render(request: Request, name: str, status_code: int = 200, **context: Any,
           ) -> HTMLResponse:
    """A page of the shell with its menu; the notice of the redirect that led here,
    unless the route says something itself."""
    principal: Principal | None = getattr(request.state, "principal", None)
    db: Database = request.app.state.db
    municipality = None
    if principal is not None and principal.lg_code:
        municipality = get_tenant(db, principal.lg_code).name
    if not _TEMPLATES:
        use_templates([])
    notice = request.cookies.get(NOTICE_COOKIE)
    if notice and context.get("message") is None:
        context["message"] = unquote(notice.removeprefix("!"))
        context["failed"] = notice.startswith("!")
    response = _TEMPLATES[0].TemplateResponse(request, name, {
        "principal": principal, "nav": _nav(db, principal) if principal else [],
        "municipality": municipality, "today": date.today(),
        "csrf_token": getattr(request.state, "csrf_token", ""), **context},
        status_code=status_code)
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


LOGIN_NOTICES = {
    "login": "ログインしてください",
    "idle": "一定時間操作がなかったため、ログアウトしました",
    "suspended": "この利用者は停止されています",
    "logged_out": "ログアウトしました",
    "enrolled": "二要素認証を登録しました。認証アプリの次の確認コードでログインしてください",
}
"""What the login page may say above the form: a fixed set named in its URL, so that no
link can make the page print someone else's words."""


def notice_of(message: str) -> str:
    """The key of a session's end message (``login`` for one not in the set)."""
    return next((key for key, text in LOGIN_NOTICES.items() if text == message), "login")


def login_redirect(request: Request, message: str) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = f"/login?next={quote(target)}&notice={notice_of(message)}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


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


def text_fields(form: FormData) -> dict[str, str]:
    """A posted form's text fields, without the CSRF token (checked before the route)."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != csrf.FIELD}


async def form_fields(request: Request) -> dict[str, str]:
    """A posted form's text fields; a file sent where none is expected is closed unread
    (the form is closed on the way out)."""
    async with request.form() as form:
        return text_fields(form)


def blank_to_none(values: dict[str, Any]) -> dict[str, Any]:
    """Form fields left empty mean 'not given'."""
    return {k: (None if v == "" else v) for k, v in values.items()}
