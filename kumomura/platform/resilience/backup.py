"""Backups of one municipality: its standard-layout export, packed, compressed and
encrypted with a key of its own, checked and restored without touching any other tenant.

A backup is the export (one consistent snapshot, every table, a manifest of SHA-256
checksums) in a gzip'd tar, encrypted in chunks with AES-256-GCM. Each chunk's nonce
carries its number and its additional data the file's header and whether it is the last,
so a changed byte, a reordered, missing or cut-off chunk, another tenant's header or the
wrong key all fail authentication: such a file is refused before anything is restored.
A restore is the import of the export (one transaction), so one that fails or is killed
leaves the municipality as it was.

Keys: one random 256-bit key per municipality, in ``KUMOMURA_BACKUP_KEY_DIR`` (by default
``data_dir/keys``), created on the first backup. Keep that directory apart from the
backups (another site, a safe): a backup is as good as its key.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Integer,
    String,
    Table,
    Text,
    create_engine,
    insert,
    make_url,
    select,
    text,
)

from kumomura.platform import checkpoints
from kumomura.platform.audit import AuditContext
from kumomura.platform.core import sealed
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.core.sealed import DamagedFile, municipality_key
from kumomura.platform.core.timeutil import Timestamp, utcnow
from kumomura.platform.exchange.exports import MANIFEST, export_tenant
from kumomura.platform.exchange.imports import ImportResult, Problem, check_manifest, import_tenant
from kumomura.platform.resilience import backup_remote
from kumomura.platform.storage.db import Database, platform_metadata
from kumomura.platform.storage.migrate import upgrade_control_plane

backup_drills = Table(
    "backup_drills",
    platform_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lg_code", String(6), nullable=False, index=True),
    Column("backup_file", Text, nullable=False),
    Column("backup_taken_at", Text, nullable=False),
    Column("drilled_at", Timestamp(), nullable=False),
    Column("restore_seconds", Float, nullable=False),
    Column("result", String(8), nullable=False),  # ok | failed
    Column("detail", JSON, nullable=False),
)
"""Every drill: which backup, when, how long the restore took, and what it found."""

CHECKPOINTS = "audit-checkpoints.jsonl"
"""The municipality's signed audit checkpoints, packed beside its files."""
FORMAT = "kumomura-backup/1"
SUFFIX = ".kmb"


class BadBackup(DamagedFile):
    """A backup that cannot be trusted: damaged, cut off, another tenant's, wrong key."""


def key_for(key_dir: Path, lg_code: str, *, create: bool = False) -> bytes:
    """The municipality's backup key (``core.sealed``: the same key seals its uploads)."""
    return municipality_key(key_dir, lg_code, create=create)


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    lg_code: str
    created_at: str
    size: int


def read_header(path: Path) -> dict[str, object]:
    with path.open("rb") as handle:
        header, _ = sealed.read_header(handle, error=BadBackup)
    if header.get("format") != FORMAT:
        raise BadBackup(f"形式 {header.get('format')} は読めません", field="file")
    return header


def run(db: Database, lg_code: str, target: Path | str, *, key_dir: Path,
        ctx: AuditContext, keep: int = 7, only: frozenset[str] | None = None,
        extra: dict[str, object] | None = None) -> BackupInfo:
    """Back up one municipality into ``target/lg_code/`` (or a second PostgreSQL cluster
    given by its URL); keep the newest ``keep``. ``only``: just these layouts (a municipal
    package); ``extra``: more header fields."""
    if backup_remote.is_remote(target):
        with tempfile.TemporaryDirectory() as tmp:
            local = run(db, lg_code, Path(tmp), key_dir=key_dir, ctx=ctx, keep=keep,
                        only=only, extra=extra)
            backup_remote.put(str(target), local.path, lg_code=lg_code,
                              created_at=local.created_at, keep=keep)
        return BackupInfo(Path(local.path.name), lg_code, local.created_at, local.size)
    target = Path(target)
    key = key_for(key_dir, lg_code, create=True)
    directory = target / lg_code
    directory.mkdir(parents=True, exist_ok=True)
    created = utcnow()
    name = f"{lg_code}-{created:%Y%m%dT%H%M%S%fZ}{SUFFIX}"
    with tempfile.TemporaryDirectory() as tmp:
        files = Path(tmp) / "export"
        export_tenant(db, lg_code, files, ctx=ctx)
        if only is not None:
            _keep_only(files, only)
        signed = checkpoints.file_of(lg_code)
        if signed.exists():  # the signed tips travel with the data, to the second site
            shutil.copyfile(signed, files / CHECKPOINTS)
        packed = Path(tmp) / "export.tar.gz"
        with tarfile.open(packed, "w:gz", compresslevel=6) as tar:
            for path in sorted(files.iterdir()):
                tar.add(path, arcname=path.name)
        partial = directory / (name + ".part")
        with packed.open("rb") as plain, partial.open("wb") as out:
            sealed.encrypt(plain, out, key, {"format": FORMAT, "lg_code": lg_code,
                                       "created_at": created.isoformat(), **(extra or {})})
            out.flush()
            os.fsync(out.fileno())
        partial.replace(directory / name)  # a backup killed half-way leaves only a .part
    _prune(directory, keep)
    final = directory / name
    return BackupInfo(final, lg_code, created.isoformat(), final.stat().st_size)


