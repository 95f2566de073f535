"""Engines, tenant sessions and storage: one schema (or SQLite file) per municipality.

Tables are declared once: control-plane tables in schema ``platform``, business tables
in the placeholder schema ``tenant`` that a tenant transaction maps to ``t_<lg_code>``
with ``schema_translate_map``.

On PostgreSQL three kinds of principal connect (docs/platform.md, the role map): the
deployment URL's user owns the schemas and is used only to migrate and provision
(``owner_tx``); the control plane logs in as ``<db>_control``; each municipality's
transactions log in as its own ``<db>_t_<code>``, a member of no role, so no SQL inside
them (``RESET ROLE``, ``SET ROLE``) reaches another municipality. The logins' passwords
are derived from a key kept outside the database, so no process stores one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
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


def append_only_tables(metadata: MetaData | None = None) -> list[str]:
    """Tables (the tenant's, or those of ``metadata``) that the serving login may insert
    into but never change or delete."""
    return [t.name for t in (metadata or tenant_metadata).sorted_tables
            if t.info.get("append_only")]


def kept_tables() -> list[str]:
    """Tenant tables never replaced once they have rows (the audit trail): not by an
    import, not by a restore."""
    return [t.name for t in tenant_metadata.sorted_tables if t.info.get("kept")]


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


class OwnerNotHere(RuntimeError):
    """A serving process asked for the owner's rights, which it is never given."""


class LoginKeyMissing(RuntimeError):
    """The key the logins' passwords come from is not where the settings say."""


@dataclass
class Database:
    """One deployment's databases: the control plane's engine and one engine per tenant
    (its own login on PostgreSQL, its own file on SQLite).

    ``owner=False`` is how serving processes (web, workers) open it: they never connect
    as the owner, and ``owner_tx`` refuses.
    """

    url: str | None
    data_dir: Path
    pool_size: int = 10
    owner: bool = True
    login_key: Path | None = None
    engine: Engine = field(init=False)
    _owner_engine: Engine | None = field(init=False, default=None)
    _tenant_engines: dict[str, Engine] = field(init=False, default_factory=dict)
    _side_engines: dict[str, Engine] = field(init=False, default_factory=dict)
    _engines_lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.is_postgres:
            self.engine = self._login_engine(self.control_role, self.pool_size)
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

    @property
    def control_role(self) -> str:
        """The control plane's login: the platform schema and the job queue, no tenant."""
        return f"{self._role_prefix}_control"

    @cached_property
    def _role_prefix(self) -> str:
        assert self.url is not None
        database = make_url(self.url).database or "kumomura"
        return re.sub(r"[^a-z0-9_]", "_", database.lower())[:40]

    # -- logins -----------------------------------------------------------------------
    @property
    def login_key_file(self) -> Path:
        return self.login_key or self.data_dir / "keys" / "db-logins.key"

    def ensure_login_key(self) -> None:
        """Make the logins' key on first use (the owner's step: ``db upgrade``)."""
        path = self.login_key_file
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))

    def login_password(self, role: str) -> str:
        """The password of one login: HMAC-SHA256 of its name under the deployment's key,
        so each municipality's differs and none is stored anywhere."""
        path = self.login_key_file
        if not path.exists():
            raise LoginKeyMissing(f"データベース接続の鍵 {path.name} がありません "
                                  "(kumomura db upgrade が作成します; KUMOMURA_DB_LOGIN_KEY)")
        return hmac.new(path.read_bytes(), role.encode(), hashlib.sha256).hexdigest()

    def _login_engine(self, role: str, pool_size: int) -> Engine:
        """An engine that logs in as ``role``; the password is read when a connection
        opens, so a process may start before ``db upgrade`` has made the key."""
        assert self.url is not None
        engine = create_engine(make_url(self.url).set(username=role, password=None),
                               pool_size=pool_size, max_overflow=self.pool_size,
                               pool_pre_ping=True)

        @event.listens_for(engine, "do_connect")
        def _password(_dialect: Any, _record: Any, _args: Any, kwargs: dict[str, Any]) -> None:
            kwargs["password"] = self.login_password(role)

        return engine

    @property
    def owner_engine(self) -> Engine:
        """The owner's engine (migrations, provisioning, role checks); never in a
        serving process."""
        if not self.owner:
            raise OwnerNotHere("この処理は所有者の権限が要ります: 稼働中のプロセスでは行えません "
                               "(kumomura db upgrade などの運用コマンドで行います)")
        if not self.is_postgres:
            return self.engine
        with self._engines_lock:
            if self._owner_engine is None:
                assert self.url is not None
                self._owner_engine = create_engine(self.url, pool_size=2,
                                                   max_overflow=self.pool_size,
                                                   pool_pre_ping=True)
            return self._owner_engine

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
        if engine is not None:
            return engine
        with self._engines_lock:  # two threads' first use: one engine, none left undisposed
            engine = self._tenant_engines.get(lg_code)
            if engine is None and self.is_postgres:
                engine = self._login_engine(self.tenant_role(lg_code), min(4, self.pool_size))
                self._tenant_engines[lg_code] = engine
            elif engine is None:
                path = self.tenant_file(lg_code)
                if not path.exists():
                    raise LookupError(f"tenant {lg_code} has no database file")
                engine = self._sqlite_engine({tenant_schema(lg_code): path})
                self._tenant_engines[lg_code] = engine
            return engine

    # -- units of work ----------------------------------------------------------------
    @contextmanager
    def platform_tx(self) -> Iterator[Connection]:
        """One transaction on the control plane (on PostgreSQL as its own login)."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def owner_tx(self) -> Iterator[Connection]:
        """One transaction with the owner's rights: migrations and provisioning only."""
        with self.owner_engine.begin() as conn:
            yield conn

    def _side_engine(self, lg_code: str) -> Engine:
        """The municipality's second, small pool, for the short transactions a request
        commits beside its own (a certificate number): from the request's pool they
        would wait for connections held by requests waiting for the same."""
        engine = self._side_engines.get(lg_code)
        if engine is not None:
            return engine
        with self._engines_lock:
            engine = self._side_engines.get(lg_code)
            if engine is None:
                engine = self._login_engine(self.tenant_role(lg_code), 1)
                self._side_engines[lg_code] = engine
            return engine

    @contextmanager
    def tenant_tx(self, lg_code: str) -> Iterator[Connection]:
        """One transaction in one municipality's schema, and nowhere else: on PostgreSQL
        over the municipality's own login, on SQLite in its own file. On PostgreSQL the
        connection carries ``side_engine``, for a short transaction beside it."""
        translate = {TENANT_PLACEHOLDER: tenant_schema(lg_code)}
        with self._tenant_engine(lg_code).begin() as conn:
            if self.is_postgres:
                yield conn.execution_options(schema_translate_map=translate,
                                             side_engine=self._side_engine(lg_code))
            else:
                yield conn.execution_options(schema_translate_map=translate)

    @contextmanager
    def tenant_admin_tx(self, lg_code: str) -> Iterator[Connection]:
        """A transaction on one tenant's schema with the owner's rights: for migrations
        and for tests that play an insider, never for a request."""
        translate = {TENANT_PLACEHOLDER: tenant_schema(lg_code)}
        if self.is_postgres:
            with self.owner_engine.begin() as conn:
                yield conn.execution_options(schema_translate_map=translate)
        else:
            with self._tenant_engine(lg_code).begin() as conn:
                yield conn.execution_options(schema_translate_map=translate)

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def forget_tenant(self, lg_code: str) -> None:
        with self._engines_lock:
            found = [engines.pop(lg_code, None)
                     for engines in (self._tenant_engines, self._side_engines)]
        for engine in found:
            if engine is not None:
                engine.dispose()

    def dispose(self) -> None:
        for code in list(self._tenant_engines):
            self.forget_tenant(code)
        self.engine.dispose()
        if self._owner_engine is not None:
            self._owner_engine.dispose()


def open_database(settings: Settings | None = None, *, owner: bool = True) -> Database:
    """A Database for the given (or the environment's) settings; the caller disposes it.
    Serving processes pass ``owner=False``."""
    settings = settings or get_settings()
    return Database(settings.database_url, settings.data_dir, settings.db_pool_size,
                    owner=owner, login_key=settings.db_login_key)
