"""Account pages: a staff member's own second factor (``/account``), and the municipal
IT lead's users of the municipality (``/t/{lg}/users``): add one, change another's
roles, reset a password or a second factor, suspend or resume, let a user made to wait
try again.

The new secret travels in the form it is shown in; only a code the app computed from it
and the owner's password make it the user's second factor: the IT lead never holds one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kumomura.platform import audit
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.errors import KumomuraError, NotFound
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.http.deps import DbDep, RowId
from kumomura.platform.http.pages import (
    PagePrincipal,
    attempt_of,
    field_errors,
    form_fields,
    page_audit,
    redirect_with_notice,
    render,
    text_fields,
)
from kumomura.platform.identity import auth, second_factor, tokens, trail
from kumomura.platform.identity.auth import (
    BUILTIN_ROLES,
    Permission,
    Principal,
    Scope,
    create_user,
    require_tenant,
    set_active,
    set_password,
    set_roles,
    users_of,
)

router = APIRouter(include_in_schema=False)


def _totp_page(request: Request, *, username: str, action: str, back: str, own: bool,
               secret: str | None = None, errors: dict[str, str] | None = None,
               status: int = 200) -> HTMLResponse:
    if not second_factor.valid_secret(secret):
        secret = second_factor.new_secret()
    assert secret is not None
    uri = second_factor.provisioning_uri(username, secret)
    return render(request, "totp.html", status_code=status, username=username,
                  action=action, back=back, own=own, secret=secret,
                  replacing=own and second_factor.has_totp(request.app.state.db, username),
                  qr=second_factor.qr_svg(uri), errors=errors or {})


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, principal: PagePrincipal, db: DbDep) -> HTMLResponse:
    """Who is logged in, with which roles, and whether a second factor is set."""
    return render(request, "account.html",
                  has_totp=second_factor.has_totp(db, principal.username))


@router.get("/account/totp", response_class=HTMLResponse)
def own_totp_form(request: Request, principal: PagePrincipal) -> HTMLResponse:
    return _totp_page(request, username=principal.username, action="/account/totp",
                      back="/account", own=True)


@router.post("/account/totp", response_model=None)
async def own_totp(request: Request, principal: PagePrincipal, db: DbDep) -> Response:
    """The staff member's own enrolment, confirmed with their password and a code."""
    form = await form_fields(request)
    attempt = attempt_of(request, principal.username)
    try:
        second_factor.enrol(db, principal.username, form.get("secret", ""),
                            form.get("code", ""), password=form.get("password", ""),
                            current_code=form.get("current_code"), attempt=attempt)
    except KumomuraError as exc:
        return _totp_page(request, username=principal.username, action="/account/totp",
                          back="/account", own=True, secret=form.get("secret"),
                          errors=field_errors(exc), status=422)
    trail.record(db, attempt, "totp_enrolled", lg_code=principal.lg_code, at="account")
    return redirect_with_notice("/account", "二要素認証を設定しました。次回のログインから"
                                            "確認コードが必要です")


def require_it_lead(principal: Principal, lg_code: str) -> None:
    """The municipality's own IT lead only: the operator administers the platform, not a
    municipality's staff (who could then be given access to personal data)."""
    if principal.scope != Scope.TENANT:
        raise NotFound(f"tenant {lg_code} does not exist", field="lg_code")
    require_tenant(principal, lg_code, PLATFORM_MODULE, Permission.ADMIN)


def audit_admin(request: Request, principal: Principal, db: DbDep, lg_code: str, action: str,
           username: str, **detail: Any) -> None:
    """User administration goes in the municipality's own audit log (never a password
    or a secret)."""
    with db.tenant_tx(lg_code) as conn:
        audit.record(conn, page_audit(request, principal, "利用者管理"), f"platform.{action}",
                     detail={"username": username, **detail})


TENANT_ROLES = [(name, description) for name, (scope, description, _) in BUILTIN_ROLES.items()
                if scope == Scope.TENANT]


