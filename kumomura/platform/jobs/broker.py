"""procrastinate's connection and schema: the queue lives in its own schema
``procrastinate`` of the deployment's PostgreSQL database."""

from __future__ import annotations

import procrastinate
from sqlalchemy import make_url

from kumomura.platform.storage.db import Database

QUEUE = "kumomura"
SCHEMA = "procrastinate"


def connector(db: Database, *, owner: bool = False) -> procrastinate.PsycopgConnector:
    """The queue's connection: the control plane's login (the owner's only to install
    the queue's schema)."""
    assert db.url is not None
    url = make_url(db.url).set(drivername="postgresql")
    if not owner:
        url = url.set(username=db.control_role, password=db.login_password(db.control_role))
    return procrastinate.PsycopgConnector(
        conninfo=url.render_as_string(hide_password=False),
        kwargs={"options": f"-c search_path={SCHEMA}"})


def ensure_queue_schema(db: Database) -> None:
    """Install procrastinate's tables once, in their own schema (part of db upgrade)."""
    with db.owner_tx() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
        installed = conn.exec_driver_sql(
            f"SELECT to_regclass('{SCHEMA}.procrastinate_jobs')").scalar()
    if installed is None:
        app = procrastinate.App(connector=connector(db, owner=True))
        with app.open():
            app.schema_manager.apply_schema()
