"""Schema-per-tenant at scale: how long `db upgrade` takes over N tenants on PostgreSQL.

Prints seconds per tenant for (a) adding tenants, (b) migrating every tenant schema from
nothing with `db upgrade`'s parallel path, (c) `db upgrade` when all are already at head,
next to the floor: the same tables created with plain CREATE TABLE (metadata.create_all,
one connection, a transaction per schema, no Alembic, no roles) for the same number of
schemas, in the same run.

    .venv/bin/python -m bench.tenants [--tenants 200] [--workers 4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.scratch import scratch_database
from kumomura import catalog
from kumomura.platform.core.japanese import lg_check_digit
from kumomura.platform.deployment import upgrade_platform, upgrade_tenants
from kumomura.platform.storage.db import Database, tenant_metadata
from kumomura.platform.storage.migrate import drop_tenant_storage
from kumomura.platform.tenancy.tenants import PREFECTURES, add_tenant, tenant_codes

ADMIN_URL = os.environ.get("KUMOMURA_TEST_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def synthetic_codes(n: int) -> list[tuple[str, str]]:
    """Valid local government codes (check digit included), spread over prefectures."""
    codes = []
    for i in range(n):
        pref = i % 47 + 1
        five = f"{pref:02d}{200 + i // 47:03d}"
        codes.append((five + str(lg_check_digit(five)), PREFECTURES[pref - 1]))
    return codes


def _measure(db: Database, n: int, workers: int) -> tuple[float, float, float, float, list[str]]:
    """Seconds for: tenant add, upgrade at head, upgrade from nothing, the floor."""
    upgrade_platform(db)
    started = time.perf_counter()
    for code, prefecture in synthetic_codes(n):
        add_tenant(db, code=code, name=f"町{code}", prefecture=prefecture,
                   population=10_000, actor="bench")
    add_seconds = time.perf_counter() - started

    codes = tenant_codes(db)
    started = time.perf_counter()
    at_head = upgrade_tenants(db, codes, workers=workers)
    noop_seconds = time.perf_counter() - started

    for code in codes:  # keep the control plane rows, drop the schemas and roles
        drop_tenant_storage(db, code)
    started = time.perf_counter()
    fresh = upgrade_tenants(db, codes, workers=workers)
    upgrade_seconds = time.perf_counter() - started
    failures = [f"{r.lg_code}: {r.error}" for r in [*at_head, *fresh] if r.error]

    started = time.perf_counter()
    with db.owner_engine.connect() as conn:
        for i in range(n):  # one transaction per schema, like a migration
            schema = f"floor_{i}"
            with conn.begin():
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                tenant_metadata.create_all(
                    conn.execution_options(schema_translate_map={"tenant": schema}))
    floor_seconds = time.perf_counter() - started
    return add_seconds, noop_seconds, upgrade_seconds, floor_seconds, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    catalog.install()
    n = args.tenants
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        db = Database(url, Path(tmp))
        try:
            add_seconds, noop_seconds, upgrade_seconds, floor_seconds, failures = _measure(
                db, n, args.workers)
        finally:
            db.dispose()

    per = 1000 / n
    print(f"tenants: {n}, workers: {args.workers}, cpus: {os.cpu_count()}, "
          f"tables per tenant: {len(tenant_metadata.tables)}")
    print(f"floor (plain CREATE TABLE, one connection): {floor_seconds * per:7.1f} ms/tenant")
    print(f"db upgrade, all tenants from nothing:       {upgrade_seconds * per:7.1f} ms/tenant"
          f"  ({upgrade_seconds / floor_seconds:.2f}x floor, {upgrade_seconds:.1f} s in all)")
    print(f"db upgrade, all tenants already at head:    {noop_seconds * per:7.1f} ms/tenant"
          f"  ({noop_seconds:.1f} s in all)")
    print(f"tenant add (control plane + storage):       {add_seconds * per:7.1f} ms/tenant")
    if failures:
        print(f"FAILED: {len(failures)} tenant migrations, e.g. {failures[0]}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
