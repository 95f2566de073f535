"""Users, roles and permissions; passwords (argon2), TOTP and API tokens.

A user belongs to one tenant, or to the consortium (secretariat) or the operator. Roles
grant a permission (view < edit, issue < admin) on a module. Every tenant-scoped check
answers "not found" to a user of another tenant, so a request never learns that another
municipality's record exists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import Field
from sqlalchemy import (
    Connection,
    delete,
    insert,
    select,
    update,
)

from kumomura.platform import params
from kumomura.platform.core.businesses import BUSINESSES, PLATFORM_MODULE
from kumomura.platform.core.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
    invalid,
)
from kumomura.platform.core.timeutil import as_utc, utcnow
from kumomura.platform.identity import throttle, trail
from kumomura.platform.identity.tables import (
    api_tokens,
    role_permissions,
    roles,
    user_roles,
    users,
    web_sessions,
)
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import tenants


class Scope(StrEnum):
    TENANT = "tenant"
    CONSORTIUM = "consortium"
    OPERATOR = "operator"


class Permission(StrEnum):
    VIEW = "view"
    EDIT = "edit"
    ISSUE = "issue"
    ADMIN = "admin"


_IMPLIES: dict[Permission, set[Permission]] = {
    Permission.VIEW: {Permission.VIEW},
    Permission.EDIT: {Permission.EDIT, Permission.VIEW},
    Permission.ISSUE: {Permission.ISSUE, Permission.VIEW},
    Permission.ADMIN: set(Permission),
}



class AuthParameters(params.Parameters):
    """Login rules a municipality sets for its own staff."""

    mfa_required_for_personal_data: bool = Field(
        description="TOTP second factor required for roles that can see personal data")
    idle_timeout_minutes: int = Field(ge=5, le=480, description="web session idle timeout")


AUTH_PARAMS = params.declare(PLATFORM_MODULE, AuthParameters, {
    2024: AuthParameters(mfa_required_for_personal_data=False, idle_timeout_minutes=30),
})


LINKAGE_MODULE = "linkage"
COSTS_MODULE = "costs"
"""Permission module of the consortium's cost sharing (the secretariat's)."""
"""Permission module of the change feed that other systems read."""

COUNTER = (Permission.EDIT, Permission.ISSUE)
"""Counter staff take notifications (異動届) and issue certificates; corrections ex officio,
cancellations and protection-order overrides are the registry administrator's."""

BUILTIN_ROLES: dict[str, tuple[Scope, str, dict[str, tuple[Permission, ...]]]] = {
    "counter_clerk": (Scope.TENANT, "窓口担当: 住民記録の照会・異動・証明書発行",
                      {"residents": COUNTER, "seal_registration": COUNTER}),
    "registry_editor": (Scope.TENANT, "住民記録担当: 異動入力と職権修正、支援措置",
                        {"residents": (Permission.ADMIN,),
                         "seal_registration": (Permission.ADMIN,)}),
    "tax_officer": (Scope.TENANT, "税務担当: 個人住民税の賦課・更正・通知、納付状況の照会",
                    {"inhabitant_tax": (Permission.ADMIN,), "residents": (Permission.VIEW,),
                     "collection": (Permission.VIEW,)}),
    "collection_officer": (Scope.TENANT, "収納担当: 消込・口座振替・督促・滞納整理",
                           {"collection": (Permission.ADMIN,),
                            "residents": (Permission.VIEW,)}),
    "municipal_it": (Scope.TENANT, "情報主管課: 利用者・パラメータ・移行",
                     {PLATFORM_MODULE: (Permission.ADMIN,)}),
    "secretariat": (Scope.CONSORTIUM, "事務局: 構成団体・パラメータ差異・費用按分",
                    {PLATFORM_MODULE: (Permission.VIEW,), COSTS_MODULE: (Permission.ADMIN,)}),
    "linkage_client": (Scope.TENANT, "連携先システム: 異動イベントの取得",
                       {LINKAGE_MODULE: (Permission.VIEW,)}),
    "operator": (Scope.OPERATOR, "運用者: テナント・ジョブ・バックアップ",
                 {PLATFORM_MODULE: (Permission.ADMIN,)}),
}

