"""Backup and restore of one municipality with N residents on PostgreSQL, beside a plain
pg_dump (custom format) and pg_restore of the same schema in the same run.

    .venv/bin/python -m bench.backup [--people 100000]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from sqlalchemy import make_url

from bench.scratch import scratch_database
from kumomura import catalog
from kumomura.platform.audit import AuditContext
from kumomura.platform.deployment import upgrade_platform
from kumomura.platform.resilience import backup
from kumomura.platform.storage.db import Database, tenant_schema
from kumomura.platform.tenancy.tenants import add_tenant
from kumomura.residents import public as residents

CTX = AuditContext(actor="bench")
CODE = "062022"
console = Console(width=120)


def _libpq(url: str) -> list[str]:
    u = make_url(url)
    return ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U",
            u.username or "postgres", "-d", u.database or ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()
    catalog.install()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        db = Database(url, Path(tmp))
        try:
            upgrade_platform(db)
            add_tenant(db, code=CODE, name="米沢市", prefecture="山形県",
                       population=args.people, actor="bench")
            day = date(2026, 11, 1)
            people = residents.Population(seed=5).households(args.people, day,
                                                             office="山形県米沢市")
            residents.load_households(db, CODE, people, on=day, ctx=CTX, source="bench")
            schema = tenant_schema(CODE)
            dump = Path(tmp) / "dump.pgc"
            started = time.perf_counter()
            subprocess.run(["pg_dump", *_libpq(url), "-n", schema, "-Fc", "-f", str(dump)],
                           check=True)
            dump_seconds = time.perf_counter() - started
            dump_size = dump.stat().st_size
            started = time.perf_counter()
            info = backup.run(db, CODE, Path(tmp) / "b", key_dir=Path(tmp) / "k", ctx=CTX)
            backup_seconds = time.perf_counter() - started
            started = time.perf_counter()
            subprocess.run(["pg_restore", *_libpq(url), "--clean", "--if-exists",
                            "--single-transaction", str(dump)], check=True,
                           capture_output=True)
            pg_restore_seconds = time.perf_counter() - started
            started = time.perf_counter()
            result = backup.restore(db, CODE, info.path, key_dir=Path(tmp) / "k")
            restore_seconds = time.perf_counter() - started
            assert result.written, result.problems[:3]
            started = time.perf_counter()
            [drill] = backup.drill(db, Path(tmp) / "b", key_dir=Path(tmp) / "k", ctx=CTX)
            drill_seconds = time.perf_counter() - started
            assert drill["result"] == "ok", drill["detail"]
        finally:
            db.dispose()
    console.print(f"{args.people:,} residents; backup {info.size:,} bytes "
                  f"(pg_dump -Fc {dump_size:,})")
    console.print(f"pg_dump (floor):      {dump_seconds:7.1f} s")
    console.print(f"backup run:           {backup_seconds:7.1f} s "
                  f"({backup_seconds / dump_seconds:.1f}x)")
    console.print(f"pg_restore (floor):   {pg_restore_seconds:7.1f} s")
    console.print(f"backup restore:       {restore_seconds:7.1f} s "
                  f"({restore_seconds / pg_restore_seconds:.1f}x)")
    console.print(f"drill (scratch restore + compare): {drill_seconds:.1f} s")


if __name__ == "__main__":
    main()
