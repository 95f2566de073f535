"""The migrations build exactly the tables the code declares (no drift either way)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import BLANK_SCHEMA, Connection, MetaData, text

from kumomura.platform.deployment import upgrade_platform
from kumomura.platform.storage import migrate
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
        with db.owner_engine.begin() as conn:
            conn.exec_driver_sql(f'SET LOCAL search_path TO "{tenant_schema("062022")}"')
            diff = compare_metadata(MigrationContext.configure(conn), _declared())
    else:
        engine = db.sqlite_file_engine(db.tenant_file("062022"))
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), _declared())
        engine.dispose()
    assert diff == []


SINGLE_LINE = ("t0001", "t0002", "t0003", "t0008")
"""The last revision of each module on the single line every module shared before each
kept its own branch; together they built exactly today's schema."""


def _legacy_tenant(conn: Connection) -> None:
    """A tenant schema as migrated on the single line: the same revisions (t0001-t0008),
    the version table holding only the last, and some rows in it."""
    cfg = migrate._config("tenant", conn)
    for target in SINGLE_LINE:
        command.upgrade(cfg, target)
    conn.execute(text("DELETE FROM alembic_version"))
    conn.execute(text("INSERT INTO alembic_version VALUES ('t0008')"))
    conn.execute(text(
        "INSERT INTO atena (atena_no, kind, name, kana, kana_key, birth_date, sex, "
        "registered_by, created_at) VALUES ('000000000000019', 'resident', '山形 花子', "
        "'ヤマガタ ハナコ', 'ヤマガタハナコ', '1990-04-01', '2', 'residents', "
        "'2026-11-01 09:00:00+00:00')"))
    conn.execute(text(
        "INSERT INTO outbox (topic, payload, atena_no, created_at) VALUES "
        "('residents.moved_in', '{\"change_id\": 1}', '000000000000019', "
        "'2026-11-01 09:00:00+00:00')"))


def _rows(conn: Connection) -> dict[str, list[tuple[object, ...]]]:
    columns = {"atena": "*", "outbox": "id, topic, payload, atena_no, created_at"}
    return {t: [tuple(r) for r in conn.execute(text(f"SELECT {c} FROM {t} ORDER BY 1"))]
            for t, c in columns.items()}


def test_a_schema_on_the_single_line_upgrades_to_the_branches(db: Database) -> None:
    code = "062022"
    engine = db.owner_engine if db.is_postgres else db.sqlite_file_engine(db.tenant_file(code))
    if db.is_postgres:
        schema = tenant_schema(code)
        with db.owner_engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
            _legacy_tenant(conn)
            before = _rows(conn)
        migrate.provision_tenant(db, code)
        with db.owner_engine.begin() as conn:
            conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
            after = _rows(conn)
            stamped = set(conn.execute(text("SELECT version_num FROM alembic_version"))
                          .scalars())
            diff = compare_metadata(MigrationContext.configure(conn), _declared())
    else:
        with engine.begin() as conn:
            _legacy_tenant(conn)
            before = _rows(conn)
        migrate.provision_tenant(db, code)
        with engine.begin() as conn:
            after = _rows(conn)
            stamped = set(conn.execute(text("SELECT version_num FROM alembic_version"))
                          .scalars())
            diff = compare_metadata(MigrationContext.configure(conn), _declared())
    assert stamped == migrate.heads("tenant")  # every branch at its head
    assert diff == []  # the schema is the one the code declares
    assert after == before  # no data changed
    with engine.begin() as conn:
        if db.is_postgres:
            conn.exec_driver_sql(f'SET LOCAL search_path TO "{tenant_schema(code)}"')
        versions = conn.execute(text("SELECT version FROM outbox")).scalars().all()
    assert versions == [1]  # the events written before: their types' first version
    if not db.is_postgres:
        engine.dispose()


def test_a_control_plane_on_the_single_line_is_restamped(db: Database) -> None:
    with db.owner_tx() as conn:
        if db.is_postgres:
            conn.exec_driver_sql('SET LOCAL search_path TO "platform"')
        conn.execute(text("DROP TABLE restore_requests"))  # came after the single line
        conn.execute(text("ALTER TABLE users DROP COLUMN totp_last_step"))  # and this
        for table in ("login_throttle", "auth_events", "oidc_tokens", "oidc_codes",
                      "oidc_clients"):  # and these
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("ALTER TABLE users ADD COLUMN failed_logins INTEGER DEFAULT 0 "
                          "NOT NULL"))
        conn.execute(text("ALTER TABLE users ADD COLUMN locked_until TIMESTAMP"))
        for column in ("scopes", "issued_by", "revoked_by"):
            conn.execute(text(f"ALTER TABLE api_tokens DROP COLUMN {column}"))
        for column in ("credential_reset_kind", "credential_reset_by", "credential_reset_at"):
            conn.execute(text(f"ALTER TABLE users DROP COLUMN {column}"))
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('p0005')"))
    upgrade_platform(db)
    with db.owner_tx() as conn:
        if db.is_postgres:
            conn.exec_driver_sql('SET LOCAL search_path TO "platform"')
        stamped = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert stamped == migrate.heads("platform") == {"p0003", "p0011"}