PERSONAL_DATA_MODULES = frozenset({*BUSINESSES, LINKAGE_MODULE})
"""Business modules and the change feed carry personal data; the platform module does not."""

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Who is asking, resolved once per request."""

    user_id: int
    username: str
    scope: Scope
    lg_code: str | None
    grants: frozenset[tuple[str, Permission]] = field(default_factory=frozenset)

    def can(self, module: str, permission: Permission) -> bool:
        return any(m == module and permission in _IMPLIES[p] for m, p in self.grants)

    def sees_personal_data(self) -> bool:
        return any(m in PERSONAL_DATA_MODULES for m, _ in self.grants)


def require_tenant(principal: Principal, lg_code: str, module: str,
                   permission: Permission) -> None:
    """Gate for every tenant-scoped request.

    Another tenant's user (or a consortium/operator user asking for personal data) gets
    NotFound, exactly as for a tenant that does not exist; Forbidden only ever tells a
    user of the same tenant that a permission is missing.
    """
    if principal.scope == Scope.TENANT and principal.lg_code != lg_code:
        raise NotFound(f"tenant {lg_code} does not exist", field="lg_code")
    if principal.scope != Scope.TENANT and module in PERSONAL_DATA_MODULES:
        raise NotFound(f"tenant {lg_code} does not exist", field="lg_code")
    if principal.scope != Scope.TENANT and permission != Permission.VIEW:
        # The operator runs the platform and the secretariat the consortium: neither
        # changes a municipality's parameters, data or jobs.
        raise Forbidden(f"{principal.username}: 団体のデータを変更できるのはその団体の職員だけです",
                        field=module)
    if not principal.can(module, permission):
        raise Forbidden(f"{principal.username} lacks {permission} on {module}", field=module)


def require_platform(principal: Principal, permission: Permission) -> None:
    """Gate for consortium-wide views (secretariat, operator)."""
    if principal.scope == Scope.TENANT or not principal.can(PLATFORM_MODULE, permission):
        raise Forbidden(f"{principal.username} lacks {permission} on the consortium",
                        field=PLATFORM_MODULE)


def ensure_builtin_roles(conn: Connection) -> None:
    """Create or refresh the standard roles (part of ``db upgrade``)."""
    for name, (scope, description, grants) in BUILTIN_ROLES.items():
        exists = conn.execute(select(roles.c.name).where(roles.c.name == name)).first()
        if exists is None:
            conn.execute(insert(roles).values(name=name, scope=scope, description=description))
        else:
            conn.execute(update(roles).where(roles.c.name == name)
                         .values(scope=scope, description=description))
        conn.execute(delete(role_permissions).where(role_permissions.c.role == name))
        for module, permissions in grants.items():
            for permission in permissions:
                conn.execute(insert(role_permissions).values(role=name, module=module,
                                                             permission=permission))


def _validate_password(password: str) -> None:
    if len(password) < 10:
        raise InvalidInput("パスワードは10文字以上にしてください", field="password")


def create_user(db: Database, *, username: str, password: str, display_name: str,
                scope: Scope, lg_code: str | None, role_names: list[str]) -> int:
    """Create a user with roles whose scope matches the user's; all or nothing. Every
    problem of the name, the password and the roles is named at once."""
    problems = []
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", username):
        problems.append(FieldProblem(
            "username", f"利用者名 {username!r} は半角英数字と . _ - で64文字までにしてください"))
    if len(password) < 10:
        problems.append(FieldProblem("password", "パスワードは10文字以上にしてください"))
    if not role_names:
        problems.append(FieldProblem("role", "役割を1つ以上選んでください"))
    if problems:
        raise invalid(problems)
    if (scope == Scope.TENANT) != (lg_code is not None):
        raise InvalidInput("lg_code: required for tenant users and only for them",
                           field="lg_code")
    with db.platform_tx() as conn:
        if lg_code is not None and conn.execute(
                select(tenants.c.lg_code).where(tenants.c.lg_code == lg_code)).first() is None:
            raise NotFound(f"tenant {lg_code} does not exist", field="lg_code")
        if conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise Conflict(f"利用者 {username} はすでにあります (user {username} already exists)",
                           field="username")
        for role in role_names:
            row = conn.execute(select(roles.c.scope).where(roles.c.name == role)).first()
            if row is None:
                raise InvalidInput(f"役割 {role!r} はありません", field="role")
            if row[0] != scope:
                raise InvalidInput(f"役割 {role} は {row[0]} の利用者のためのものです ({scope} には"
                                   "付けられません)", field="role")
        user_id = conn.execute(insert(users).values(
            username=username, display_name=display_name, scope=scope, lg_code=lg_code,
            password_hash=_hasher.hash(password), active=True,
            created_at=utcnow()).returning(users.c.id)).scalar_one()
        for role in role_names:
            conn.execute(insert(user_roles).values(user_id=user_id, role=role))
    return int(user_id)


RESET_APART = timedelta(days=7)
"""Within this time of one credential's reset, the other is someone else's to reset."""
CREDENTIALS = {"password": "パスワード", "totp": "二要素認証"}


def note_reset(conn: Connection, username: str, kind: str, by: str | None) -> None:
    """Keep who reset a user's ``kind`` of credential; refuse them the other kind too
    soon after (``RESET_APART``): whoever resets both could sign in as the user."""
    if by is None:
        return
    row = conn.execute(select(users.c.credential_reset_kind, users.c.credential_reset_by,
                              users.c.credential_reset_at)
                       .where(users.c.username == username)).first()
    if row is not None and row.credential_reset_by == by and row.credential_reset_kind != kind \
            and row.credential_reset_at is not None \
            and utcnow() - as_utc(row.credential_reset_at) < RESET_APART:
        other = CREDENTIALS.get(row.credential_reset_kind or "", "")
        raise Forbidden(f"{username} の{other}は {by} が再設定したばかりです。"
                        f"{CREDENTIALS[kind]}の再設定は、ほかの情報主管課の職員に依頼してください",
                        field=kind)
    conn.execute(update(users).where(users.c.username == username).values(
        credential_reset_kind=kind, credential_reset_by=by, credential_reset_at=utcnow()))


def set_password(db: Database, username: str, password: str, *,
                 lg_code: str | None = None, by: str | None = None) -> None:
    """A new password: the user's sessions end, their API tokens are revoked and their
    failed logins forgotten; with ``lg_code``, only for a user of that municipality;
    ``by`` someone else (the IT lead), who may not also reset the second factor soon."""
    _validate_password(password)
    with db.platform_tx() as conn:
        query = update(users).where(users.c.username == username)
        if lg_code is not None:
            query = query.where(users.c.lg_code == lg_code)
        found = conn.execute(query.values(password_hash=_hasher.hash(password))).rowcount
        if found:
            note_reset(conn, username, "password", by)
            end_sessions(conn, username)
            revoke_tokens_of(conn, username)
            throttle.clear(conn, username)
    if not found:
        raise NotFound(f"利用者 {username} はいません", field="username")


def end_sessions(conn: Connection, username: str) -> None:
    """End the user's open browser sessions (a new password, a suspension)."""
    user_id = select(users.c.id).where(users.c.username == username).scalar_subquery()
    conn.execute(update(web_sessions).where(web_sessions.c.user_id == user_id,
                                            web_sessions.c.ended_at.is_(None))
                 .values(ended_at=utcnow()))


