"""Throttled logins: growing delays per account name and per client address, never a
lock-out that a stranger can set off.

After ``login_free_failures`` failures of one name (ten times as many from one address:
a town hall's staff share one), each further failure makes the next attempt wait
twice as long as the last, from one second up to ``login_max_delay_seconds``. An
attempt made while waiting is refused like any failure, without looking at the
password, and does not lengthen the wait: someone guessing gets a few tries an hour,
the member of staff who mistyped waits seconds. Names are throttled whether or not
the account exists, so the answer never tells which ones do. A login that succeeds
clears its name's count; failures are forgotten a day after the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from kumomura.platform.core.config import get_settings
from kumomura.platform.core.timeutil import as_utc, utcnow
from kumomura.platform.identity.tables import login_throttle

ADDRESS_FACTOR = 10
"""An address gets this many times the free failures of one name."""
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Attempt:
    """Where a login comes from: the name typed and the client's address."""

    username: str
    client_addr: str | None = None
    request_id: str | None = None

    def throttle_keys(self) -> list[tuple[str, int]]:
        """The throttle keys of this attempt, with the failures each may have for free."""
        free = get_settings().login_free_failures
        keys = [(f"account:{self.username.casefold()[:180]}", free)]
        if self.client_addr:
            keys.append((f"address:{self.client_addr[:180]}", free * ADDRESS_FACTOR))
        return keys


def blocked(conn: Connection, attempt: Attempt, *, now: datetime | None = None) -> bool:
    """Whether the attempt has to wait (by its name or by its address)."""
    now = now or utcnow()
    rows = conn.execute(select(login_throttle.c.blocked_until).where(
        login_throttle.c.key.in_([k for k, _ in attempt.throttle_keys()]))).scalars().all()
    return any(until is not None and as_utc(until) > now for until in rows)


def delay(failures: int, free: int) -> timedelta | None:
    """The wait after ``failures`` failures: none within the free ones, then 1 s, 2 s,
    4 s ... up to the maximum."""
    beyond = failures - free
    if beyond <= 0:
        return None
    limit = get_settings().login_max_delay_seconds
    return timedelta(seconds=min(2 ** min(beyond - 1, 30), limit))


def fail(conn: Connection, attempt: Attempt, *, now: datetime | None = None) -> bool:
    """Count one failure on the attempt's name and address; whether it now waits."""
    now = now or utcnow()
    conn.execute(delete(login_throttle).where(
        login_throttle.c.last_failure_at < now - FORGET_AFTER))
    waits = False
    for key, free in attempt.throttle_keys():
        row = conn.execute(select(login_throttle.c.failures).where(
            login_throttle.c.key == key).with_for_update()).first()
        failures = (row[0] if row else 0) + 1
        wait = delay(failures, free)
        values = {"failures": failures, "last_failure_at": now,
                  "blocked_until": None if wait is None else now + wait}
        if row is None:
            conn.execute(insert(login_throttle).values(key=key, **values))
        else:
            conn.execute(update(login_throttle).where(login_throttle.c.key == key)
                         .values(**values))
        waits = waits or wait is not None
    return waits


def clear(conn: Connection, username: str) -> bool:
    """Forget a name's failures (a successful login, or the IT lead lifting the wait);
    whether there were any."""
    return bool(conn.execute(delete(login_throttle).where(
        login_throttle.c.key == f"account:{username.casefold()[:180]}")).rowcount)


def waiting(conn: Connection, usernames: list[str]) -> set[str]:
    """Which of these names are made to wait now (for the IT lead's list of users)."""
    now = utcnow()
    keys = {f"account:{name.casefold()[:180]}": name for name in usernames}
    rows = conn.execute(select(login_throttle.c.key, login_throttle.c.blocked_until)
                        .where(login_throttle.c.key.in_(list(keys)))).all()
    return {keys[key] for key, until in rows if until is not None and as_utc(until) > now}