def run_all(db: Database, target: Path | str, *, key_dir: Path, keep: int,
            ctx: AuditContext) -> list[BackupInfo]:
    """Every member municipality, one after another (the scheduled backup)."""
    from kumomura.platform.tenancy.tenants import list_tenants

    return [run(db, t.lg_code, target, key_dir=key_dir, ctx=ctx, keep=keep)
            for t in list_tenants(db, include_left=False)]


def _keep_only(files: Path, layouts: frozenset[str]) -> None:
    """Drop the other layouts' files and their manifest entries."""
    manifest = json.loads((files / MANIFEST).read_text(encoding="utf-8"))
    kept = [f for f in manifest["files"] if f["layout"] in layouts]
    for entry in manifest["files"]:
        if entry["layout"] not in layouts:
            (files / entry["file"]).unlink()
    manifest["files"] = kept
    (files / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2,
                                             sort_keys=True) + "\n", encoding="utf-8")


def _prune(directory: Path, keep: int) -> None:
    backups = sorted(directory.glob(f"*{SUFFIX}"))
    for old in backups[:-keep] if keep > 0 else []:
        old.unlink()
    for stale in directory.glob(f"*{SUFFIX}.part"):
        stale.unlink()


def listing(target: Path | str, lg_code: str | None = None) -> list[BackupInfo]:
    """Backups oldest first (on a second cluster, ``path`` is the stored file's name)."""
    if backup_remote.is_remote(target):
        return [BackupInfo(Path(name), code, created, size)
                for code, name, created, size in backup_remote.listing(str(target), lg_code)]
    target = Path(target)
    found = []
    for path in sorted(target.glob(f"{lg_code or '*'}/*{SUFFIX}")):
        header = read_header(path)
        found.append(BackupInfo(path, str(header["lg_code"]), str(header["created_at"]),
                                path.stat().st_size))
    return found


