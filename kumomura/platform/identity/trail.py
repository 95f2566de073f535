"""The trail of sign-ins and credential changes.

A municipality's staff member's logins, failures, waits, logouts and changes of password,
second factor, roles and tokens go in that municipality's own audit trail (chained and
sealed, where its IT lead and auditors read them). Names that are no municipality's
staff (unknown names, the secretariat, the operator) go in the control plane's
``auth_events``, which its login may only append to. Never a password, code or secret.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from kumomura.platform import audit
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.identity.tables import auth_events, users
from kumomura.platform.identity.throttle import Attempt
from kumomura.platform.storage.db import Database


def record(db: Database, attempt: Attempt, action: str, *, lg_code: str | None,
           actor: str | None = None, **detail: Any) -> None:
    """One ``auth.<action>`` entry about ``attempt.username``, by ``actor`` (the user
    themselves unless someone else acted, e.g. the IT lead)."""
    if lg_code is not None:
        ctx = audit.AuditContext(actor=actor or attempt.username,
                                 request_id=attempt.request_id,
                                 client_addr=attempt.client_addr)
        with db.tenant_tx(lg_code) as conn:
            audit.record(conn, ctx, f"auth.{action}",
                         detail={"username": attempt.username, **detail})
        return
    with db.platform_tx() as conn:
        conn.execute(insert(auth_events).values(
            at=utcnow(), username=attempt.username[:200], action=action,
            client_addr=attempt.client_addr, request_id=attempt.request_id,
            detail={**detail, **({"actor": actor} if actor else {})} or None))


def municipality_of(db: Database, username: str) -> str | None:
    """The municipality whose trail holds a name's events (None: the control plane's)."""
    with db.platform_tx() as conn:
        return conn.execute(select(users.c.lg_code).where(users.c.username == username)
                            ).scalar_one_or_none()


def platform_events(db: Database, *, username: str | None = None,
                    limit: int = 200) -> list[dict[str, Any]]:
    """The latest sign-in events outside the municipalities, newest first."""
    query = select(auth_events).order_by(auth_events.c.id.desc()).limit(limit)
    if username is not None:
        query = query.where(auth_events.c.username == username)
    with db.platform_tx() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
