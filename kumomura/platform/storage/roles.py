"""What each municipality's database role may do, checked against what it must be.

A tenant role may use its own schema and nothing else: select, insert, update and
delete its tables, but only select and insert the append-only ones (the audit log), and
not touch the version table; no other schema, no membership of another role, no
attribute that lifts it above that (superuser, create database or role, bypass row
security, replication). ``kumomura db roles check`` lists every excess and exits
non-zero, so a grant made by hand at 3 a.m. does not stay unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from kumomura.platform.storage.db import PLATFORM_SCHEMA, Database, append_only_tables

OWN_TABLE_PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
APPEND_ONLY_PRIVILEGES = frozenset({"SELECT", "INSERT"})
ATTRIBUTES = ("rolsuper", "rolcreatedb", "rolcreaterole", "rolbypassrls", "rolreplication")


@dataclass(frozen=True)
class Excess:
    """One thing a municipality's role may do that it must not."""

    role: str
    lg_code: str
    what: str
    on: str


def _attributes(conn: Connection, roles: dict[str, str]) -> list[Excess]:
    rows = conn.exec_driver_sql(
        f"SELECT rolname, {', '.join(ATTRIBUTES)} FROM pg_roles WHERE rolname = ANY(%(r)s)",
        {"r": list(roles)}).all()
    return [Excess(row[0], roles[row[0]], attribute, "role")
            for row in rows for attribute, value in zip(ATTRIBUTES, row[1:], strict=True)
            if value]


def _memberships(conn: Connection, roles: dict[str, str]) -> list[Excess]:
    rows = conn.exec_driver_sql(
        "SELECT r.rolname, m.rolname FROM pg_auth_members a "
        "JOIN pg_roles r ON r.oid = a.member JOIN pg_roles m ON m.oid = a.roleid "
        "WHERE r.rolname = ANY(%(r)s)", {"r": list(roles)}).all()
    return [Excess(role, roles[role], "member of", other) for role, other in rows]


def _schemas(conn: Connection, roles: dict[str, str], schemas: list[str]) -> list[Excess]:
    found = []
    for role, code in roles.items():
        own = f"t_{code}"
        for schema in schemas:
            for privilege in ("USAGE", "CREATE"):
                if schema == own and privilege == "USAGE":
                    continue
                allowed = conn.exec_driver_sql(
                    "SELECT has_schema_privilege(%(r)s, %(s)s, %(p)s)",
                    {"r": role, "s": schema, "p": privilege}).scalar()
                if allowed:
                    found.append(Excess(role, code, privilege, f"schema {schema}"))
    return found


def _tables(conn: Connection, roles: dict[str, str]) -> list[Excess]:
    append_only = set(append_only_tables())
    rows = conn.exec_driver_sql(
        "SELECT grantee, table_schema, table_name, privilege_type "
        "FROM information_schema.role_table_grants WHERE grantee = ANY(%(r)s)",
        {"r": list(roles)}).all()
    found = []
    for role, schema, table, privilege in rows:
        code = roles[role]
        if schema != f"t_{code}" or table == "alembic_version":
            allowed: frozenset[str] = frozenset()
        elif table in append_only:
            allowed = APPEND_ONLY_PRIVILEGES
        else:
            allowed = OWN_TABLE_PRIVILEGES
        if privilege not in allowed:
            found.append(Excess(role, code, privilege, f"{schema}.{table}"))
    return found


def check(db: Database, lg_codes: list[str]) -> list[Excess]:
    """Every excess of the given municipalities' roles (PostgreSQL; on SQLite each
    municipality is a file of its own and there are no roles to check)."""
    if not db.is_postgres or not lg_codes:
        return []
    roles = {db.tenant_role(code): code for code in lg_codes}
    with db.platform_tx() as conn:
        schemas = [PLATFORM_SCHEMA, *(f"t_{code}" for code in lg_codes)]
        extra = conn.exec_driver_sql(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' "
            "AND nspname NOT IN ('information_schema', 'public')").scalars().all()
        schemas += [s for s in extra if s not in schemas]
        return sorted(_attributes(conn, roles) + _memberships(conn, roles)
                      + _schemas(conn, roles, schemas) + _tables(conn, roles),
                      key=lambda e: (e.lg_code, e.what, e.on))
