"""A second PostgreSQL cluster (the second data center) as a backup target.

Backups are the same encrypted files; the remote cluster only keeps their bytes, in a
table of its own schema (``kumomura_backup.backup_files``), so it needs no key and can
read nothing. A file is stored in one transaction (all of it or none), then the older
generations of that municipality beyond ``keep`` are dropped.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine

from kumomura.platform.core.errors import NotFound

metadata = MetaData(schema="kumomura_backup")
backup_files = Table(
    "backup_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lg_code", String(6), nullable=False, index=True),
    Column("name", Text, nullable=False, unique=True),
    Column("created_at", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
)


def is_remote(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgresql+psycopg://"))


def _engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS kumomura_backup"))
        metadata.create_all(conn)
    return engine


def put(url: str, path: Path, *, lg_code: str, created_at: str, keep: int) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(backup_files).values(
                lg_code=lg_code, name=path.name, created_at=created_at,
                size=path.stat().st_size, data=path.read_bytes()))
            names = conn.execute(select(backup_files.c.name).where(
                backup_files.c.lg_code == lg_code).order_by(backup_files.c.name)
            ).scalars().all()
            old = names[:-keep] if keep > 0 else []
            if old:
                conn.execute(delete(backup_files).where(backup_files.c.name.in_(old)))
    finally:
        engine.dispose()


def listing(url: str, lg_code: str | None = None) -> list[tuple[str, str, str, int]]:
    """(lg_code, name, created_at, size), oldest first."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            q = select(backup_files.c.lg_code, backup_files.c.name,
                       backup_files.c.created_at, backup_files.c.size).order_by(
                backup_files.c.lg_code, backup_files.c.name)
            if lg_code:
                q = q.where(backup_files.c.lg_code == lg_code)
            return [(r.lg_code, r.name, r.created_at, int(r.size)) for r in conn.execute(q)]
    finally:
        engine.dispose()


def fetch(url: str, name: str, into: Path) -> Path:
    """A stored backup back into a directory, as the file it was."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            data = conn.execute(select(backup_files.c.data).where(
                backup_files.c.name == name)).scalar()
    finally:
        engine.dispose()
    if data is None:
        raise NotFound(f"{name} は第二センターにありません", field="name")
    into.mkdir(parents=True, exist_ok=True)
    path = into / Path(name).name
    path.write_bytes(data)
    return path
