"""Enrolling the TOTP second factor: by the staff member on their own page (with their
password), or by the municipality's IT lead for a user of that municipality.

A new secret is shown once (as a QR code and as text) and only kept when a code from
the authenticator app proves it was scanned: a mistyped enrolment never locks anyone out.
"""

from __future__ import annotations

import base64
import binascii
import io
from datetime import timedelta
from typing import Any

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from kumomura.platform.auth import user_roles, users
from kumomura.platform.config import get_settings
from kumomura.platform.db import Database
from kumomura.platform.errors import FieldProblem, NotFound, invalid
from kumomura.platform.timeutil import as_utc, utcnow

ISSUER = "kumomura"
_hasher = PasswordHasher()


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(username: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code for the authenticator app to scan."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False,
                                     svgns=True, title="二要素認証の登録用QRコード")
    return out.getvalue().decode("utf-8")


def enrol(db: Database, username: str, secret: str, code: str, *,
          password: str | None = None, current_code: str | None = None,
          lg_code: str | None = None) -> None:
    """Keep ``secret`` as the user's second factor once ``code`` proves it works.

    Self-service (``password`` given): the password, and the current app's code when a
    second factor is set already; a wrong password counts towards the lock-out, as at
    login. With ``lg_code``: only a user of that municipality (its IT lead). Refused
    fields are named; nothing else changes then."""
    problems: list[FieldProblem] = []
    with db.platform_tx() as conn:
        row = conn.execute(select(users.c.id, users.c.password_hash, users.c.lg_code,
                                  users.c.totp_secret, users.c.locked_until)
                           .where(users.c.username == username)
                           .with_for_update()).mappings().first()
        if row is None or (lg_code is not None and row["lg_code"] != lg_code):
            raise NotFound(f"利用者 {username} はいません", field="username")
        wrong_password = password is not None and (
            (row["locked_until"] is not None and as_utc(row["locked_until"]) > utcnow())
            or not _password_ok(row["password_hash"], password))
        if wrong_password:
            problems.append(FieldProblem("password", "パスワードが正しくありません"))
        if password is not None and row["totp_secret"] and not _verifies(
                row["totp_secret"], current_code or ""):
            problems.append(FieldProblem("current_code", "いま使っている認証アプリの確認コード"
                                                         "が正しくありません"))
        if not _verifies(secret, code):
            problems.append(FieldProblem("code", "確認コードが正しくありません。"
                                                 "アプリに表示された6桁の数字を入力してください"))
        if not problems:
            conn.execute(update(users).where(users.c.id == row["id"])
                         .values(totp_secret=secret))
            return
    if wrong_password:
        _count_failure(db, row["id"])
    raise invalid(problems)


def _count_failure(db: Database, user_id: int) -> None:
    """A wrong password here counts as a failed login (and locks the account alike)."""
    settings = get_settings()
    with db.platform_tx() as conn:
        failures = conn.execute(select(users.c.failed_logins).where(users.c.id == user_id)
                                .with_for_update()).scalar_one() + 1
        values: dict[str, Any] = {"failed_logins": failures}
        if failures >= settings.login_max_failures:
            values = {"failed_logins": 0, "locked_until": utcnow() + timedelta(
                minutes=settings.login_lock_minutes)}
        conn.execute(update(users).where(users.c.id == user_id).values(**values))


def valid_secret(secret: str | None) -> bool:
    """Base32 of at least 80 bits, as pyotp makes them (anything else is not shown)."""
    try:
        return bool(secret) and len(secret or "") >= 16 and bool(
            base64.b32decode(secret or "", casefold=True))
    except (ValueError, binascii.Error):
        return False


def _verifies(secret: str, code: str) -> bool:
    """Whether ``code`` is the app's current code for ``secret``."""
    return valid_secret(secret) and bool(pyotp.TOTP(secret).verify(code.strip(),
                                                                   valid_window=1))


def _password_ok(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def users_of(db: Database, lg_code: str) -> list[dict[str, Any]]:
    """The municipality's users as its IT lead sees them (never the secrets)."""
    with db.platform_tx() as conn:
        rows = conn.execute(select(
            users.c.id, users.c.username, users.c.display_name, users.c.active,
            users.c.locked_until, users.c.totp_secret.is_not(None).label("has_totp"))
            .where(users.c.lg_code == lg_code).order_by(users.c.username)).mappings().all()
        held = conn.execute(select(user_roles.c.user_id, user_roles.c.role).where(
            user_roles.c.user_id.in_([r["id"] for r in rows]))).all()
    roles: dict[int, list[str]] = {}
    for user_id, role in held:
        roles.setdefault(user_id, []).append(role)
    return [dict(r) | {"roles": sorted(roles.get(r["id"], []))} for r in rows]


def has_totp(db: Database, username: str) -> bool:
    with db.platform_tx() as conn:
        return bool(conn.execute(select(users.c.totp_secret.is_not(None))
                                 .where(users.c.username == username)).scalar())
