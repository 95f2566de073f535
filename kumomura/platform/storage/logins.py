"""The PostgreSQL logins a deployment runs on, and what each may do (docs/platform.md).

The owner (the deployment URL's user) creates them in ``db upgrade`` and ``tenant add``:

- ``<db>_control`` logs in for the control plane: the ``platform`` schema's tables and
  procrastinate's queue, no tenant schema;
- ``<db>_t_<code>`` logs in for one municipality: its own schema's tables (the
  append-only ones insert-only), nothing else, a member of no role and with no role a
  member of it, so ``RESET ROLE`` and ``SET ROLE`` inside its transactions lead nowhere.

The server's statistics of relations (``pg_stat_*`` views and functions, the row
estimates in ``pg_class``) would tell one login how large another municipality's tables
are; they are taken from PUBLIC and given to the control plane only.
"""

from __future__ import annotations

from sqlalchemy import Connection

from kumomura.platform.storage.db import (
    PLATFORM_SCHEMA,
    Database,
    append_only_tables,
    kept_tables,
    platform_metadata,
)

QUEUE_SCHEMA = "procrastinate"
REPLACE_FUNCTION = "kumomura_clear_for_replace"
SEALED_FUNCTION = "kumomura_audit_sealed"
AUDIT_CHAIN = "audit_log"
AUDIT_PENDING = "audit_pending"
"""The audit trail's two append-only tables (``platform.audit`` declares them)."""
AUDIT_CONTENT = ("at", "actor", "action", "atena_no", "request_id", "client_addr",
                 "purpose")
"""The columns compared, besides ``detail``, before a pending entry leaves."""
REPLACEABLE_STATES = ("onboarding", "restoring")
"""``tenants.REPLACEABLE``: the states in which a municipality's tables may be replaced."""
HIDDEN_PG_CLASS_COLUMNS = frozenset({"reltuples", "relpages", "relallvisible"})
"""What ``pg_class`` says of a table's size: the rest of it is how SQL names tables."""


def _exists(conn: Connection, role: str) -> bool:
    return conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s",
                                {"r": role}).first() is not None


def ensure_login(conn: Connection, db: Database, role: str) -> None:
    """Create ``role`` as a login (or bring it back to one) with its derived password,
    and no one a member of it: the owner's own membership from earlier versions goes."""
    password = db.login_password(role)  # hex digits only: safe inside the literal
    verb = "ALTER" if _exists(conn, role) else "CREATE"
    conn.exec_driver_sql(f"{verb} ROLE \"{role}\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                         f"NOREPLICATION NOBYPASSRLS PASSWORD '{password}'")
    members = conn.exec_driver_sql(
        "SELECT m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
        "JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = %(r)s", {"r": role}).scalars()
    for member in list(members):
        conn.exec_driver_sql(f'REVOKE "{role}" FROM "{member}"')


def grant_tenant(conn: Connection, db: Database, lg_code: str, schema: str) -> None:
    """The municipality's login may use its own schema's tables and nothing else; the
    audit log and other append-only tables take inserts only; the version table is out
    of reach."""
    role = db.tenant_role(lg_code)
    ensure_login(conn, db, role)
    conn.exec_driver_sql(f'REVOKE ALL ON SCHEMA "{schema}" FROM PUBLIC')
    conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
    conn.exec_driver_sql(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN '
                         f'SCHEMA "{schema}" TO "{role}"')
    conn.exec_driver_sql(f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "{schema}" '
                         f'TO "{role}"')
    for table in append_only_tables():
        conn.exec_driver_sql(f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}"."{table}" '
                             f'FROM "{role}"')
    conn.exec_driver_sql(f'REVOKE ALL ON "{schema}".alembic_version FROM "{role}"')
    _replace_function(conn, lg_code, schema, role)
    _sealed_function(conn, schema, role)


def _replace_function(conn: Connection, lg_code: str, schema: str, role: str) -> None:
    """The only way the municipality's login clears its tables for an import or a
    restore, the append-only ones included: the database itself checks that the control
    plane has the municipality onboarding or restoring, and never clears the audit
    trail once it has rows. It runs with the owner's rights (SECURITY DEFINER), on a
    fixed search path, naming only tables of this schema."""
    states = ", ".join(f"'{s}'" for s in REPLACEABLE_STATES)
    kept = ", ".join(f"'{t}'" for t in kept_tables()) or "''"
    body = f"""
CREATE OR REPLACE FUNCTION "{schema}".{REPLACE_FUNCTION}(tables text[], whole boolean)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  t text;
  has_rows boolean;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM platform.tenants
                 WHERE lg_code = '{lg_code}' AND state IN ({states})) THEN
    RAISE EXCEPTION 'municipality {lg_code} is neither onboarding nor restoring: its '
                    'tables are not replaced' USING ERRCODE = '42501';
  END IF;
  FOREACH t IN ARRAY tables LOOP
    IF t = 'alembic_version' OR to_regclass(format('%I.%I', '{schema}', t)) IS NULL THEN
      RAISE EXCEPTION 'no table % in {schema}', t USING ERRCODE = '42P01';
    END IF;
    IF t IN ({kept}) THEN
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I) OR EXISTS (SELECT 1 FROM %I.%I)',
                     '{schema}', '{AUDIT_CHAIN}', '{schema}', '{AUDIT_PENDING}') INTO has_rows;
      IF has_rows THEN
        RAISE EXCEPTION 'the audit trail of {lg_code} (%) has entries and is never replaced', t
          USING ERRCODE = '42501';
      END IF;
    END IF;
  END LOOP;
  IF whole THEN
    EXECUTE 'TRUNCATE ' || (SELECT string_agg(format('%I.%I', '{schema}', x), ', ')
                            FROM unnest(tables) x);
  ELSE
    FOREACH t IN ARRAY tables LOOP
      EXECUTE format('DELETE FROM %I.%I', '{schema}', t);
    END LOOP;
  END IF;
END
$fn$"""
    conn.exec_driver_sql(body.replace("%", "%%"))  # the driver's placeholders, escaped
    _grant_execute(conn, f'"{schema}".{REPLACE_FUNCTION}(text[], boolean)', role)


