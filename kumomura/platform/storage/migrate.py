"""Migrations: the control plane and each tenant schema, from every installed module's
own revisions.

There are two trees, ``platform`` (the control plane) and ``tenant`` (each
municipality's schema). Each module keeps its revisions in its own folder, on a branch
labelled with its code; installing the module adds the folder to the tree's version
locations, and an upgrade brings every branch to its head. Revision scripts name no
schema: a tenant migration runs with the connection pointed at the tenant (PostgreSQL
``search_path``; on SQLite the tenant file is the main database), in one transaction
together with the municipality's login and its grants, so a migration that fails leaves
the tenant exactly as it was.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from kumomura.platform.storage import logins
from kumomura.platform.storage.db import PLATFORM_SCHEMA, Database, tenant_schema

Tree = Literal["platform", "tenant"]
MIGRATIONS = Path(__file__).parent / "migrations"
PG_MIGRATION_LOCK = 0x6B756D6F  # "kumo": one platform migration at a time

_LOCATIONS: dict[str, list[Path]] = {
    "platform": [MIGRATIONS / "platform" / "versions"],
    "tenant": [MIGRATIONS / "tenant" / "versions"],
}
"""Each tree's version locations: the platform's own, then each installed module's."""

LEGACY_CHAINS: dict[str, tuple[str, ...]] = {
    "platform": ("p0001", "p0002", "p0003", "p0004", "p0005"),
    "tenant": ("t0001", "t0002", "t0003", "t0004", "t0005", "t0006", "t0007", "t0008"),
}
"""The single line of revisions every module shared before each module kept its own
branch (docs/modules.md). A database stamped with one of them has all before it."""


def add_versions(tree: Tree, location: Path) -> None:
    """Add a module's revisions to a tree (``installation.install`` calls this)."""
    if location not in _LOCATIONS[tree]:
        _LOCATIONS[tree].append(location)


def _config(tree: Tree, conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS / tree))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations",
                        os.pathsep.join(str(p) for p in _LOCATIONS[tree]))
    cfg.attributes["connection"] = conn
    return cfg


@lru_cache(maxsize=8)
def _scripts(tree: Tree, locations: tuple[Path, ...]) -> ScriptDirectory:
    """A tree's revisions, read once per process and set of locations (reading them is
    most of the cost of migrating a tenant already at head)."""
    return ScriptDirectory.from_config(_config(tree))


def _script(tree: Tree) -> ScriptDirectory:
    return _scripts(tree, tuple(_LOCATIONS[tree]))


def heads(tree: Tree) -> set[str]:
    """The head revision of every branch of a tree (what an upgraded database holds)."""
    return set(_script(tree).get_heads())


def _bridge_legacy(conn: Connection, tree: Tree) -> None:
    """A database migrated on the single line holds one revision; on the branches that
    revision no longer implies the others before it, so the version table is rewritten
    to the branch heads the single line had reached. Nothing else changes: the schema
    those revisions built is the same."""
    if not inspect(conn).has_table("alembic_version"):
        return
    stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    chain = LEGACY_CHAINS[tree]
    if len(stamped) != 1 or stamped[0] not in chain:
        return
    applied = set(chain[: chain.index(stamped[0]) + 1])
    script = _script(tree)
    reached = {rev for rev in applied
               if not set(script.get_revision(rev).nextrev) & applied}
    if reached == set(stamped):
        return
    conn.execute(text("DELETE FROM alembic_version"))
    for rev in sorted(reached):
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": rev})


def _upgrade(conn: Connection, tree: Tree) -> None:
    """``alembic upgrade heads`` on the connection, with the tree's revisions read once."""
    _bridge_legacy(conn, tree)
    script = _script(tree)

    def to_heads(rev: Any, _context: Any) -> Any:
        return script._upgrade_revs("heads", rev)  # as alembic.command.upgrade does

    with EnvironmentContext(_config(tree, conn), script, fn=to_heads, destination_rev="heads"):
        script.run_env()


def _pg_upgrade_in_schema(conn: Connection, tree: Tree, schema: str) -> None:
    conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
    conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
    _upgrade(conn, tree)
    conn.exec_driver_sql("SET LOCAL search_path TO DEFAULT")


def _sqlite_upgrade_file(db: Database, tree: Tree, path: Path) -> None:
    engine = db.sqlite_file_engine(path)
    try:
        with engine.begin() as conn:
            _upgrade(conn, tree)
    finally:
        engine.dispose()


def upgrade_control_plane(db: Database) -> None:
    """Migrate the control plane's tables (one migration at a time on PostgreSQL), and
    give its login what it may use (the job queue too, when that is installed first)."""
    if db.is_postgres:
        db.ensure_login_key()
        with db.owner_tx() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
            _pg_upgrade_in_schema(conn, "platform", PLATFORM_SCHEMA)
            logins.grant_control(conn, db)
    else:
        _sqlite_upgrade_file(db, "platform", db.platform_file)


def provision_tenant(db: Database, lg_code: str, conn: Connection | None = None) -> None:
    """Create (or bring up to date) a tenant's storage: schema, role, tables, grants.

    With ``conn`` on PostgreSQL, all of it joins the caller's transaction.
    """
    if db.is_postgres:
        if conn is None:
            with db.owner_tx() as own:
                provision_tenant(db, lg_code, own)
            return
        _pg_upgrade_in_schema(conn, "tenant", tenant_schema(lg_code))
        logins.grant_tenant(conn, db, lg_code, tenant_schema(lg_code))
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
        db.forget_tenant(lg_code)
        with db.owner_tx() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            if conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s",
                                    {"r": role}).first():
                conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
                conn.exec_driver_sql(f'DROP ROLE "{role}"')
    else:
        db.forget_tenant(lg_code)
        db.tenant_file(lg_code).unlink(missing_ok=True)
