"""Tenant isolation, proved with raw SQL under the tenant's own database role."""

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import ProgrammingError

from kumomura.platform.storage.db import (
    Database,
    append_only_tables,
    tenant_metadata,
    tenant_schema,
)
from tests.conftest import NAGAI, YONEZAWA, make_tenant


@pytest.mark.parametrize("sql", [
    "SELECT * FROM t_062090.outbox",
    "INSERT INTO t_062090.outbox (topic, payload, created_at) VALUES ('x', '{}', now())",
    "SELECT * FROM t_062090.audit_log",
    "SELECT * FROM platform.users",
    "SELECT * FROM platform.tenants",
    "CREATE TABLE t_062090.sneaky (id int)",
    "CREATE TABLE t_062022.sneaky (id int)",
])
def test_tenant_role_cannot_reach_beyond_its_schema(pg_db: Database, sql: str) -> None:
    make_tenant(pg_db, YONEZAWA)
    make_tenant(pg_db, NAGAI)
    with pytest.raises(ProgrammingError, match="permission denied"), \
            pg_db.tenant_tx("062022") as conn:
        conn.execute(text(sql))


def test_tenant_role_reads_and_writes_its_own_schema(pg_db: Database) -> None:
    make_tenant(pg_db, YONEZAWA)
    with pg_db.tenant_tx("062022") as conn:
        conn.execute(text("INSERT INTO t_062022.outbox (topic, payload, created_at) "
                          "VALUES ('t', '{}', now())"))
        assert conn.execute(text("SELECT current_user")).scalar() == \
            pg_db.tenant_role("062022")
        assert conn.execute(text("SELECT count(*) FROM t_062022.outbox")).scalar() == 1


@pytest.mark.parametrize("table", append_only_tables())
def test_append_only_tables_refuse_update_and_delete(pg_db: Database, table: str) -> None:
    make_tenant(pg_db, YONEZAWA)
    column = next(iter(tenant_metadata.tables[f"tenant.{table}"].primary_key.columns)).name
    for sql in (f"UPDATE t_062022.{table} SET {column} = {column}",
                f"DELETE FROM t_062022.{table}",
                f"TRUNCATE t_062022.{table}"):
        with pytest.raises(ProgrammingError, match="permission denied"), \
                pg_db.tenant_tx("062022") as conn:
            conn.execute(text(sql))


def test_role_does_not_leak_into_the_next_transaction(pg_db: Database) -> None:
    make_tenant(pg_db, YONEZAWA)
    with pg_db.tenant_tx("062022") as conn:
        conn.execute(text("SELECT 1"))
    with pg_db.platform_tx() as conn:
        assert conn.execute(text("SELECT count(*) FROM platform.tenants")).scalar() == 1


def test_sqlite_tenant_connection_sees_only_its_own_file(sqlite_db: Database) -> None:
    make_tenant(sqlite_db, YONEZAWA)
    make_tenant(sqlite_db, NAGAI)
    with sqlite_db.tenant_tx("062022") as conn:
        attached = {row[1] for row in conn.exec_driver_sql("PRAGMA database_list")}
    assert attached == {"main", "t_062022"}


def test_every_table_in_a_tenant_schema_is_in_the_registry(db: Database) -> None:
    """Export, backup and these isolation tests read the registry: a table outside it
    would escape them."""
    make_tenant(db, YONEZAWA)
    if db.is_postgres:
        found = set(inspect(db.engine).get_table_names(schema=tenant_schema("062022")))
    else:
        with db.tenant_tx("062022") as conn:
            found = set(inspect(conn).get_table_names(schema=tenant_schema("062022")))
    registered = {t.name for t in tenant_metadata.sorted_tables}
    assert found - {"alembic_version"} == registered


def test_migrated_columns_match_the_table_declarations(db: Database) -> None:
    make_tenant(db, YONEZAWA)
    schema = tenant_schema("062022")
    with db.tenant_admin_tx("062022") as conn:
        insp = inspect(conn)
        for table in tenant_metadata.sorted_tables:
            columns = {c["name"]: c["nullable"] for c in insp.get_columns(table.name, schema)}
            assert columns == {c.name: c.nullable for c in table.columns}, table.name