def _sealed_function(conn: Connection, schema: str, role: str) -> None:
    """How sealed entries leave ``audit_pending``, which the login may not delete from:
    an entry goes only when the chain holds, at the sequence number given, the same
    content, so nothing written can be taken back before it is sealed."""
    same = " AND ".join(f"p.{c} IS NOT DISTINCT FROM l.{c}" for c in AUDIT_CONTENT)
    body = f"""
CREATE OR REPLACE FUNCTION "{schema}".{SEALED_FUNCTION}(ids integer[], seqs integer[])
RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  WITH gone AS (
    DELETE FROM "{schema}".{AUDIT_PENDING} p
    USING unnest(ids, seqs) AS s(id, seq), "{schema}".{AUDIT_CHAIN} l
    WHERE p.id = s.id AND l.seq = s.seq AND {same}
      AND p.detail::jsonb IS NOT DISTINCT FROM l.detail::jsonb
    RETURNING 1)
  SELECT count(*)::integer FROM gone
$fn$"""
    conn.exec_driver_sql(body.replace("%", "%%"))
    _grant_execute(conn, f'"{schema}".{SEALED_FUNCTION}(integer[], integer[])', role)


def _grant_execute(conn: Connection, function: str, role: str) -> None:
    conn.exec_driver_sql(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    conn.exec_driver_sql(f'GRANT EXECUTE ON FUNCTION {function} TO "{role}"')


def grant_control(conn: Connection, db: Database) -> None:
    """The control plane's login: the platform's tables (not its version table; the
    sign-in trail append-only) and the job queue; the server's relation statistics, for
    the operator's metrics."""
    role = db.control_role
    ensure_login(conn, db, role)
    for schema in (PLATFORM_SCHEMA, QUEUE_SCHEMA):
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.exec_driver_sql(f'REVOKE ALL ON SCHEMA "{schema}" FROM PUBLIC')
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.exec_driver_sql(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES '
                             f'IN SCHEMA "{schema}" TO "{role}"')
        conn.exec_driver_sql(f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA '
                             f'"{schema}" TO "{role}"')
        conn.exec_driver_sql(f'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "{schema}" '
                             f'TO "{role}"')
    if conn.exec_driver_sql("SELECT to_regclass('platform.alembic_version')").scalar():
        conn.exec_driver_sql(f'REVOKE ALL ON platform.alembic_version FROM "{role}"')
    for table in append_only_tables(platform_metadata):
        conn.exec_driver_sql(f'REVOKE UPDATE, DELETE, TRUNCATE ON "{PLATFORM_SCHEMA}".'
                             f'"{table}" FROM "{role}"')
    hide_statistics(conn, role)


def statistics_views(conn: Connection) -> list[str]:
    """The server's statistics views (``pg_stats`` and its kin already show only what
    the reader may select, and are left)."""
    return list(conn.exec_driver_sql(
        "SELECT viewname FROM pg_views WHERE schemaname = 'pg_catalog' "
        "AND viewname LIKE 'pg\\_stat%%' AND viewname NOT LIKE 'pg\\_stats%%' "
        "ORDER BY viewname").scalars())


def statistics_functions(conn: Connection) -> list[str]:
    """The functions that read one relation's (or function's, or database's) counters."""
    return list(conn.exec_driver_sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pg_catalog' "
        "AND p.proname LIKE 'pg\\_stat\\_get\\_%%' AND p.pronargs = 1 "
        "AND p.proargtypes[0] = 'oid'::regtype ORDER BY 1").scalars())


def hide_statistics(conn: Connection, reader: str) -> None:
    """Take the relation statistics from PUBLIC and give them to ``reader``. Changing
    the catalog's grants takes a superuser: an owner without it leaves them, and
    ``db roles check`` says so."""
    if not conn.exec_driver_sql("SELECT rolsuper FROM pg_roles "
                                "WHERE rolname = current_user").scalar():
        return
    for view in statistics_views(conn):
        conn.exec_driver_sql(f"REVOKE SELECT ON pg_catalog.{view} FROM PUBLIC")
        conn.exec_driver_sql(f'GRANT SELECT ON pg_catalog.{view} TO "{reader}"')
    for function in statistics_functions(conn):
        conn.exec_driver_sql(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
        conn.exec_driver_sql(f'GRANT EXECUTE ON FUNCTION {function} TO "{reader}"')
    columns = conn.exec_driver_sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'pg_catalog.pg_class'::regclass "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum").scalars().all()
    shown = ", ".join(c for c in columns if c not in HIDDEN_PG_CLASS_COLUMNS)
    conn.exec_driver_sql("REVOKE SELECT ON pg_catalog.pg_class FROM PUBLIC")
    conn.exec_driver_sql(f"GRANT SELECT ({shown}) ON pg_catalog.pg_class TO PUBLIC")
    conn.exec_driver_sql(f'GRANT SELECT ON pg_catalog.pg_class TO "{reader}"')
