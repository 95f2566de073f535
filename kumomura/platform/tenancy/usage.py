"""API calls per municipality and day, counted in memory and written every few seconds:
the usage key of the consortium's cost sharing, at no database write per request."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import BigInteger, Column, Date, String, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

from kumomura.platform.storage.db import Database, platform_metadata

api_calls_daily = Table(
    "api_calls_daily",
    platform_metadata,
    Column("lg_code", String(6), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("calls", BigInteger, nullable=False),
)

TENANT_PATH = re.compile(r"^/api/v1/t/(\d{6})/")


class CallCounter:
    """Counts held in the process until ``flush`` adds them to the table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, date]] = Counter()

    def count(self, path: str) -> None:
        found = TENANT_PATH.match(path)
        if found:
            with self._lock:
                self._counts[(found.group(1), date.today())] += 1

    def flush(self, db: Database) -> int:
        with self._lock:
            counts, self._counts = self._counts, Counter()
        if not counts:
            return 0
        dialect_insert = postgresql.insert if db.is_postgres else sqlite.insert
        with db.platform_tx() as conn:
            for (lg_code, day), calls in sorted(counts.items()):
                stmt = dialect_insert(api_calls_daily).values(lg_code=lg_code, day=day,
                                                              calls=calls)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["lg_code", "day"],
                    set_={"calls": api_calls_daily.c.calls + stmt.excluded.calls}))
        return sum(counts.values())

    def flush_every(self, db: Database, stop: threading.Event, seconds: float) -> None:
        while not stop.wait(seconds):
            self.flush(db)
        self.flush(db)


def calls_in_year(db: Database, lg_code: str, fiscal_year: int) -> int:
    """API calls of a municipality in a fiscal year (April to March)."""
    start = date(fiscal_year, 4, 1)
    end = date(fiscal_year + 1, 4, 1) - timedelta(days=1)
    with db.platform_tx() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(api_calls_daily.c.calls), 0))
                                .where(api_calls_daily.c.lg_code == lg_code,
                                       api_calls_daily.c.day.between(start, end)))
                   .scalar_one())
