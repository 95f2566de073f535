"""A throwaway PostgreSQL database for a benchmark run, dropped with its logins."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text

ADMIN_URL = os.environ.get("KUMOMURA_TEST_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch_database() -> Iterator[str]:
    """Yield the URL of a new, empty database; drop it (and its roles) afterwards."""
    name = f"kmbench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for role in conn.execute(text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"),
                                     {"p": f"{name}\\_%"}).scalars().all():
                conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()
