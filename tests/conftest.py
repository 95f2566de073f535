"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from KUMOMURA_TEST_POSTGRES_URL (default: the local server). Each test
session gets its own database; each test starts from an empty control plane. With
KUMOMURA_REQUIRE_POSTGRES=1 (as in CI) an unreachable server fails the run instead of
skipping the PostgreSQL half.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from kumomura import catalog
from kumomura.platform.core.config import get_settings
from kumomura.platform.deployment import upgrade_platform
from kumomura.platform.storage.db import Database, platform_metadata
from kumomura.platform.storage.migrate import drop_tenant_storage
from kumomura.platform.tenancy.tenants import Tenant, add_tenant, tenant_codes

ADMIN_URL = os.environ.get("KUMOMURA_TEST_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("KUMOMURA_REQUIRE_POSTGRES") == "1"

catalog.install()


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (and xdist worker)."""
    problem = _pg_reachable()
    if problem is not None:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required but unreachable at {ADMIN_URL}: {problem}")
        pytest.skip(f"PostgreSQL unreachable ({problem}); set KUMOMURA_REQUIRE_POSTGRES=1 "
                    "to make this an error")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"kmtest_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            roles = conn.execute(text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"),
                                 {"p": f"{name}\\_%"}).scalars().all()
            for role in roles:
                conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _empty_postgres(db: Database) -> None:
    """Every municipality's schema gone (also one a test made without its tenants row),
    and the control plane's tables empty."""
    with db.owner_tx() as conn:
        schemas = conn.exec_driver_sql("SELECT nspname FROM pg_namespace "
                                       "WHERE nspname ~ '^t_[0-9]{6}$'").scalars().all()
    for code in set(tenant_codes(db)) | {s.removeprefix("t_") for s in schemas}:
        drop_tenant_storage(db, code)
    kept = {"roles", "role_permissions"}  # built in, seeded by the upgrade
    tables = [t.name for t in platform_metadata.sorted_tables if t.name not in kept]
    with db.owner_tx() as conn:
        conn.exec_driver_sql("TRUNCATE " + ", ".join(f"platform.{t}" for t in tables)
                             + " RESTART IDENTITY CASCADE")
        conn.exec_driver_sql("TRUNCATE procrastinate.procrastinate_jobs CASCADE")


@contextmanager
def _deployment(backend: str, tmp_path: Path, request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    if backend == "postgresql":
        url = request.getfixturevalue("pg_url")
        database = Database(url, tmp_path / "data")
        monkeypatch.setenv("KUMOMURA_DATABASE_URL", url)
    else:
        database = Database(None, tmp_path / "data")
        monkeypatch.delenv("KUMOMURA_DATABASE_URL", raising=False)
    monkeypatch.setenv("KUMOMURA_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    upgrade_platform(database)
    if backend == "postgresql":
        _empty_postgres(database)
    try:
        yield database
    finally:
        if backend == "postgresql":
            _empty_postgres(database)
        database.dispose()
        get_settings.cache_clear()


@pytest.fixture
def db(backend: str, tmp_path: Path, request: pytest.FixtureRequest,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A migrated, empty deployment on the test's backend."""
    with _deployment(backend, tmp_path, request, monkeypatch) as database:
        yield database


@pytest.fixture
def pg_db(tmp_path: Path, request: pytest.FixtureRequest,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A PostgreSQL deployment, for what only PostgreSQL does (roles, procrastinate)."""
    with _deployment("postgresql", tmp_path, request, monkeypatch) as database:
        yield database


@pytest.fixture
def sqlite_db(tmp_path: Path, request: pytest.FixtureRequest,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """An embedded deployment, for what only SQLite does (attached files)."""
    with _deployment("sqlite", tmp_path, request, monkeypatch) as database:
        yield database


YONEZAWA = ("062022", "米沢市", 90990)
NAGAI = ("062090", "長井市", 25000)


def make_tenant(db: Database, spec: tuple[str, str, int] = YONEZAWA) -> Tenant:
    code, name, population = spec
    return add_tenant(db, code=code, name=name, prefecture="山形県", population=population,
                      actor="test")


@pytest.fixture
def yonezawa(db: Database) -> Tenant:
    return make_tenant(db, YONEZAWA)


@pytest.fixture
def nagai(db: Database) -> Tenant:
    return make_tenant(db, NAGAI)


@pytest.fixture
def only_test_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The installed modules' subscribers set aside: tests of the outbox mechanics emit
    payloads of their own, which the modules' typed handlers would refuse."""
    from kumomura.platform import events

    monkeypatch.setattr(events, "_SUBSCRIBERS", {})
