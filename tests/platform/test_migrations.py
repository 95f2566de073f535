"""The migrations build exactly the tables the code declares (no drift either way)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import BLANK_SCHEMA, MetaData

from kumomura.platform.storage.db import Database, tenant_metadata, tenant_schema
from tests.conftest import make_tenant


def _declared() -> MetaData:
    """The tenant registry without its placeholder schema, as a migrated schema looks."""
    unschema = MetaData()
    for table in tenant_metadata.sorted_tables:
        # schema=None and BLANK_SCHEMA are documented; the type hints do not list them.
        table.to_metadata(unschema, schema=None,  # type: ignore[arg-type]
                          referred_schema_fn=lambda *_: BLANK_SCHEMA)  # type: ignore[arg-type]
    return unschema


def test_tenant_migrations_match_the_declared_tables(db: Database) -> None:
    make_tenant(db)
    if db.is_postgres:
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f'SET LOCAL search_path TO "{tenant_schema("062022")}"')
            diff = compare_metadata(MigrationContext.configure(conn), _declared())
    else:
        engine = db.sqlite_file_engine(db.tenant_file("062022"))
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), _declared())
        engine.dispose()
    assert diff == []
