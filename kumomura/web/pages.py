"""The shell's own pages: login, logout and the home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kumomura.platform.core.errors import Unauthenticated
from kumomura.platform.http.deps import DbDep
from kumomura.platform.http.pages import COOKIE, LOGIN_NOTICES, PagePrincipal, render
from kumomura.platform.identity import auth, sessions

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", notice: str | None = None) -> HTMLResponse:
    """The login form, with at most one of the fixed notices (never text from the URL)."""
    return render(request, "login.html", next=_safe_next(next),
                  message=LOGIN_NOTICES.get(notice or ""), username="")


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
    response = RedirectResponse("/login?notice=logged_out", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: PagePrincipal) -> HTMLResponse:
    return render(request, "home.html")