def _users_page(request: Request, db: DbDep, lg_code: str, *, message: str | None = None,
                v: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                status: int = 200) -> HTMLResponse:
    return render(request, "users.html", status_code=status, lg_code=lg_code,
                  message=message, rows=users_of(db, lg_code),
                  roles=TENANT_ROLES, v=v or {}, errors=errors or {})


@router.get("/t/{lg_code}/users", response_class=HTMLResponse)
def municipality_users(request: Request, lg_code: str, principal: PagePrincipal,
                       db: DbDep) -> HTMLResponse:
    """The municipality's users for its IT lead: roles, state, second factor."""
    require_it_lead(principal, lg_code)
    return _users_page(request, db, lg_code)


def _to_users(lg_code: str, message: str) -> RedirectResponse:
    return redirect_with_notice(f"/t/{lg_code}/users", message)


@router.post("/t/{lg_code}/users", response_model=None)
async def add_user(request: Request, lg_code: str, principal: PagePrincipal,
                   db: DbDep) -> Response:
    """A new user of this municipality with the roles ticked and a first password."""
    require_it_lead(principal, lg_code)
    async with request.form() as form:
        v = text_fields(form)
        chosen = [str(r) for r in form.getlist("roles")]
    try:
        create_user(db, username=v.get("username", "").strip(), password=v.get("password", ""),
                    display_name=v.get("display_name", "").strip() or v.get("username", ""),
                    scope=Scope.TENANT, lg_code=lg_code, role_names=chosen)
    except KumomuraError as exc:
        errors = {("roles" if k == "role" else k): m for k, m in field_errors(exc).items()}
        return _users_page(request, db, lg_code, v=v | {"roles": chosen}, errors=errors,
                           status=422)
    audit_admin(request, principal, db, lg_code, "user_created", v["username"].strip(),
           roles=chosen)
    return _to_users(lg_code, f"利用者 {v['username'].strip()} を登録しました")


@router.post("/t/{lg_code}/users/{username}/password", response_model=None)
async def reset_password(request: Request, lg_code: str, username: str,
                         principal: PagePrincipal, db: DbDep) -> Response:
    """A new password handed to the user (the lock is lifted with it)."""
    require_it_lead(principal, lg_code)
    form = await form_fields(request)
    try:
        set_password(db, username, form.get("password", ""), lg_code=lg_code,
                     by=principal.username)
    except KumomuraError as exc:
        if isinstance(exc, NotFound):
            raise
        return _users_page(request, db, lg_code, status=422, errors={
            f"password-{username}": exc.message})
    audit_admin(request, principal, db, lg_code, "password_reset", username)
    return _to_users(lg_code, f"{username} のパスワードを再設定しました")


@router.post("/t/{lg_code}/users/{username}/roles", response_model=None)
async def change_roles(request: Request, lg_code: str, username: str,
                       principal: PagePrincipal, db: DbDep) -> Response:
    """The roles ticked replace another user's (nobody changes their own)."""
    require_it_lead(principal, lg_code)
    async with request.form() as form:
        chosen = [str(r) for r in form.getlist("roles")]
    try:
        set_roles(db, username, chosen, lg_code=lg_code, by=principal.username)
    except KumomuraError as exc:
        if isinstance(exc, NotFound):
            raise
        return _users_page(request, db, lg_code, status=422, errors={
            f"roles-{username}": exc.message})
    audit_admin(request, principal, db, lg_code, "user_roles_changed", username, roles=chosen)
    return _to_users(lg_code, f"{username} の役割を変更しました")


@router.post("/t/{lg_code}/users/{username}/active", response_model=None)
async def suspend_or_resume(request: Request, lg_code: str, username: str,
                            principal: PagePrincipal, db: DbDep) -> Response:
    require_it_lead(principal, lg_code)
    active = (await form_fields(request)).get("active") == "true"
    if not active and username == principal.username:
        return _users_page(request, db, lg_code, status=422, errors={
            f"active-{username}": "自分自身は停止できません"})
    set_active(db, username, active, lg_code=lg_code)
    audit_admin(request, principal, db, lg_code, "user_resumed" if active else "user_suspended",
           username)
    return _to_users(lg_code, f"{username} を{'再開' if active else '停止'}しました")


