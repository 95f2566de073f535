"""What each login of a deployment may do, checked against what it must be.

A municipality's login may use its own schema and nothing else: select, insert, update
and delete its tables, but only select and insert the append-only ones (the audit log),
and not touch the version table. The control plane's login may use the ``platform``
schema and the job queue, and no municipality's schema. Neither may be a member of a
role, have a member (who could then ``SET ROLE`` to it), or hold an attribute that lifts
it above that (superuser, create database or role, bypass row security, replication);
and no login may read the server's statistics of another schema's tables.
``kumomura db roles check`` lists every excess and exits non-zero, so a grant made by
hand at 3 a.m. does not stay unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from kumomura.platform.storage.db import (
    PLATFORM_SCHEMA,
    Database,
    append_only_tables,
    platform_metadata,
)
from kumomura.platform.storage.logins import (
    HIDDEN_PG_CLASS_COLUMNS,
    QUEUE_SCHEMA,
    statistics_views,
)

OWN_TABLE_PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
APPEND_ONLY_PRIVILEGES = frozenset({"SELECT", "INSERT"})
ATTRIBUTES = ("rolsuper", "rolcreatedb", "rolcreaterole", "rolbypassrls", "rolreplication")
CONTROL = "(control)"
"""How the control plane's login is named in the findings' ``lg_code`` column."""


@dataclass(frozen=True)
class Excess:
    """One thing a login may do that it must not."""

    role: str
    lg_code: str
    what: str
    on: str


@dataclass(frozen=True)
class _Login:
    name: str
    label: str
    schemas: frozenset[str]
    """The schemas whose tables it may use."""


def _attributes(conn: Connection, logins: dict[str, _Login]) -> list[Excess]:
    rows = conn.exec_driver_sql(
        f"SELECT rolname, {', '.join(ATTRIBUTES)} FROM pg_roles WHERE rolname = ANY(%(r)s)",
        {"r": list(logins)}).all()
    return [Excess(row[0], logins[row[0]].label, attribute, "role")
            for row in rows for attribute, value in zip(ATTRIBUTES, row[1:], strict=True)
            if value]


def _memberships(conn: Connection, logins: dict[str, _Login]) -> list[Excess]:
    """Memberships either way: of another role (its rights), or another role in it
    (who may ``SET ROLE`` to this login and read its municipality)."""
    rows = conn.exec_driver_sql(
        "SELECT r.rolname, m.rolname FROM pg_auth_members a "
        "JOIN pg_roles r ON r.oid = a.member JOIN pg_roles m ON m.oid = a.roleid "
        "WHERE r.rolname = ANY(%(r)s) OR m.rolname = ANY(%(r)s)", {"r": list(logins)}).all()
    found = []
    for member, group in rows:
        if member in logins:
            found.append(Excess(member, logins[member].label, "member of", group))
        if group in logins:
            found.append(Excess(group, logins[group].label, "has member", member))
    return found


def _schemas(conn: Connection, logins: dict[str, _Login], schemas: list[str]) -> list[Excess]:
    found = []
    for login in logins.values():
        for schema in schemas:
            for privilege in ("USAGE", "CREATE"):
                if schema in login.schemas and privilege == "USAGE":
                    continue
                allowed = conn.exec_driver_sql(
                    "SELECT has_schema_privilege(%(r)s, %(s)s, %(p)s)",
                    {"r": login.name, "s": schema, "p": privilege}).scalar()
                if allowed:
                    found.append(Excess(login.name, login.label, privilege, f"schema {schema}"))
    return found


def _tables(conn: Connection, logins: dict[str, _Login]) -> list[Excess]:
    append_only = set(append_only_tables())
    platform_append_only = set(append_only_tables(platform_metadata))
    rows = conn.exec_driver_sql(
        "SELECT grantee, table_schema, table_name, privilege_type "
        "FROM information_schema.role_table_grants WHERE grantee = ANY(%(r)s) "
        "AND table_schema <> 'pg_catalog'", {"r": list(logins)}).all()
    found = []
    for role, schema, table, privilege in rows:
        login = logins[role]
        if schema not in login.schemas or table == "alembic_version":
            allowed: frozenset[str] = frozenset()
        elif (table in append_only and login.label != CONTROL) or (
                schema == PLATFORM_SCHEMA and table in platform_append_only):
            allowed = APPEND_ONLY_PRIVILEGES
        else:
            allowed = OWN_TABLE_PRIVILEGES
        if privilege not in allowed:
            found.append(Excess(role, login.label, privilege, f"{schema}.{table}"))
    return found


def _public_statistics(conn: Connection) -> list[Excess]:
    """What every login may read of the server's statistics of all schemas' tables."""
    found = [Excess("PUBLIC", "*", "SELECT", f"pg_catalog.{view}")
             for view in statistics_views(conn)
             if conn.exec_driver_sql("SELECT has_table_privilege('public', %(v)s, 'SELECT')",
                                     {"v": f"pg_catalog.{view}"}).scalar()]
    found += [Excess("PUBLIC", "*", "SELECT", f"pg_catalog.pg_class.{column}")
              for column in sorted(HIDDEN_PG_CLASS_COLUMNS)
              if conn.exec_driver_sql(
                  "SELECT has_column_privilege('public', 'pg_catalog.pg_class', %(c)s, "
                  "'SELECT')", {"c": column}).scalar()]
    return found


def check(db: Database, lg_codes: list[str]) -> list[Excess]:
    """Every excess of the control plane's and the given municipalities' logins
    (PostgreSQL; on SQLite each municipality is a file of its own and there are no
    roles to check)."""
    if not db.is_postgres:
        return []
    logins = {db.tenant_role(code): _Login(db.tenant_role(code), code,
                                           frozenset({f"t_{code}"})) for code in lg_codes}
    logins[db.control_role] = _Login(db.control_role, CONTROL,
                                     frozenset({PLATFORM_SCHEMA, QUEUE_SCHEMA}))
    with db.owner_tx() as conn:
        schemas = [PLATFORM_SCHEMA, *(f"t_{code}" for code in lg_codes)]
        extra = conn.exec_driver_sql(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' "
            "AND nspname NOT IN ('information_schema', 'public')").scalars().all()
        schemas += [s for s in extra if s not in schemas]
        return sorted(_attributes(conn, logins) + _memberships(conn, logins)
                      + _schemas(conn, logins, schemas) + _tables(conn, logins)
                      + _public_statistics(conn),
                      key=lambda e: (e.lg_code, e.what, e.on))
