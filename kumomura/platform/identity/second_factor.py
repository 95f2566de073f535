"""Enrolling the TOTP second factor, always by its owner with their password: on their
own page, or at login where the municipality requires one. The IT lead only resets it.

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
from kumomura.platform.identity import throttle
from kumomura.platform.identity.auth import (
    end_sessions,
    note_reset,
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
          lg_code: str | None = None, attempt: throttle.Attempt | None = None) -> None:
    """Keep ``secret`` as the user's second factor once ``code`` proves it works.

    Self-service (``password`` given): the password, and the current app's code when a
    second factor is set already; a wrong password counts as a failed login (and a name
    made to wait is refused, as at login). With ``lg_code``: only a user of that
    municipality. Refused fields are named; nothing else changes then."""
    problems: list[FieldProblem] = []
    attempt = attempt or throttle.Attempt(username)
    with db.platform_tx() as conn:
        row = conn.execute(select(users.c.id, users.c.password_hash, users.c.lg_code,
                                  users.c.totp_secret)
                           .where(users.c.username == username)
                           .with_for_update()).mappings().first()
        if row is None or (lg_code is not None and row["lg_code"] != lg_code):
            raise NotFound(f"利用者 {username} はいません", field="username")
        waits = password is not None and throttle.blocked(conn, attempt)
        wrong_password = password is not None and (
            waits or not password_matches(row["password_hash"], password))
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
    if wrong_password and not waits:  # in its own transaction, as at login
        with db.platform_tx() as conn:
            throttle.fail(conn, attempt)
    raise invalid(problems)


def reset(db: Database, username: str, *, lg_code: str, by: str | None = None) -> None:
    """Forget a user's second factor (a lost phone): the user enrols a new one
    themselves, with their password, at the next login where the municipality requires
    it, or on their own page. Their open sessions end."""
    with db.platform_tx() as conn:
        found = conn.execute(update(users).where(users.c.username == username,
                                                 users.c.lg_code == lg_code)
                             .values(totp_secret=None)).rowcount
        if not found:
            raise NotFound(f"利用者 {username} はいません", field="username")
        note_reset(conn, username, "totp", by)
        end_sessions(conn, username)


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
