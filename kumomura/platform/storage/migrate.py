"""Migrations: the control plane, and every tenant schema (in parallel on PostgreSQL).

Revision scripts name no schema. A tenant migration runs with the connection pointed at
the tenant (PostgreSQL ``search_path``; on SQLite the tenant file is the main database),
in one transaction together with the tenant role's grants: a migration that fails leaves
the tenant exactly as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, select

from kumomura.catalog import load_all_tables
from kumomura.platform.storage.db import (
    PLATFORM_SCHEMA,
    Database,
    append_only_tables,
    tenant_schema,
)

MIGRATIONS = Path(__file__).parent / "migrations"
PG_MIGRATION_LOCK = 0x6B756D6F  # "kumo": one platform migration at a time


def _config(tree: str, conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS / tree))
    cfg.attributes["connection"] = conn
    return cfg


def head(tree: str) -> str:
    script = ScriptDirectory(str(MIGRATIONS / tree))
    return str(script.get_current_head())


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _pg_upgrade_in_schema(conn: Connection, tree: str, schema: str) -> None:
    conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
    conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
    command.upgrade(_config(tree, conn), "head")
    conn.exec_driver_sql("SET LOCAL search_path TO DEFAULT")


def _pg_grant_tenant_role(conn: Connection, db: Database, lg_code: str) -> None:
    """The tenant role may use its own schema's tables and nothing else; the audit log and
    other append-only tables take inserts only; the version table is out of reach."""
    role, schema = db.tenant_role(lg_code), tenant_schema(lg_code)
    exists = conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s",
                                  {"r": role}).first()
    if exists is None:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" NOLOGIN')
        conn.exec_driver_sql(f'GRANT "{role}" TO CURRENT_USER')
    conn.exec_driver_sql(f'REVOKE ALL ON SCHEMA "{schema}" FROM PUBLIC')
    conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
    conn.exec_driver_sql(
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
    conn.exec_driver_sql(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"')
    for table in append_only_tables():
        conn.exec_driver_sql(f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}"."{table}" '
                             f'FROM "{role}"')
    conn.exec_driver_sql(f'REVOKE ALL ON "{schema}".alembic_version FROM "{role}"')


def _sqlite_upgrade_file(db: Database, tree: str, path: Path) -> None:
    engine = db.sqlite_file_engine(path)
    try:
        with engine.begin() as conn:
            command.upgrade(_config(tree, conn), "head")
    finally:
        engine.dispose()


def upgrade_platform(db: Database) -> None:
    """Migrate the control plane and refresh the built-in roles; safe to repeat."""
    from kumomura.platform.identity.auth import ensure_builtin_roles

    load_all_tables()
    if db.is_postgres:
        with db.platform_tx() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
            _pg_upgrade_in_schema(conn, "platform", PLATFORM_SCHEMA)
            ensure_builtin_roles(conn)
        from kumomura.platform.jobs.worker import ensure_queue_schema

        ensure_queue_schema(db)
    else:
        _sqlite_upgrade_file(db, "platform", db.platform_file)
        with db.platform_tx() as conn:
            ensure_builtin_roles(conn)


def provision_tenant(db: Database, lg_code: str, conn: Connection | None = None) -> None:
    """Create (or bring up to date) a tenant's storage: schema, role, tables, grants.

    With ``conn`` on PostgreSQL, all of it joins the caller's transaction.
    """
    load_all_tables()
    if db.is_postgres:
        if conn is None:
            with db.platform_tx() as own:
                provision_tenant(db, lg_code, own)
            return
        _pg_upgrade_in_schema(conn, "tenant", tenant_schema(lg_code))
        _pg_grant_tenant_role(conn, db, lg_code)
        return
    path = db.tenant_file(lg_code)
    new = not path.exists()
    try:
        _sqlite_upgrade_file(db, "tenant", path)
    except BaseException:
        if new:
            db.forget_tenant(lg_code)
            for leftover in (path, path.with_name(path.name + "-wal"),
                             path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
        raise


def drop_tenant_storage(db: Database, lg_code: str) -> None:
    """Remove a tenant's schema and role (tests and benchmarks; never a live tenant)."""
    if db.is_postgres:
        role, schema = db.tenant_role(lg_code), tenant_schema(lg_code)
        with db.platform_tx() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            if conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s",
                                    {"r": role}).first():
                conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
                conn.exec_driver_sql(f'DROP ROLE "{role}"')
    else:
        db.forget_tenant(lg_code)
        db.tenant_file(lg_code).unlink(missing_ok=True)


@dataclass(frozen=True)
class TenantMigration:
    lg_code: str
    seconds: float
    error: str | None = None


@lru_cache(maxsize=4)
def _worker_database(url: str, data_dir: str) -> Database:
    return Database(url, Path(data_dir))


def _migrate_in_worker(url: str, data_dir: str, lg_code: str) -> TenantMigration:
    db = _worker_database(url, data_dir)
    started = time.perf_counter()
    try:
        provision_tenant(db, lg_code)
    except Exception as exc:
        return TenantMigration(lg_code, time.perf_counter() - started, f"{exc}")
    return TenantMigration(lg_code, time.perf_counter() - started)


def tenant_codes(db: Database) -> list[str]:
    from kumomura.platform.tenancy.tenants import tenants

    with db.platform_tx() as conn:
        return list(conn.execute(select(tenants.c.lg_code).order_by(tenants.c.lg_code))
                    .scalars())


def upgrade_tenants(
    db: Database,
    codes: list[str],
    *,
    workers: int = 1,
    on_done: Callable[[TenantMigration], None] | None = None,
) -> list[TenantMigration]:
    """Migrate the given tenants; on PostgreSQL with ``workers`` processes in parallel.

    A tenant that fails is reported and the others go on; each tenant's migration is its
    own transaction, so a failure leaves that tenant as it was.
    """
    results: list[TenantMigration] = []

    def done(result: TenantMigration) -> None:
        results.append(result)
        if on_done is not None:
            on_done(result)

    if db.is_postgres and workers > 1 and len(codes) > 1:
        assert db.url is not None
        with ProcessPoolExecutor(max_workers=min(workers, len(codes)),
                                 mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_migrate_in_worker, db.url, str(db.data_dir), code)
                       for code in codes]
            for future in as_completed(futures):
                done(future.result())
    else:
        for code in codes:
            started = time.perf_counter()
            try:
                provision_tenant(db, code)
                done(TenantMigration(code, time.perf_counter() - started))
            except Exception as exc:
                done(TenantMigration(code, time.perf_counter() - started, str(exc)))
    return sorted(results, key=lambda r: r.lg_code)
