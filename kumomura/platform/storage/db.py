"""Engines, tenant sessions and storage: one schema (or SQLite file) per municipality.

Tables are declared once: control-plane tables in schema ``platform``, business tables
in the placeholder schema ``tenant`` that a tenant transaction maps to ``t_<lg_code>``
with ``schema_translate_map``. On PostgreSQL a tenant transaction also runs as the
tenant's own role, so the database itself refuses any other tenant's schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, make_url, pool, text

from kumomura.platform.core.config import Settings, get_settings
from kumomura.platform.core.japanese import validate_lg_code

PLATFORM_SCHEMA = "platform"
TENANT_PLACEHOLDER = "tenant"

platform_metadata = MetaData(schema=PLATFORM_SCHEMA)
tenant_metadata = MetaData(schema=TENANT_PLACEHOLDER)
"""The registry of every tenant table: export, backup and isolation tests read it."""


def tenant_schema(lg_code: str) -> str:
    """The schema (or attached SQLite database) that holds one municipality's data."""
    return f"t_{validate_lg_code(lg_code)}"


def append_only_tables() -> list[str]:
    """Tenant tables that the tenant role may insert into but never change or delete."""
    return [t.name for t in tenant_metadata.sorted_tables if t.info.get("append_only")]


def _sqlite_begin_immediate(engine: Engine) -> None:
    """pysqlite defers BEGIN and skips it before DDL; take the write lock up front instead,
    so a transaction is a transaction and concurrent writers wait rather than fail."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_attach(engine: Engine, files: dict[str, Path]) -> None:
    @event.listens_for(engine, "connect")
    def _attach(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        for name, path in files.items():
            cur.execute("ATTACH DATABASE ? AS ?", (str(path), name))
            cur.execute(f'PRAGMA "{name}".journal_mode = WAL')
        cur.close()


@dataclass
class Database:
    """One deployment's databases: the admin engine and, on SQLite, one engine per tenant."""

    url: str | None
    data_dir: Path
    pool_size: int = 10
    engine: Engine = field(init=False)
    _tenant_engines: dict[str, Engine] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.is_postgres:
            assert self.url is not None
            self.engine = create_engine(
                self.url, pool_size=self.pool_size, max_overflow=self.pool_size,
                pool_pre_ping=True
            )
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            (self.data_dir / "tenants").mkdir(exist_ok=True)
            self.engine = self._sqlite_engine({PLATFORM_SCHEMA: self.platform_file})

    # -- identity ---------------------------------------------------------------------
    @property
    def is_postgres(self) -> bool:
        return self.url is not None and make_url(self.url).get_backend_name() == "postgresql"

    @property
    def dialect(self) -> str:
        return "postgresql" if self.is_postgres else "sqlite"

    @property
    def platform_file(self) -> Path:
        return self.data_dir / "platform.sqlite3"

    def tenant_file(self, lg_code: str) -> Path:
        return self.data_dir / "tenants" / f"{tenant_schema(lg_code)}.sqlite3"

    def tenant_role(self, lg_code: str) -> str:
        """Per-tenant PostgreSQL role, prefixed with the database name so that several
        deployments (or test runs) can share one cluster without sharing roles."""
        return f"{self._role_prefix}_{tenant_schema(lg_code)}"

    @cached_property
    def _role_prefix(self) -> str:
        assert self.url is not None
        database = make_url(self.url).database or "kumomura"
        return re.sub(r"[^a-z0-9_]", "_", database.lower())[:40]

    # -- engines ----------------------------------------------------------------------
    def _sqlite_engine(self, files: dict[str, Path]) -> Engine:
        engine = create_engine(
            "sqlite://",
            poolclass=pool.QueuePool,
            pool_size=2,
            max_overflow=8,
            connect_args={"check_same_thread": False},
        )
        _sqlite_begin_immediate(engine)
        _sqlite_attach(engine, files)
        return engine

    def sqlite_file_engine(self, path: Path) -> Engine:
        """An engine whose main database is one file: what migrations run against."""
        engine = create_engine(f"sqlite:///{path}", poolclass=pool.NullPool)
        _sqlite_begin_immediate(engine)
        return engine

    def _tenant_engine(self, lg_code: str) -> Engine:
        engine = self._tenant_engines.get(lg_code)
        if engine is None:
            path = self.tenant_file(lg_code)
            if not path.exists():
                raise LookupError(f"tenant {lg_code} has no database file")
            engine = self._sqlite_engine({tenant_schema(lg_code): path})
            self._tenant_engines[lg_code] = engine
        return engine

    # -- units of work ----------------------------------------------------------------
    @contextmanager
    def platform_tx(self) -> Iterator[Connection]:
        """One transaction on the control plane (and, on PostgreSQL, with admin rights)."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def tenant_tx(self, lg_code: str) -> Iterator[Connection]:
        """One transaction in one municipality's schema, and nowhere else.

        On PostgreSQL the role switch is ``SET LOCAL``: it ends with the transaction, so a
        pooled connection never carries one tenant's role into the next request.
        """
        schema = tenant_schema(lg_code)
        translate = {TENANT_PLACEHOLDER: schema}
        if self.is_postgres:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f'SET LOCAL ROLE "{self.tenant_role(lg_code)}"')
                yield conn.execution_options(schema_translate_map=translate)
        else:
            with self._tenant_engine(lg_code).begin() as conn:
                yield conn.execution_options(schema_translate_map=translate)

    @contextmanager
    def tenant_admin_tx(self, lg_code: str) -> Iterator[Connection]:
        """A transaction on one tenant's schema with the admin role: for migrations,
        exports and operator repairs, never for a request."""
        translate = {TENANT_PLACEHOLDER: tenant_schema(lg_code)}
        if self.is_postgres:
            with self.engine.begin() as conn:
                yield conn.execution_options(schema_translate_map=translate)
        else:
            with self._tenant_engine(lg_code).begin() as conn:
                yield conn.execution_options(schema_translate_map=translate)

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def forget_tenant(self, lg_code: str) -> None:
        engine = self._tenant_engines.pop(lg_code, None)
        if engine is not None:
            engine.dispose()

    def dispose(self) -> None:
        for code in list(self._tenant_engines):
            self.forget_tenant(code)
        self.engine.dispose()


def open_database(settings: Settings | None = None) -> Database:
    """A Database for the given (or the environment's) settings; the caller disposes it."""
    settings = settings or get_settings()
    return Database(settings.database_url, settings.data_dir, settings.db_pool_size)