def revoke_tokens_of(conn: Connection, username: str) -> int:
    """Revoke the user's live API tokens (a new password, a suspension)."""
    user_id = select(users.c.id).where(users.c.username == username).scalar_subquery()
    return int(conn.execute(update(api_tokens).where(
        api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())).rowcount)


def users_of(db: Database, lg_code: str) -> list[dict[str, Any]]:
    """The municipality's users as its IT lead sees them (never the secrets)."""
    with db.platform_tx() as conn:
        rows = conn.execute(select(
            users.c.id, users.c.username, users.c.display_name, users.c.active,
            users.c.totp_secret.is_not(None).label("has_totp"))
            .where(users.c.lg_code == lg_code).order_by(users.c.username)).mappings().all()
        held = conn.execute(select(user_roles.c.user_id, user_roles.c.role).where(
            user_roles.c.user_id.in_([r["id"] for r in rows]))).all()
        waiting = throttle.waiting(conn, [r["username"] for r in rows])
    roles: dict[int, list[str]] = {}
    for user_id, role in held:
        roles.setdefault(user_id, []).append(role)
    return [dict(r) | {"roles": sorted(roles.get(r["id"], [])),
                       "waiting": r["username"] in waiting} for r in rows]


def lift_wait(db: Database, username: str, *, lg_code: str) -> bool:
    """The IT lead lets a user of the municipality try again at once (their failed
    logins forgotten); whether there were any."""
    with db.platform_tx() as conn:
        if conn.execute(select(users.c.id).where(users.c.username == username,
                                                 users.c.lg_code == lg_code)).first() is None:
            raise NotFound(f"利用者 {username} はいません", field="username")
        return throttle.clear(conn, username)


