"""Bringing a deployment up to date: the control plane with its built-in roles and job
queue, then every tenant schema (in parallel processes on PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

from kumomura.platform import installation
from kumomura.platform.identity.auth import ensure_builtin_roles
from kumomura.platform.jobs.broker import ensure_queue_schema
from kumomura.platform.storage.db import Database
from kumomura.platform.storage.migrate import provision_tenant, upgrade_control_plane


def upgrade_platform(db: Database) -> None:
    """Install the job queue (PostgreSQL), migrate the control plane with its login's
    grants, and refresh the built-in roles; safe to repeat."""
    if db.is_postgres:
        ensure_queue_schema(db)  # first: the control plane's grants then cover it
    upgrade_control_plane(db)
    with db.owner_tx() as conn:
        ensure_builtin_roles(conn)


@dataclass(frozen=True)
class TenantMigration:
    lg_code: str
    seconds: float
    error: str | None = None


@lru_cache(maxsize=4)
def _worker_database(refs: tuple[str, ...], url: str, data_dir: str,
                     login_key: str) -> Database:
    installation.install_refs(refs)
    return Database(url, Path(data_dir), login_key=Path(login_key))


def _migrate_in_worker(refs: tuple[str, ...], url: str, data_dir: str, login_key: str,
                       lg_code: str) -> TenantMigration:
    db = _worker_database(refs, url, data_dir, login_key)
    started = time.perf_counter()
    try:
        provision_tenant(db, lg_code)
    except Exception as exc:
        return TenantMigration(lg_code, time.perf_counter() - started, f"{exc}")
    return TenantMigration(lg_code, time.perf_counter() - started)


def upgrade_tenants(
    db: Database,
    codes: list[str],
    *,
    workers: int = 1,
    on_done: Callable[[TenantMigration], None] | None = None,
) -> list[TenantMigration]:
    """Migrate the given tenants; on PostgreSQL with ``workers`` processes in parallel
    (each installs the same modules as this one).

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
        refs = installation.installed_refs()
        with ProcessPoolExecutor(max_workers=min(workers, len(codes)),
                                 mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_migrate_in_worker, refs, db.url, str(db.data_dir),
                                   str(db.login_key_file), code) for code in codes]
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
