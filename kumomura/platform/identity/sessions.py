"""Browser sessions of staff: a random token in an HttpOnly cookie, its hash stored here.

A session ends at logout, after the municipality's idle timeout (``idle_timeout_minutes``,
read at login), or 12 hours after login whatever the activity. Activity is written at
most once a minute, so a page view does not cost a write.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select, update

from kumomura.platform import params
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.errors import Unauthenticated
from kumomura.platform.core.timeutil import as_utc, utcnow
from kumomura.platform.identity import auth
from kumomura.platform.identity.tables import users, web_sessions
from kumomura.platform.storage.db import Database

MAX_AGE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)
DEFAULT_IDLE_MINUTES = 30


def _idle_minutes(db: Database, principal: auth.Principal) -> int:
    if principal.lg_code is None:
        return DEFAULT_IDLE_MINUTES
    values = params.get(db, principal.lg_code, PLATFORM_MODULE, date.today())
    assert isinstance(values, auth.AuthParameters)
    return values.idle_timeout_minutes


def start(db: Database, principal: auth.Principal) -> str:
    """A new session for a user who has just logged in; the token goes in the cookie."""
    token = "kms_" + secrets.token_urlsafe(32)
    now = utcnow()
    with db.platform_tx() as conn:
        conn.execute(insert(web_sessions).values(
            token_hash=auth.token_hash(token), user_id=principal.user_id, created_at=now,
            last_seen_at=now, idle_minutes=_idle_minutes(db, principal)))
    return token


def principal_of(db: Database, token: str) -> auth.Principal:
    """The user of a live session; an ended, idle or too old session, or one of a user
    suspended since, is refused."""
    key = auth.token_hash(token)
    now = utcnow()
    with db.platform_tx() as conn:
        row = conn.execute(select(web_sessions, users.c.username, users.c.active)
                           .join(users, users.c.id == web_sessions.c.user_id)
                           .where(web_sessions.c.token_hash == key)).mappings().first()
        if row is None or row["ended_at"] is not None:
            raise Unauthenticated("ログインしてください")
        if not row["active"]:  # suspended since the login (set_active ends it as well)
            raise Unauthenticated("この利用者は停止されています")
        seen = as_utc(row["last_seen_at"])
        if now - seen > timedelta(minutes=row["idle_minutes"]) or \
                now - as_utc(row["created_at"]) > MAX_AGE:
            conn.execute(update(web_sessions).where(web_sessions.c.token_hash == key)
                         .values(ended_at=now))
            raise Unauthenticated("一定時間操作がなかったため、ログアウトしました")
        if now - seen > TOUCH_EVERY:
            conn.execute(update(web_sessions).where(web_sessions.c.token_hash == key)
                         .values(last_seen_at=now))
        username = row["username"]
    return auth.principal_for(db, username)


def started_at(db: Database, token: str) -> datetime | None:
    """When the session's login was (an ID token's ``auth_time``)."""
    with db.platform_tx() as conn:
        at = conn.execute(select(web_sessions.c.created_at).where(
            web_sessions.c.token_hash == auth.token_hash(token))).scalar_one_or_none()
    return None if at is None else as_utc(at)


def end(db: Database, token: str) -> auth.Principal | None:
    """End a live session (logout); whose it was, or None if none was live."""
    with db.platform_tx() as conn:
        user_id = conn.execute(update(web_sessions).where(
            web_sessions.c.token_hash == auth.token_hash(token),
            web_sessions.c.ended_at.is_(None)).values(ended_at=utcnow())
            .returning(web_sessions.c.user_id)).scalar_one_or_none()
        username = None if user_id is None else conn.execute(
            select(users.c.username).where(users.c.id == user_id)).scalar_one()
    return None if username is None else auth.principal_for(db, username)