@router.post("/t/{lg_code}/users/{username}/totp/reset", response_model=None)
def reset_totp(request: Request, lg_code: str, username: str, principal: PagePrincipal,
               db: DbDep) -> Response:
    """Forget a user's second factor (a lost phone); the user enrols a new one."""
    require_it_lead(principal, lg_code)
    second_factor.reset(db, username, lg_code=lg_code, by=principal.username)
    audit_admin(request, principal, db, lg_code, "totp_reset", username)
    return _to_users(lg_code, f"{username} の二要素認証をリセットしました。本人が次のログインで"
                              "登録し直します")


@router.post("/t/{lg_code}/users/{username}/wait", response_model=None)
def lift_wait(request: Request, lg_code: str, username: str, principal: PagePrincipal,
              db: DbDep) -> Response:
    """Let a user whose failed logins make them wait try again at once."""
    require_it_lead(principal, lg_code)
    auth.lift_wait(db, username, lg_code=lg_code)
    audit_admin(request, principal, db, lg_code, "login_wait_lifted", username)
    return _to_users(lg_code, f"{username} はすぐにログインを試せます")


@router.get("/t/{lg_code}/tokens", response_class=HTMLResponse)
def municipality_tokens(request: Request, lg_code: str, principal: PagePrincipal,
                        db: DbDep) -> HTMLResponse:
    """The API tokens of the municipality's users: whose, what for, what they may do."""
    require_it_lead(principal, lg_code)
    return render(request, "tokens.html", lg_code=lg_code,
                  rows=tokens.of_municipality(db, lg_code), now=utcnow())


@router.post("/t/{lg_code}/tokens/{token_id}/revoke", response_model=None)
def revoke_token(request: Request, lg_code: str, token_id: RowId, principal: PagePrincipal,
                 db: DbDep) -> Response:
    require_it_lead(principal, lg_code)
    tokens.revoke(db, token_id, lg_code=lg_code, by=principal.username,
                  attempt=attempt_of(request, principal.username))
    return redirect_with_notice(f"/t/{lg_code}/tokens", f"トークン {token_id} を失効させました")


def _own_tokens_page(request: Request, principal: Principal, *, issued: str | None = None,
                     v: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                     status: int = 200) -> HTMLResponse:
    grants = sorted({tokens.scope_text((module, p)) for module, _ in principal.grants
                     for p in auth.Permission if principal.can(module, p)})
    return render(request, "own_tokens.html", status_code=status, grants=grants,
                  issued=issued, v=v or {"days": str(tokens.DEFAULT_DAYS)},
                  errors=errors or {})


@router.get("/account/tokens", response_class=HTMLResponse)
def own_tokens_form(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """A token for another system, issued by the staff member it acts for."""
    return _own_tokens_page(request, principal)


@router.post("/account/tokens", response_model=None)
async def issue_own_token(request: Request, principal: PagePrincipal, db: DbDep) -> Response:
    """Issue it with the password again (and the app's code where the member requires a
    second factor for personal data); the token is shown this once."""
    async with request.form() as form:
        v = text_fields(form)
        chosen = [str(s) for s in form.getlist("scopes")]
    attempt = attempt_of(request, principal.username)
    try:
        typed = v.get("days", "").strip()
        days = int(typed) if typed.isdigit() else 0 if typed else tokens.DEFAULT_DAYS
        auth.confirm_password(db, principal.username, v.get("password", ""), attempt)
        token = tokens.issue(db, principal.username, v.get("name", "").strip()[:200] or "連携",
                             scopes=tokens.parse_scopes(chosen) if chosen else frozenset(),
                             days=days, totp_code=v.get("totp_code") or None, attempt=attempt)
    except KumomuraError as exc:
        return _own_tokens_page(request, principal, v=v | {"scopes": chosen},
                                errors=field_errors(exc), status=422)
    return _own_tokens_page(request, principal, issued=token)
