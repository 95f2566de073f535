"""Data migration at scale: N residents' standard-layout export back into the same
municipality, freshly provisioned, on PostgreSQL with full validation (manifest
checksums included), beside a bare COPY of the same files in the same run.

    .venv/bin/python -m bench.import_layouts [--people 1000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console

from bench.scratch import scratch_database
from kumomura import catalog
from kumomura.platform.audit import AuditContext
from kumomura.platform.deployment import upgrade_platform
from kumomura.platform.exchange.exports import export_tenant
from kumomura.platform.exchange.imports import import_tenant
from kumomura.platform.exchange.layouts import all_layouts
from kumomura.platform.storage.db import Database, tenant_schema
from kumomura.platform.storage.migrate import drop_tenant_storage, provision_tenant
from kumomura.platform.tenancy.tenants import add_tenant
from kumomura.residents import public as residents

CTX = AuditContext(actor="bench")
console = Console(width=140)
TENANTS = (("062022", "米沢市"), ("062090", "長井市"))


def bare_copy(db: Database, lg_code: str, source: Path) -> tuple[int, float]:
    """The floor: each file straight into its table with COPY ... CSV HEADER, no checks."""
    schema = tenant_schema(lg_code)
    rows = 0
    started = time.perf_counter()
    with db.tenant_admin_tx(lg_code) as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        for layout in all_layouts():
            path = source / layout.file
            names = ", ".join(f.name for f in layout.fields)
            with raw.cursor() as cur:
                cur.execute(f"DELETE FROM \"{schema}\".{layout.table.name}")
                with cur.copy(f'COPY "{schema}".{layout.table.name} ({names}) '
                              "FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                        path.open("rb") as handle:
                    while block := handle.read(1 << 20):
                        copy.write(block)
            rows += sum(1 for _ in path.open("rb")) - 1
    return rows, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    args = parser.parse_args()
    catalog.install()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        db = Database(url, Path(tmp) / "unused")
        try:
            upgrade_platform(db)
            for code, name in TENANTS:
                add_tenant(db, code=code, name=name, prefecture="山形県",
                           population=args.people, actor="bench")
            started = time.perf_counter()
            residents.load_households(db, TENANTS[0][0], residents.Population(seed=3).households(
                args.people, date(2026, 11, 1), office="山形県米沢市"), on=date(2026, 11, 1),
                ctx=CTX, source="bench")
            console.print(f"generated {args.people:,} residents in "
                          f"{time.perf_counter() - started:.1f} s")
            files = Path(tmp) / "export"
            started = time.perf_counter()
            exported = export_tenant(db, TENANTS[0][0], files, ctx=CTX)
            export_seconds = time.perf_counter() - started
            total = sum(f.rows for f in exported)
            floor_rows, floor_seconds = bare_copy(db, TENANTS[1][0], files)
            # The same municipality, fresh (an export goes back only into its own tenant).
            drop_tenant_storage(db, TENANTS[0][0])
            provision_tenant(db, TENANTS[0][0])
            started = time.perf_counter()
            result = import_tenant(db, TENANTS[0][0], files, report_dir=Path(tmp) / "report")
            import_seconds = time.perf_counter() - started
            assert result.written, result.problems[:5]
        finally:
            db.dispose()
    console.print(f"rows in all files: {total:,} ({args.people:,} residents)")
    console.print(f"export:                     {total / export_seconds:10,.0f} rows/s "
                  f"({export_seconds:.1f} s)")
    console.print(f"bare COPY (floor):          {floor_rows / floor_seconds:10,.0f} rows/s "
                  f"({floor_seconds:.1f} s)")
    console.print(f"import, full validation:    {total / import_seconds:10,.0f} rows/s "
                  f"({import_seconds:.1f} s, {import_seconds / floor_seconds:.1f}x the floor)")


if __name__ == "__main__":
    main()
