"""API tokens for the municipality's other systems: scoped, short-lived, revocable.

A token names what it may do, module by module ("residents:view", "linkage:view"), never
more than its user may: at every request it holds only those of its scopes that the
user's roles still grant, so removing a role narrows every token at once and adding one
widens none. It lasts 90 days unless told otherwise (at most a year), is revoked by a
new password or a suspension of its user, and the municipality's IT lead lists and
revokes its users' tokens. A token for personal data is issued only with a fresh code of
the user's second factor where the municipality requires one for personal data, as at
login. Only its hash is stored, so it is shown once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from kumomura.platform.core.errors import InvalidInput, NotFound, Unauthenticated
from kumomura.platform.core.timeutil import as_utc, utcnow
from kumomura.platform.identity import trail
from kumomura.platform.identity.auth import (
    PERSONAL_DATA_MODULES,
    Permission,
    Principal,
    Scope,
    fresh_totp_step,
    mfa_required,
    principal_for,
    revoke_tokens_of,
    token_hash,
)
from kumomura.platform.identity.tables import api_tokens, role_permissions, user_roles, users
from kumomura.platform.identity.throttle import Attempt
from kumomura.platform.storage.db import Database

DEFAULT_DAYS = 90
MAX_DAYS = 365

Grant = tuple[str, Permission]


def scope_text(grant: Grant) -> str:
    return f"{grant[0]}:{grant[1]}"


def parse_scopes(texts: Iterable[str]) -> frozenset[Grant]:
    """``module:permission`` strings (``residents:view``); a malformed one is named."""
    grants = set()
    for text in texts:
        module, _, permission = text.partition(":")
        if not module or permission not in {p.value for p in Permission}:
            raise InvalidInput(f"scope {text!r}: 業務:権限 (例 residents:view) で指定してください",
                               field="scopes")
        grants.add((module, Permission(permission)))
    return frozenset(grants)


def issue(db: Database, username: str, name: str, *, scopes: Iterable[Grant] | None = None,
          days: int = DEFAULT_DAYS, totp_code: str | None = None, by: str | None = None,
          attempt: Attempt | None = None) -> str:
    """A token for ``username`` with ``scopes`` (default: what the user may do now, fixed
    at that); refused, naming the field, for a scope beyond the user's, a life beyond a
    year, or personal data without the second factor the municipality requires."""
    principal = principal_for(db, username)
    wanted = frozenset(scopes) if scopes is not None else principal.grants
    beyond = sorted(scope_text(g) for g in wanted if not principal.can(*g))
    if not wanted or beyond:
        raise InvalidInput(f"{', '.join(beyond) or '権限'}: {username} の役割にない権限は"
                           "トークンに付けられません", field="scopes")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"有効期間は1日から{MAX_DAYS}日までです", field="days")
    personal = any(module in PERSONAL_DATA_MODULES for module, _ in wanted)
    with db.platform_tx() as conn:
        row = conn.execute(select(users.c.id, users.c.active, users.c.totp_secret,
                                  users.c.totp_last_step).where(users.c.username == username)
                           .with_for_update()).mappings().one()
        if not row["active"]:
            raise InvalidInput(f"{username} は停止されています", field="username")
        if personal and mfa_required(db, principal, utcnow().date()):
            step = None if row["totp_secret"] is None else fresh_totp_step(
                row["totp_secret"], totp_code, row["totp_last_step"])
            if step is None:
                raise InvalidInput("この団体では、個人情報を扱うトークンの発行に本人の二要素認証"
                                   "の確認コードが必要です", field="totp_code")
            conn.execute(update(users).where(users.c.id == row["id"])
                         .values(totp_last_step=step))
        token = "kmr_" + secrets.token_urlsafe(32)
        now = utcnow()
        conn.execute(insert(api_tokens).values(
            user_id=row["id"], name=name, token_hash=token_hash(token), created_at=now,
            expires_at=now + timedelta(days=days), scopes=sorted(map(scope_text, wanted)),
            issued_by=by or username))
    trail.record(db, attempt or Attempt(username), "token_issued", lg_code=principal.lg_code,
                 actor=by, name=name, scopes=sorted(map(scope_text, wanted)), days=days)
    return token


def principal_from(db: Database, token: str) -> Principal:
    """The caller behind a token, with the scopes its user's roles still grant, in one
    query (every request)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(api_tokens.c.expires_at, api_tokens.c.revoked_at, api_tokens.c.scopes,
                   users.c.id, users.c.username, users.c.scope, users.c.lg_code,
                   users.c.active, role_permissions.c.module, role_permissions.c.permission)
            .join(users, users.c.id == api_tokens.c.user_id)
            .outerjoin(user_roles, user_roles.c.user_id == users.c.id)
            .outerjoin(role_permissions, role_permissions.c.role == user_roles.c.role)
            .where(api_tokens.c.token_hash == token_hash(token))).all()
    first = rows[0] if rows else None
    if first is None or first.revoked_at is not None or not first.active or (
        first.expires_at is not None and as_utc(first.expires_at) <= utcnow()
    ):
        raise Unauthenticated("invalid or expired API token")
    held = Principal(user_id=first.id, username=first.username, scope=Scope(first.scope),
                     lg_code=first.lg_code,
                     grants=frozenset((r.module, Permission(r.permission)) for r in rows
                                      if r.module is not None))
    scoped = frozenset(g for g in parse_scopes(first.scopes or []) if held.can(*g))
    return Principal(user_id=held.user_id, username=held.username, scope=held.scope,
                     lg_code=held.lg_code, grants=scoped)


def of_municipality(db: Database, lg_code: str) -> list[dict[str, Any]]:
    """The municipality's users' tokens, newest first, for its IT lead (never the token)."""
    with db.platform_tx() as conn:
        return [dict(r) for r in conn.execute(
            select(api_tokens.c.id, users.c.username, api_tokens.c.name, api_tokens.c.scopes,
                   api_tokens.c.created_at, api_tokens.c.expires_at, api_tokens.c.revoked_at,
                   api_tokens.c.issued_by, api_tokens.c.revoked_by)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(users.c.lg_code == lg_code).order_by(api_tokens.c.id.desc())).mappings()]


def revoke(db: Database, token_id: int, *, lg_code: str, by: str,
           attempt: Attempt | None = None) -> None:
    """The IT lead revokes one of the municipality's tokens (another's is not found)."""
    with db.platform_tx() as conn:
        found = conn.execute(
            select(api_tokens.c.id, api_tokens.c.name, users.c.username)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.id == token_id, users.c.lg_code == lg_code)).first()
        if found is None:
            raise NotFound(f"トークン {token_id} はありません", field="token_id")
        conn.execute(update(api_tokens).where(api_tokens.c.id == token_id,
                                              api_tokens.c.revoked_at.is_(None))
                     .values(revoked_at=utcnow(), revoked_by=by))
    trail.record(db, attempt or Attempt(found.username), "token_revoked", lg_code=lg_code,
                 actor=by, name=found.name, token_id=token_id)


def revoke_all(db: Database, username: str) -> int:
    """Revoke every live token of a user (the CLI's, for a system taken out of use)."""
    with db.platform_tx() as conn:
        if conn.execute(select(users.c.id).where(users.c.username == username)).first() is None:
            raise NotFound(f"user {username} does not exist", field="username")
        return revoke_tokens_of(conn, username)
