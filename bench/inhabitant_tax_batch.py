"""当初課税 of N synthetic taxpayers on PostgreSQL, beside the floor measured in the same run:
COPY out of the same returns and family rows plus COPY in of the same number of
assessment rows (into a copy of the table with its indexes). Then the rerun (which must
write nothing) and the notice rendering rate of one core.

    .venv/bin/python -m bench.inhabitant_tax_batch [--people 1000000] [--workers 2]

The job is started through the module's public API; the floor and the rendering rate
are timed on the module's own tables and renderer, white-box as its tests are.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl
from rich.console import Console
from sqlalchemy import func, select, text

from bench.scratch import scratch_database
from kumomura import catalog
from kumomura.inhabitant_tax import batch, synthetic
from kumomura.inhabitant_tax import public as tax
from kumomura.inhabitant_tax.forms import NoticeHeader, ordinary_notices
from kumomura.inhabitant_tax.tables import assessments, income_family, income_returns
from kumomura.platform.core.config import Settings
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.pool import run_in_pool
from kumomura.platform.storage.db import Database, tenant_schema
from kumomura.platform.storage.frames import continue_sequences, write_frame
from kumomura.platform.tenancy.tenants import add_tenant

console = Console(width=140)
CODE = "062022"
YEAR = 2026


def load(db: Database, people: int) -> None:
    returns, family = synthetic.returns(people, YEAR - 1, seed=7)
    with db.tenant_admin_tx(CODE) as conn:
        for start in range(0, people, 200_000):
            write_frame(conn, income_returns, returns.slice(start, 200_000))
        write_frame(conn, income_family, family)
        continue_sequences(conn, income_returns)
        conn.execute(text(f'ANALYZE "{tenant_schema(CODE)}".income_returns'))
        conn.execute(text(f'ANALYZE "{tenant_schema(CODE)}".income_family'))


def floor(db: Database) -> float:
    """Move the batch's rows and nothing else: COPY the returns and family out, COPY the
    assessments (as written) out to memory, then in again into a copy of their table."""
    schema = tenant_schema(CODE)
    started = time.perf_counter()
    with db.tenant_admin_tx(CODE) as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            for table in ("income_returns", "income_family"):
                with cur.copy(f'COPY "{schema}".{table} TO STDOUT (FORMAT csv)') as copy:
                    for _ in copy:
                        pass
            cur.execute(f'CREATE TABLE "{schema}".floor_copy (LIKE "{schema}".assessments '
                        "INCLUDING ALL)")
    copy_out = time.perf_counter() - started
    with db.tenant_admin_tx(CODE) as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        buffer = io.BytesIO()
        with raw.cursor() as cur:
            with cur.copy(f'COPY "{schema}".assessments TO STDOUT (FORMAT csv)') as copy:
                for block in copy:
                    buffer.write(block)
            data = buffer.getvalue()
            # Reading the results back is not part of the batch: not timed.
            started = time.perf_counter()
            with cur.copy(f'COPY "{schema}".floor_copy FROM STDIN (FORMAT csv)') as copy:
                copy.write(data)
            copy_in = time.perf_counter() - started
            cur.execute(f'DROP TABLE "{schema}".floor_copy')
    return copy_out + copy_in


def notice_rate(db: Database, pages: int) -> float:
    """Pages per second of one core rendering 納税通知書 from the assessments."""
    with db.tenant_tx(CODE) as conn:
        rows = pl.DataFrame(conn.execute(select(assessments).where(
            ~assessments.c.special_collection, assessments.c.total > 0).limit(pages))
            .mappings().all())
    records = rows.with_columns(name=pl.lit("合成 太郎"), postal_code=pl.lit("992-0012"),
                                address=pl.lit("山形県米沢市金池三丁目1番55号")).to_dicts()
    header = NoticeHeader(fiscal_year=YEAR, municipality="米沢市", prefecture="山形県",
                          mayor_title="米沢市長", mayor_name="合成 市長",
                          issued_on=date(YEAR, 6, 10),
                          due_dates=(date(YEAR, 6, 30), date(YEAR, 8, 31), date(YEAR, 11, 2),
                                     date(YEAR + 1, 2, 1)))
    ordinary_notices(header, records[:10])  # fonts loaded before timing
    started = time.perf_counter()
    pdf = ordinary_notices(header, records)
    seconds = time.perf_counter() - started
    console.print(f"notice PDF: {len(records):,} pages, {len(pdf) / len(records):,.0f} "
                  "bytes per page")
    return len(records) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=batch.DEFAULT_CHUNK)
    parser.add_argument("--pages", type=int, default=5_000)
    args = parser.parse_args()
    catalog.install()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        db = Database(url, Path(tmp))
        settings = Settings(database_url=url, data_dir=Path(tmp))
        try:
            from kumomura.platform.deployment import upgrade_platform

            upgrade_platform(db)
            add_tenant(db, code=CODE, name="米沢市", prefecture="山形県",
                       population=args.people, actor="bench")
            started = time.perf_counter()
            load(db, args.people)
            console.print(f"loaded {args.people:,} synthetic returns in "
                          f"{time.perf_counter() - started:.1f} s")

            job_id = tax.start_assessment(db, CODE, YEAR, actor="bench", chunk_size=args.chunk)
            started = time.perf_counter()
            run_in_pool(db, settings, job_id, workers=args.workers)
            batch_seconds = time.perf_counter() - started
            with db.tenant_tx(CODE) as conn:
                written = int(conn.execute(select(func.count()).select_from(assessments))
                              .scalar_one())
                problems = len(batch.problem_rows(conn, job_id))
            floor_seconds = floor(db)

            again = tax.start_assessment(db, CODE, YEAR, actor="bench", chunk_size=args.chunk)
            started = time.perf_counter()
            jobs.run_in_process(db, again)
            rerun_seconds = time.perf_counter() - started
            with db.tenant_tx(CODE) as conn:
                after = conn.execute(select(func.count()).select_from(assessments)).scalar()
            assert after == written, (after, written)
            rate = notice_rate(db, args.pages)
        finally:
            db.dispose()
    console.print(f"assessed: {written:,} ({problems:,} refused rows), "
                  f"chunks of {args.chunk:,}, {args.workers} worker processes")
    console.print(f"floor (COPY out + COPY in):  {floor_seconds:7.1f} s")
    console.print(f"batch wall time:             {batch_seconds:7.1f} s "
                  f"({batch_seconds / floor_seconds:.2f}x the floor, "
                  f"{written / batch_seconds:,.0f} taxpayers/s)")
    console.print(f"rerun (writes nothing):      {rerun_seconds:7.1f} s")
    console.print(f"notices, one core:           {rate:7,.0f} pages/s")


if __name__ == "__main__":
    main()
