"""Enrolling the TOTP second factor: by the staff member on their own page (with their
password), or by the municipality's IT lead for a user of that municipality.

A new secret is shown once (as a QR code and as text) and only kept when a code from
the authenticator app proves it was scanned: a mistyped enrolment never locks anyone out.
"""

from __future__ import annotations

import base64
import binascii
import io

import pyotp
import segno
from sqlalchemy import select, update

from kumomura.platform.core.errors import FieldProblem, NotFound, invalid
from kumomura.platform.identity.auth import (
    count_failure,
    is_locked,
    password_matches,
    totp_step,
)
from kumomura.platform.identity.tables import users
from kumomura.platform.storage.db import Database

ISSUER = "kumomura"


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
                                  users.c.totp_secret, users.c.locked_until,
                                  users.c.failed_logins)
                           .where(users.c.username == username)
                           .with_for_update()).mappings().first()
        if row is None or (lg_code is not None and row["lg_code"] != lg_code):
            raise NotFound(f"利用者 {username} はいません", field="username")
        wrong_password = password is not None and (
            is_locked(row["locked_until"])
            or not password_matches(row["password_hash"], password))
        if wrong_password:
            problems.append(FieldProblem("password", "パスワードが正しくありません"))
        if password is not None and row["totp_secret"] and not _verifies(
                row["totp_secret"], current_code or ""):
            problems.append(FieldProblem("current_code", "いま使っている認証アプリの確認コード"
                                                         "が正しくありません"))
        if not _verifies(secret, code):
            problems.append(FieldProblem("code", "確認コードが正しくありません。"
                                                 "アプリに表示された6桁の数字を入力してください"))
        if not problems:  # the enrolment's code does not log in afterwards
            conn.execute(update(users).where(users.c.id == row["id"])
                         .values(totp_secret=secret, totp_last_step=totp_step(secret, code)))
            return
    if wrong_password:  # in its own transaction: nothing else of the refusal is kept
        with db.platform_tx() as conn:
            count_failure(conn, row["id"], row["failed_logins"])
    raise invalid(problems)


def enrol_unconfirmed(db: Database, username: str) -> str:
    """A new secret kept at once, without a code back (the demo's users, whose URIs it
    prints); returns the provisioning URI."""
    secret = new_secret()
    with db.platform_tx() as conn:
        found = conn.execute(update(users).where(users.c.username == username)
                             .values(totp_secret=secret)).rowcount
    if not found:
        raise NotFound(f"利用者 {username} はいません", field="username")
    return provisioning_uri(username, secret)


def valid_secret(secret: str | None) -> bool:
    """Base32 of at least 80 bits, as pyotp makes them (anything else is not shown)."""
    try:
        return bool(secret) and len(secret or "") >= 16 and bool(
            base64.b32decode(secret or "", casefold=True))
    except (ValueError, binascii.Error):
        return False


def _verifies(secret: str, code: str) -> bool:
    """Whether ``code`` is the app's current code for ``secret``."""
    return valid_secret(secret) and totp_step(secret, code) is not None


def has_totp(db: Database, username: str) -> bool:
    with db.platform_tx() as conn:
        return bool(conn.execute(select(users.c.totp_secret.is_not(None))
                                 .where(users.c.username == username)).scalar())