def set_roles(db: Database, username: str, role_names: list[str], *,
              lg_code: str | None = None, by: str | None = None) -> None:
    """Replace a user's roles (each of the user's scope), all or nothing; they hold from
    the user's next request. With ``lg_code``, only a user of that municipality. Nobody
    changes their own roles (``by``): another administrator does it, and it is seen."""
    if by is not None and by == username:
        raise Forbidden("自分の役割は変更できません。ほかの情報主管課の職員に依頼してください",
                        field="role")
    if not role_names:
        raise InvalidInput("役割を1つ以上選んでください", field="role")
    with db.platform_tx() as conn:
        query = select(users.c.id, users.c.scope).where(users.c.username == username)
        if lg_code is not None:
            query = query.where(users.c.lg_code == lg_code)
        row = conn.execute(query.with_for_update()).first()
        if row is None:
            raise NotFound(f"利用者 {username} はいません", field="username")
        scopes = dict(conn.execute(select(roles.c.name, roles.c.scope)
                                   .where(roles.c.name.in_(role_names))).all())
        wrong = [r for r in role_names if scopes.get(r) != row.scope]
        if wrong:
            raise InvalidInput(f"役割 {', '.join(wrong)} はこの利用者には付けられません",
                               field="role")
        conn.execute(delete(user_roles).where(user_roles.c.user_id == row.id))
        conn.execute(insert(user_roles), [{"user_id": row.id, "role": r}
                                          for r in dict.fromkeys(role_names)])


def set_active(db: Database, username: str, active: bool, *,
               lg_code: str | None = None) -> None:
    """Suspend or resume a user (a suspended one cannot log in; sessions end and API
    tokens are revoked); with ``lg_code``, only a user of that municipality."""
    with db.platform_tx() as conn:
        query = update(users).where(users.c.username == username)
        if lg_code is not None:
            query = query.where(users.c.lg_code == lg_code)
        if not conn.execute(query.values(active=active)).rowcount:
            raise NotFound(f"利用者 {username} はいません", field="username")
        if not active:
            end_sessions(conn, username)
            revoke_tokens_of(conn, username)


def _principal(conn: Connection, user_id: int) -> Principal:
    row = conn.execute(select(users).where(users.c.id == user_id)).mappings().one()
    grants = conn.execute(
        select(role_permissions.c.module, role_permissions.c.permission)
        .join(user_roles, user_roles.c.role == role_permissions.c.role)
        .where(user_roles.c.user_id == user_id)).all()
    return Principal(user_id=row["id"], username=row["username"], scope=Scope(row["scope"]),
                     lg_code=row["lg_code"],
                     grants=frozenset((m, Permission(p)) for m, p in grants))


def principal_for(db: Database, username: str) -> Principal:
    with db.platform_tx() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.username == username)
                               ).scalar_one_or_none()
        if user_id is None:
            raise NotFound(f"user {username} does not exist", field="username")
        return _principal(conn, user_id)


