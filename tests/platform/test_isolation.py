"""Tenant isolation, proved with raw SQL over the tenant's own database login: what SQL
inside a municipality's transaction tries, to reach another one, fails in the database."""

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from kumomura.platform.identity import trail
from kumomura.platform.identity.throttle import Attempt
from kumomura.platform.storage.db import (
    Database,
    OwnerNotHere,
    append_only_tables,
    tenant_metadata,
    tenant_schema,
)
from kumomura.platform.storage.logins import REPLACE_FUNCTION
from kumomura.platform.tenancy.tenants import TenantState, set_state
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


@pytest.mark.parametrize("escape", ["RESET ROLE", "SET ROLE NONE", "SET SESSION ROLE NONE"])
def test_resetting_the_role_leads_back_to_the_same_municipality(pg_db: Database,
                                                               escape: str) -> None:
    """A tenant transaction is its own login, not a role switched into: there is no
    owner's session underneath to fall back to."""
    make_tenant(pg_db, YONEZAWA)
    make_tenant(pg_db, NAGAI)
    with pytest.raises(ProgrammingError, match="permission denied for schema t_062090"), \
            pg_db.tenant_tx("062022") as conn:
        conn.exec_driver_sql(escape)
        assert conn.exec_driver_sql("SELECT session_user, current_user").one() == \
            (pg_db.tenant_role("062022"), pg_db.tenant_role("062022"))
        conn.exec_driver_sql("SELECT count(*) FROM t_062090.atena")


@pytest.mark.parametrize("target", ["nagai", "control", "owner"])
def test_no_role_can_be_taken_from_inside_a_municipality(pg_db: Database, target: str) -> None:
    make_tenant(pg_db, YONEZAWA)
    make_tenant(pg_db, NAGAI)
    with pg_db.owner_tx() as conn:
        owner = conn.exec_driver_sql("SELECT current_user").scalar()
    role = {"nagai": pg_db.tenant_role("062090"), "control": pg_db.control_role,
            "owner": owner}[target]
    for sql, refused in ((f'SET ROLE "{role}"', "permission denied to set role"),
                         (f'SET SESSION AUTHORIZATION "{role}"',
                          "permission denied to set session authorization")):
        with pytest.raises(ProgrammingError, match=refused), pg_db.tenant_tx("062022") as conn:
            conn.exec_driver_sql(sql)


@pytest.mark.parametrize("sql", [
    "SELECT relname, n_live_tup FROM pg_stat_user_tables",
    "SELECT * FROM pg_stat_all_tables",
    "SELECT * FROM pg_statio_user_tables",
    "SELECT * FROM pg_stat_user_indexes",
    "SELECT pg_stat_get_live_tuples(oid) FROM pg_class WHERE relname = 'atena'",
    "SELECT reltuples FROM pg_class WHERE relname = 'atena'",
    "SELECT * FROM pg_class",
])
def test_other_municipalities_statistics_are_out_of_reach(pg_db: Database, sql: str) -> None:
    """How many residents another town has would be read off the server's statistics."""
    make_tenant(pg_db, YONEZAWA)
    make_tenant(pg_db, NAGAI)
    with pytest.raises(ProgrammingError, match="permission denied"), \
            pg_db.tenant_tx("062022") as conn:
        conn.exec_driver_sql(sql)
    with pg_db.platform_tx() as conn:  # the control plane's metrics still read them
        conn.exec_driver_sql(sql)


def test_the_control_plane_login_reads_no_municipality(pg_db: Database) -> None:
    make_tenant(pg_db, YONEZAWA)
    with pytest.raises(ProgrammingError, match="permission denied for schema t_062022"), \
            pg_db.platform_tx() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM t_062022.atena")


def test_a_serving_process_never_has_the_owners_rights(pg_db: Database) -> None:
    make_tenant(pg_db, YONEZAWA)
    serving = Database(pg_db.url, pg_db.data_dir, owner=False)
    try:
        with serving.tenant_tx("062022") as conn:
            assert conn.exec_driver_sql("SELECT session_user").scalar() == \
                pg_db.tenant_role("062022")
        with serving.platform_tx() as conn:
            assert conn.exec_driver_sql("SELECT session_user").scalar() == pg_db.control_role
        with pytest.raises(OwnerNotHere):
            serving.tenant_admin_tx("062022").__enter__()
        trail.record(serving, Attempt("nobody", "192.0.2.1"), "login_failed", lg_code=None)
        for sql in ("UPDATE platform.auth_events SET username = 'someone'",
                    "DELETE FROM platform.auth_events", "TRUNCATE platform.auth_events"):
            with pytest.raises(ProgrammingError, match="permission denied"), \
                    serving.platform_tx() as conn:
                conn.exec_driver_sql(sql)  # the control login cannot rewrite the sign-ins
        assert [e["username"] for e in trail.platform_events(serving)] == ["nobody"]
    finally:
        serving.dispose()


def test_the_database_refuses_to_clear_a_live_municipality(pg_db: Database) -> None:
    """The replace function is the only way the login clears its append-only tables,
    and it asks the control plane's state itself, not the application."""
    make_tenant(pg_db, YONEZAWA)
    call = f"SELECT t_062022.{REPLACE_FUNCTION}(ARRAY['certificate_issues'], false)"
    with pg_db.tenant_tx("062022") as conn:  # onboarding: allowed
        conn.exec_driver_sql(call)
    with pytest.raises(DBAPIError, match="no table"), pg_db.tenant_tx("062022") as conn:
        conn.exec_driver_sql(f"SELECT t_062022.{REPLACE_FUNCTION}(ARRAY['x; DROP'], false)")
    set_state(pg_db, "062022", TenantState.LIVE, actor="test", reason="go live")
    with pytest.raises(DBAPIError, match="neither onboarding nor restoring"), \
            pg_db.tenant_tx("062022") as conn:
        conn.exec_driver_sql(call)


def test_the_audit_trail_is_never_cleared_once_written(pg_db: Database) -> None:
    from kumomura.platform import audit

    make_tenant(pg_db, YONEZAWA)
    with pg_db.tenant_tx("062022") as conn:
        audit.record(conn, audit.AuditContext(actor="test"), "test.entry")
    with pytest.raises(DBAPIError, match="never replaced"), pg_db.tenant_tx("062022") as conn:
        conn.exec_driver_sql(f"SELECT t_062022.{REPLACE_FUNCTION}(ARRAY['audit_log'], true)")


def test_threads_first_using_a_municipality_share_one_engine(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second engine made by a thread that lost the race would never be disposed: its
    connections would be dropped open (a ResourceWarning at some later moment)."""
    import threading
    import time

    make_tenant(db, YONEZAWA)
    db.forget_tenant("062022")
    name = "_login_engine" if db.is_postgres else "_sqlite_engine"
    make = getattr(db, name)

    def slow(*args: object) -> object:  # widen the window a race needs
        time.sleep(0.05)
        return make(*args)

    monkeypatch.setattr(db, name, slow)
    start = threading.Barrier(8)
    engines: list[object] = []

    def first_use() -> None:
        start.wait(10)
        with db.tenant_tx("062022") as conn:
            engines.append(conn.engine)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(engines) == 8
    assert len({id(e) for e in engines}) == 1
