"""`kumomura db roles check`: a clean deployment passes; each grant a municipality's role
must not have, made by hand, is named and fails the check."""

from __future__ import annotations

import pytest

from kumomura.platform.storage import roles
from kumomura.platform.storage.db import Database, tenant_schema
from tests.conftest import NAGAI, make_tenant
from tests.test_cli import run


@pytest.mark.postgres_only
def test_excess_grants_are_named(pg_db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    for spec in (("062022", "米沢市", 90990), NAGAI):
        make_tenant(pg_db, spec)
    assert roles.check(pg_db, ["062022", "062090"]) == []
    assert run(capsys, "db", "roles", "check")[0] == 0
    yonezawa, nagai = pg_db.tenant_role("062022"), pg_db.tenant_role("062090")
    own, other = tenant_schema("062022"), tenant_schema("062090")
    with pg_db.owner_tx() as conn:
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{other}" TO "{yonezawa}"')
        conn.exec_driver_sql(f'GRANT SELECT ON "{other}".atena TO "{yonezawa}"')
        conn.exec_driver_sql(f'GRANT UPDATE ON "{own}".audit_log TO "{yonezawa}"')
        conn.exec_driver_sql(f'GRANT CREATE ON SCHEMA "{own}" TO "{yonezawa}"')
        conn.exec_driver_sql(f'GRANT "{nagai}" TO "{yonezawa}"')
        conn.exec_driver_sql(f'ALTER ROLE "{yonezawa}" CREATEROLE')
        conn.exec_driver_sql(f'GRANT "{yonezawa}" TO "{pg_db.control_role}"')
        conn.exec_driver_sql(f'GRANT SELECT ON "{own}".atena TO "{pg_db.control_role}"')
        conn.exec_driver_sql("GRANT SELECT ON pg_catalog.pg_stat_user_tables TO PUBLIC")
        conn.exec_driver_sql(f'GRANT DELETE ON platform.auth_events TO "{pg_db.control_role}"')
    found = {(e.lg_code, e.what, e.on) for e in roles.check(pg_db, ["062022", "062090"])}
    assert found >= {
        ("062022", "USAGE", f"schema {other}"), ("062022", "SELECT", f"{other}.atena"),
        ("062022", "UPDATE", f"{own}.audit_log"), ("062022", "CREATE", f"schema {own}"),
        ("062022", "member of", nagai), ("062022", "rolcreaterole", "role"),
        ("062022", "has member", pg_db.control_role),
        (roles.CONTROL, "member of", yonezawa), (roles.CONTROL, "SELECT", f"{own}.atena"),
        (roles.CONTROL, "DELETE", "platform.auth_events"),
        ("*", "SELECT", "pg_catalog.pg_stat_user_tables")}
    assert ("062090", "has member", yonezawa) in found  # 米沢市 could SET ROLE to 長井市
    assert {code for code, what, _ in found if code == "062090"} == {"062090"}
    assert {what for code, what, _ in found if code == "062090"} == {"has member"}
    code, out, _ = run(capsys, "db", "roles", "check", "--format", "json")
    assert code == 1
    assert f"{other}.atena" in out


def test_sqlite_has_no_roles_to_check(sqlite_db: Database, capsys: pytest.CaptureFixture[str],
                                      ) -> None:
    make_tenant(sqlite_db)
    assert roles.check(sqlite_db, ["062022"]) == []
    code, out, _ = run(capsys, "db", "roles", "check")
    assert (code, "no roles" in out) == (0, True)