def mfa_required(db: Database, principal: Principal, on: date) -> bool:
    if principal.lg_code is None or not principal.sees_personal_data():
        return False
    values = params.get(db, principal.lg_code, PLATFORM_MODULE, on)
    assert isinstance(values, AuthParameters)
    return values.mfa_required_for_personal_data


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def totp_step(secret: str, code: str, *, at: datetime | None = None) -> int | None:
    """The time step (RFC 6238, 30 s) whose code ``code`` is, within one step of now
    either way (clocks drift); None if it is none of them."""
    totp = pyotp.TOTP(secret)
    now = at or utcnow()
    current = totp.timecode(now)
    for offset in (0, -1, 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code.strip()):
            return current + offset
    return None


def fresh_totp_step(secret: str, code: str | None, last_step: int | None) -> int | None:
    """The step of a code not used before: a code that logged in once never again
    (the last accepted step is kept per user)."""
    step = totp_step(secret, code or "")
    if step is None or (last_step is not None and step <= last_step):
        return None
    return step


LOGIN_FAILED = ("ログインできませんでした。利用者名・パスワード・確認コードを確かめてください。"
                "続けて失敗すると、次に試せるまでの時間が少しずつ長くなります")
"""The one answer to every failed login: wrong password or code, unknown or suspended
name, or an attempt that has to wait."""


class EnrolmentRequired(Unauthenticated):
    """Right password, but the municipality requires a second factor the user has not
    set (new, or reset by the IT lead): the user enrols it now, themselves."""


_DUMMY_HASH: list[str] = []


def _spend_like_a_check(password: str) -> None:
    """Verify against a hash nobody has: the same cost as checking a real password."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(_hasher.hash(secrets.token_urlsafe(16)))
    password_matches(_DUMMY_HASH[0], password)


def confirm_password(db: Database, username: str, password: str,
                     attempt: throttle.Attempt) -> None:
    """The signed-in user's password again, before an act that needs it (issuing a
    token); a wrong one counts as a failed login, and a waiting name is refused."""
    with db.platform_tx() as conn:
        waits = throttle.blocked(conn, attempt)
        stored = conn.execute(select(users.c.password_hash).where(
            users.c.username == username)).scalar_one()
        ok = not waits and password_matches(stored, password)
        if not ok and not waits:
            throttle.fail(conn, attempt)
    if not ok:
        raise InvalidInput("パスワードが正しくありません", field="password")


def authenticate(db: Database, username: str, password: str,
                 totp_code: str | None = None, *,
                 attempt: throttle.Attempt | None = None) -> Principal:
    """Check a login and record it in the trail. Every failure gets the same answer in
    the same time, whether the name exists, is suspended or has to wait
    (``throttle``)."""
    attempt = attempt or throttle.Attempt(username)
    with db.platform_tx() as conn:
        waits = throttle.blocked(conn, attempt)
        row = conn.execute(select(users).where(users.c.username == username)
                           .with_for_update()).mappings().first()
        reason = ("throttled" if waits else "unknown" if row is None
                  else "suspended" if not row["active"] else None)
        if reason is not None or row is None:
            _spend_like_a_check(password)
        elif not password_matches(row["password_hash"], password):
            reason = "password"
        elif row["totp_secret"]:
            step = fresh_totp_step(row["totp_secret"], totp_code, row["totp_last_step"])
            if step is None:
                reason = "second_factor"
            else:  # under the row's lock: a second login with the same code waits, fails
                conn.execute(update(users).where(users.c.id == row["id"])
                             .values(totp_last_step=step))
        if reason is None:
            throttle.clear(conn, username)
        elif reason != "throttled":
            waits = throttle.fail(conn, attempt)
    lg_code = None if row is None else row["lg_code"]
    if reason is not None:
        trail.record(db, attempt, "login_throttled" if reason == "throttled" else
                     "login_failed", lg_code=lg_code, reason=reason, waits=waits)
        raise Unauthenticated(LOGIN_FAILED)
    assert row is not None
    with db.platform_tx() as conn:
        principal = _principal(conn, row["id"])
    if not row["totp_secret"] and mfa_required(db, principal, utcnow().date()):
        trail.record(db, attempt, "login_needs_enrolment", lg_code=lg_code)
        raise EnrolmentRequired("この団体では二要素認証が必要です。認証アプリで下のコードを"
                                "読み取り、登録してください")
    trail.record(db, attempt, "login", lg_code=lg_code,
                 second_factor=bool(row["totp_secret"]))
    return principal


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
