"""The shell's own pages: login, logout and the home page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kumomura.platform.core.config import get_settings
from kumomura.platform.core.errors import KumomuraError, Unauthenticated
from kumomura.platform.http.deps import DbDep
from kumomura.platform.http.pages import (
    COOKIE,
    LOGIN_NOTICES,
    PagePrincipal,
    attempt_of,
    field_errors,
    form_fields,
    render,
)
from kumomura.platform.identity import auth, second_factor, sessions, trail

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", notice: str | None = None) -> HTMLResponse:
    """The login form, with at most one of the fixed notices (never text from the URL)."""
    return render(request, "login.html", next=_safe_next(next),
                  message=LOGIN_NOTICES.get(notice or ""), username="",
                  good=notice in GOOD_NOTICES)


GOOD_NOTICES = frozenset({"logged_out", "enrolled"})
"""Notices that report something done, not something wrong."""


def _safe_next(target: str) -> str:
    """Only a path on this site (never another site's address)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", response_model=None)
def login(request: Request, db: DbDep, username: Annotated[str, Form(max_length=200)],
          password: Annotated[str, Form(max_length=1024)],
          totp: Annotated[str, Form(max_length=16)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    try:
        principal = auth.authenticate(db, username, password, totp or None,
                                      attempt=attempt_of(request, username))
    except auth.EnrolmentRequired as exc:
        return _enrolment_page(request, username, next, message=exc.message)
    except Unauthenticated as exc:
        return render(request, "login.html", status_code=401, next=_safe_next(next),
                      message=exc.message, username=username)
    token = sessions.start(db, principal)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                        secure=get_settings().cookie_secure, path="/")
    return response


def _enrolment_page(request: Request, username: str, next: str, *, message: str | None = None,
                    secret: str | None = None, errors: dict[str, str] | None = None,
                    status: int = 200) -> Response:
    """The second factor a municipality requires, enrolled by its owner at login (with
    the password again): nobody else ever holds a usable secret for them."""
    if not second_factor.valid_secret(secret):
        secret = second_factor.new_secret()
    assert secret is not None
    return render(request, "totp.html", status_code=status, username=username,
                  action="/login/totp", back="/login", own=True, secret=secret,
                  login_username=username, next=_safe_next(next), message=message,
                  replacing=False, errors=errors or {},
                  qr=second_factor.qr_svg(second_factor.provisioning_uri(username, secret)))


@router.post("/login/totp", response_model=None)
async def login_enrolment(request: Request, db: DbDep) -> Response:
    """Keep the second factor enrolled at login; then log in with the app's next code.
    A wrong password or a name that is nobody's gets the login's one answer."""
    form = await form_fields(request)
    username, next = form.get("username", "")[:200], form.get("next", "/")
    attempt = attempt_of(request, username)
    try:
        await run_in_threadpool(
            second_factor.enrol, db, username, form.get("secret", ""), form.get("code", ""),
            password=form.get("password", ""), current_code=form.get("current_code"),
            attempt=attempt)
    except KumomuraError as exc:
        errors = field_errors(exc)
        if "username" in errors or "password" in errors or "current_code" in errors:
            return render(request, "login.html", status_code=401, next=_safe_next(next),
                          message=auth.LOGIN_FAILED, username=username)
        return _enrolment_page(request, username, next, secret=form.get("secret"),
                               errors=errors, status=422)
    await run_in_threadpool(trail.record, db, attempt, "totp_enrolled",
                            lg_code=trail.municipality_of(db, username), at="login")
    return RedirectResponse(f"/login?notice=enrolled&next={quote(_safe_next(next))}",
                            status_code=303)


@router.post("/logout", response_model=None)
def logout(request: Request, db: DbDep) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        ended = sessions.end(db, token)
        if ended is not None:
            trail.record(db, attempt_of(request, ended.username), "logout",
                         lg_code=ended.lg_code)
    response = RedirectResponse("/login?notice=logged_out", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: PagePrincipal) -> HTMLResponse:
    return render(request, "home.html")