def unpack(path: Path, key: bytes, into: Path) -> None:
    buffer = io.BytesIO()
    for chunk in sealed.decrypt(path, key, error=BadBackup):
        buffer.write(chunk)
    buffer.seek(0)
    try:
        with tarfile.open(fileobj=buffer, mode="r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BadBackup(f"バックアップの中身が読めません: {exc}", field="file") from None


def extract(path: Path, *, key_dir: Path, into: Path) -> str:
    """The backup's files (the export as it was), checked by the decryption; its tenant."""
    lg_code = str(read_header(path)["lg_code"])
    unpack(path, key_for(key_dir, lg_code), into)
    return lg_code


def verify(path: Path, *, key_dir: Path) -> dict[str, object]:
    """Decrypt, unpack and check every file against the manifest; the rows per table."""
    header = read_header(path)
    lg_code = str(header["lg_code"])
    with tempfile.TemporaryDirectory() as tmp:
        unpack(path, key_for(key_dir, lg_code), Path(tmp))
        problems: list[Problem] = []
        check_manifest(Path(tmp), lg_code, problems)
        if problems:
            raise BadBackup("; ".join(f"{p.file}: {p.reason}" for p in problems), field="file")
        manifest = json.loads((Path(tmp) / MANIFEST).read_text(encoding="utf-8"))
    return {"lg_code": lg_code, "created_at": header["created_at"],
            "rows": {f["layout"]: f["rows"] for f in manifest["files"]}}


def restore(db: Database, lg_code: str, path: Path, *, key_dir: Path,
            report_dir: Path | None = None) -> ImportResult:
    """Put a municipality back as it was in a backup, in one transaction; another
    tenant's backup is refused whatever its key."""
    header = read_header(path)
    if header.get("lg_code") != lg_code:
        raise BadBackup(f"{header.get('lg_code')} のバックアップは {lg_code} に戻せません",
                        field="lg_code")
    with tempfile.TemporaryDirectory() as tmp:
        unpack(path, key_for(key_dir, lg_code), Path(tmp))
        return import_tenant(db, lg_code, Path(tmp), report_dir=report_dir or Path(tmp))


def age(info: BackupInfo) -> float:
    """Hours since the backup was taken (what an RPO is measured in)."""
    return (utcnow() - datetime.fromisoformat(info.created_at)).total_seconds() / 3600


@contextmanager
def scratch(db: Database) -> Iterator[Database]:
    """An empty deployment beside the live one (a database of its own on the same
    PostgreSQL server, or a temporary directory of SQLite files), dropped afterwards."""

    with tempfile.TemporaryDirectory() as tmp:
        if not db.is_postgres:
            other = Database(None, Path(tmp))
            try:
                upgrade_control_plane(other)
                yield other
            finally:
                other.dispose()
            return
        assert db.url is not None
        name = f"kumomura_drill_{secrets.token_hex(4)}"
        admin = create_engine(make_url(db.url).set(database="postgres"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        other = Database(make_url(db.url).set(database=name).render_as_string(
            hide_password=False), Path(tmp), pool_size=2)
        try:
            upgrade_control_plane(other)
            yield other
        finally:
            other.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                for role in conn.execute(text(
                        "SELECT rolname FROM pg_roles WHERE rolname LIKE :p"),
                        {"p": f"{name}\\_%"}).scalars().all():
                    conn.execute(text(f'DROP ROLE "{role}"'))
            admin.dispose()


def drill(db: Database, target: Path | str, *, key_dir: Path, ctx: AuditContext,
          lg_codes: list[str] | None = None) -> list[dict[str, object]]:
    """Restore the latest backup of each municipality into a scratch deployment, export
    it again and compare every file with the backup's manifest (row counts and SHA-256:
    the data as it was when the backup was taken); record each drill."""
    from kumomura.platform.tenancy.tenants import add_tenant, get_tenant, list_tenants

    codes = lg_codes or [t.lg_code for t in list_tenants(db, include_left=False)]
    results = []
    for code in codes:
        found = listing(target, code)
        if not found:
            missing: dict[str, object] = {"problem": "バックアップがありません"}
            results.append(_record(db, code, None, 0.0, False, missing))
            continue
        latest = found[-1]
        cache = None
        if backup_remote.is_remote(target):  # from the second data center, as in a disaster
            cache = Path(tempfile.mkdtemp())
            latest = BackupInfo(backup_remote.fetch(str(target), latest.path.name, cache),
                                latest.lg_code, latest.created_at, latest.size)
        tenant = get_tenant(db, code)
        started = time.perf_counter()
        detail: dict[str, object] = {}
        ok = False
        try:
            with scratch(db) as other, tempfile.TemporaryDirectory() as tmp:
                add_tenant(other, code=code, name=tenant.name, prefecture=tenant.prefecture,
                           population=tenant.population, actor=ctx.actor)
                result = restore(other, code, latest.path, key_dir=key_dir)
                seconds = time.perf_counter() - started
                if not result.written:
                    detail = {"problems": [f"{p.file}: {p.reason}"
                                           for p in result.problems[:20]]}
                else:
                    export_tenant(other, code, Path(tmp) / "again", ctx=ctx)
                    original = Path(tmp) / "original"
                    extract(latest.path, key_dir=key_dir, into=original)
                    detail = _compare(original, Path(tmp) / "again")
                    ok = not detail["differences"]
        except InvalidInput as exc:
            seconds = time.perf_counter() - started
            detail = {"problem": exc.message}
        results.append(_record(db, code, latest, seconds, ok, detail))
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
    return results


def _compare(original: Path, again: Path) -> dict[str, object]:
    first = json.loads((original / MANIFEST).read_text(encoding="utf-8"))["files"]
    second = {f["file"]: f for f in json.loads(
        (again / MANIFEST).read_text(encoding="utf-8"))["files"]}
    differences = [f["file"] for f in first
                   if (second.get(f["file"], {}).get("sha256"), second.get(f["file"], {})
                       .get("rows")) != (f["sha256"], f["rows"])]
    return {"files": len(first), "rows": sum(f["rows"] for f in first),
            "differences": differences}


def _record(db: Database, code: str, info: BackupInfo | None, seconds: float, ok: bool,
            detail: dict[str, object]) -> dict[str, object]:
    row = {"lg_code": code, "backup_file": info.path.name if info else "",
           "backup_taken_at": info.created_at if info else "", "drilled_at": utcnow(),
           "restore_seconds": round(seconds, 3), "result": "ok" if ok else "failed",
           "detail": detail}
    with db.platform_tx() as conn:
        conn.execute(insert(backup_drills).values(**row))
    return row


def drills(db: Database, lg_code: str | None = None) -> list[dict[str, object]]:
    with db.platform_tx() as conn:
        q = select(backup_drills).order_by(backup_drills.c.id.desc()).limit(100)
        if lg_code:
            q = q.where(backup_drills.c.lg_code == lg_code)
        return [dict(r) for r in conn.execute(q).mappings()]
