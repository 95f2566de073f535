"""Loading many registry entries at once (data migration, demo, benchmark): numbers are
issued in one block, rows go in with COPY on PostgreSQL (executemany on SQLite), and the
whole load is one change of type ``import`` in one transaction: all or nothing.

Loaded entries are the municipality's existing registry, not 異動: no events are emitted,
and one audit entry records the load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, update

from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.japanese import kana_key, text_key
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.storage.db import Database, tenant_schema
from kumomura.platform.storage.numbering import counters, next_value, with_check_digit
from kumomura.residents.changes import NUMBER_WIDTH, STATE_FIELDS
from kumomura.residents.tables import atena, changes, households, resident_versions

VERSION_COLUMNS = ("atena_no", "version_no", "valid_from", "valid_to", "change_id",
                   "name_key", "kana_key", "address_key", "recorded_at", *STATE_FIELDS)
ATENA_COLUMNS = ("atena_no", "kind", "name", "kana", "kana_key", "birth_date", "sex",
                 "registered_by", "created_at")
HOUSEHOLD_COLUMNS = ("household_no", "created_on", "dissolved_on", "created_by_change")


class _Writer:
    """Rows out in batches: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, conn: Connection, lg_code: str) -> None:
        self.conn = conn
        self.schema = tenant_schema(lg_code)
        self.postgres = conn.dialect.name == "postgresql"

    def write(self, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.postgres:
            raw = self.conn.connection.driver_connection
            assert raw is not None
            names = ", ".join(columns)
            with raw.cursor() as cur, cur.copy(
                    f'COPY "{self.schema}".{table.name} ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self.conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])


def load(db: Database, lg_code: str, households_in: Iterable[list[dict[str, Any]]], *,
         on: date, ctx: AuditContext, source: str, batch: int = 20_000,
         progress: Callable[[int], None] | None = None) -> int:
    """Load households of full entries (householder first) into an empty or live registry;
    returns the number of people loaded."""
    with db.tenant_tx(lg_code) as conn:
        writer = _Writer(conn, lg_code)
        now = utcnow()
        change_id = conn.execute(insert(changes).values(
            change_type="import", effective_on=on, notified_on=None, is_late=False,
            reason=f"データ移行: {source}", detail={"source": source}, recorded_at=now,
            recorded_by=ctx.actor, request_id=ctx.request_id,
        ).returning(changes.c.change_id)).scalar_one()
        next_person = next_value(conn, "atena_no")
        next_household = next_value(conn, "household_no")
        people: list[tuple[Any, ...]] = []
        versions: list[tuple[Any, ...]] = []
        homes: list[tuple[Any, ...]] = []
        loaded = 0

        def flush() -> None:
            writer.write(households, HOUSEHOLD_COLUMNS, homes)
            writer.write(atena, ATENA_COLUMNS, people)
            writer.write(resident_versions, VERSION_COLUMNS, versions)
            if progress is not None:
                progress(len(versions))
            homes.clear()
            people.clear()
            versions.clear()

        for members in households_in:
            household_no = with_check_digit(next_household, NUMBER_WIDTH)
            next_household += 1
            homes.append((household_no, min(m["became_resident_on"] for m in members), None,
                          change_id))
            for m in members:
                atena_no = with_check_digit(next_person, NUMBER_WIDTH)
                next_person += 1
                key = kana_key(m["kana"])
                people.append((atena_no, "resident", m["name"], m["kana"], key,
                               m["birth_date"], m["sex"], "residents", now))
                state = {**m, "household_no": household_no}
                versions.append((atena_no, 1, m["became_resident_on"], None, change_id,
                                 text_key(m["name"]), key, text_key(m["address_town"]), now,
                                 *(state[f] for f in STATE_FIELDS)))
            loaded += len(members)
            if len(versions) >= batch:
                flush()
        flush()
        for series, last in (("atena_no", next_person - 1),
                             ("household_no", next_household - 1)):
            conn.execute(update(counters).where(counters.c.series == series)
                         .values(last_value=last))
        audit.record(conn, ctx, "residents.bulk_load",
                     detail={"change_id": change_id, "people": loaded, "source": source})
    return loaded
