"""Backups of one municipality: the round trip is byte for byte, another tenant is never
touched, and a damaged, cut-off, wrong-key or other tenant's backup is refused with the
live data as it was."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kumomura.platform import audit
from kumomura.platform.exchange.exports import export_tenant
from kumomura.platform.exchange.imports import AUDIT_LAYOUTS
from kumomura.platform.exchange.layouts import all_layouts
from kumomura.platform.resilience import backup
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.residents.tables import resident_versions
from tests.conftest import NAGAI, make_tenant
from tests.crash import kill_while_copying
from tests.residents.factories import CTX, family

CODE = "062022"


def _count(db: Database, code: str) -> int:
    with db.tenant_tx(code) as conn:
        return int(conn.execute(select(func.count()).select_from(resident_versions))
                   .scalar_one())


@pytest.fixture
def populated(db: Database, yonezawa: Tenant) -> Database:
    make_tenant(db, NAGAI)
    with db.tenant_tx(CODE) as conn:
        ch.move_in(conn, CTX, family())
    with db.tenant_tx(NAGAI[0]) as conn:
        ch.move_in(conn, CTX, family())
    return db


def test_backup_and_restore_round_trip(populated: Database, tmp_path: Path) -> None:
    db, keys, target = populated, tmp_path / "keys", tmp_path / "backups"
    info = backup.run(db, CODE, target, key_dir=keys, ctx=CTX)
    assert info.path.read_bytes()[:4] == b"KMB1"
    assert b"000000000000019" not in info.path.read_bytes()  # encrypted, not just packed
    checked = backup.verify(info.path, key_dir=keys)
    assert checked["rows"]["resident_versions"] == 3  # type: ignore[index]
    before = tmp_path / "before"
    assert backup.extract(info.path, key_dir=keys, into=before) == CODE
    other = tmp_path / "other-before"
    export_tenant(db, NAGAI[0], other, ctx=CTX)
    with db.tenant_tx(CODE) as conn:  # a change after the backup, which the restore undoes
        ch.move_in(conn, CTX, family(address={"town": "丸の内一丁目1番1号"}))
    assert _count(db, CODE) == 6
    result = backup.restore(db, CODE, info.path, key_dir=keys)
    assert result.written, result.problems
    assert _count(db, CODE) == 3
    after = tmp_path / "after"
    export_tenant(db, CODE, after, ctx=CTX)
    for lay in all_layouts():  # the restored municipality, exported: the backup's files,
        if lay.name not in AUDIT_LAYOUTS:  # but for its audit trail, never rolled back
            assert filecmp.cmp(before / lay.file, after / lay.file, shallow=False), lay.file
    assert _lines(after / "audit_log.csv") > _lines(before / "audit_log.csv")
    assert audit.verify(db, CODE).ok
    other_after = tmp_path / "other-after"
    export_tenant(db, NAGAI[0], other_after, ctx=CTX)
    assert filecmp.cmp(other / "resident_versions.csv", other_after / "resident_versions.csv",
                       shallow=False)


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_generations_are_kept_and_listed(populated: Database, tmp_path: Path) -> None:
    for _ in range(3):
        backup.run(populated, CODE, tmp_path / "b", key_dir=tmp_path / "k", ctx=CTX, keep=2)
    found = backup.listing(tmp_path / "b", CODE)
    assert len(found) == 2
    assert found[0].created_at < found[1].created_at


@pytest.mark.parametrize("damage", ["byte", "truncate", "extra", "key", "tenant"])
def test_a_bad_backup_is_refused_and_nothing_changes(populated: Database, tmp_path: Path,
                                                     damage: str) -> None:
    db, keys = populated, tmp_path / "keys"
    info = backup.run(db, CODE, tmp_path / "b", key_dir=keys, ctx=CTX)
    data = bytearray(info.path.read_bytes())
    target = CODE
    if damage == "byte":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        data = data[: len(data) - 100]
    elif damage == "extra":
        data += b"\x00"
    elif damage == "key":
        (keys / f"{CODE}.key").write_bytes(os.urandom(32))
    else:
        target = NAGAI[0]  # 米沢市's backup offered to 長井市
        backup.key_for(keys, NAGAI[0], create=True)
    info.path.write_bytes(bytes(data))
    with db.tenant_tx(target) as conn:
        ch.move_in(conn, CTX, family(address={"town": "丸の内一丁目1番1号"}))
    before = _count(db, target)
    with pytest.raises(backup.BadBackup) as refused:
        backup.restore(db, target, info.path, key_dir=keys)
    assert refused.value.field in ("file", "lg_code")
    if damage != "tenant":
        with pytest.raises(backup.BadBackup):
            backup.verify(info.path, key_dir=keys)
    assert _count(db, target) == before


def test_a_backup_killed_half_way_leaves_no_backup(pg_db: Database, tmp_path: Path) -> None:
    """SIGKILL while the backup runs: no file that looks whole, and the next run works."""
    from kumomura.residents import bulk
    from kumomura.residents.synthetic import Population

    make_tenant(pg_db)
    day = date(2026, 11, 1)
    bulk.load(pg_db, CODE, Population(seed=2, pool=300).households(
        20_000, day, office="山形県米沢市"), on=day, ctx=CTX, source="test")
    env = {**os.environ, "KUMOMURA_DATABASE_URL": str(pg_db.url),
           "KUMOMURA_BACKUP_KEY_DIR": str(tmp_path / "keys")}
    target = tmp_path / "b"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from kumomura.cli import main; main()", "backup", "run",
         "--tenant", CODE, "--to", str(target)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (target / CODE).exists() \
            and proc.poll() is None:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    assert not list((target / CODE).glob("*.kmb")) or proc.returncode == 0
    info = backup.run(pg_db, CODE, target, key_dir=tmp_path / "keys", ctx=CTX)
    assert not list((target / CODE).glob("*.part"))
    assert backup.verify(info.path, key_dir=tmp_path / "keys")["lg_code"] == CODE


def test_drill_restores_into_a_scratch_deployment(populated: Database, tmp_path: Path) -> None:
    db, keys, target = populated, tmp_path / "keys", tmp_path / "b"
    backup.run(db, CODE, target, key_dir=keys, ctx=CTX)
    with db.tenant_tx(CODE) as conn:  # live data moves on after the backup
        ch.move_in(conn, CTX, family(address={"town": "丸の内一丁目1番1号"}))
    results = backup.drill(db, target, key_dir=keys, ctx=CTX)
    by_code = {r["lg_code"]: r for r in results}
    assert by_code[CODE]["result"] == "ok", by_code[CODE]["detail"]
    assert by_code[CODE]["detail"]["differences"] == []  # type: ignore[index]
    assert by_code[NAGAI[0]]["result"] == "failed"  # 長井市 has no backup yet
    assert _count(db, CODE) == 6  # the live municipality is untouched by the drill
    recorded = backup.drills(db, CODE)
    assert recorded[0]["result"] == "ok"
    assert float(recorded[0]["restore_seconds"]) > 0  # type: ignore[arg-type]


def test_the_workers_back_up_every_municipality_on_schedule(
        pg_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kumomura.platform.core.config import get_settings
    from kumomura.platform.worker import BACKUP_TASK, build_app

    make_tenant(pg_db)
    make_tenant(pg_db, NAGAI)
    monkeypatch.setenv("KUMOMURA_BACKUP_TARGET", str(tmp_path / "nightly"))
    monkeypatch.setenv("KUMOMURA_BACKUP_KEY_DIR", str(tmp_path / "keys"))
    get_settings.cache_clear()
    app = build_app(pg_db)
    task = app.tasks[BACKUP_TASK]
    assert [p.cron for p in app.periodic_registry.periodic_tasks.values()
            if p.task.name == BACKUP_TASK] == ["30 2 * * *"]
    task.func(timestamp=0)  # what the worker runs at the scheduled time
    assert sorted(info.lg_code for info in backup.listing(tmp_path / "nightly")) == [
        CODE, NAGAI[0]]
    get_settings.cache_clear()


def test_a_restore_killed_half_way_leaves_the_municipality_as_it_was(
        pg_db: Database, tmp_path: Path) -> None:
    """SIGKILL while the restore writes: the municipality keeps what it had; a second
    restore goes to the end."""
    from kumomura.residents import bulk
    from kumomura.residents.synthetic import Population

    make_tenant(pg_db)
    day = date(2026, 11, 1)
    bulk.load(pg_db, CODE, Population(seed=3, pool=300).households(
        10_000, day, office="山形県米沢市"), on=day, ctx=CTX, source="test")
    keys = tmp_path / "keys"
    info = backup.run(pg_db, CODE, tmp_path / "b", key_dir=keys, ctx=CTX)
    with pg_db.tenant_tx(CODE) as conn:  # what the municipality has now
        ch.move_in(conn, CTX, family())
    before = _count(pg_db, CODE)
    env = {**os.environ, "KUMOMURA_DATABASE_URL": str(pg_db.url),
           "KUMOMURA_BACKUP_KEY_DIR": str(keys)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from kumomura.cli import main; main()", "backup", "restore",
         "--tenant", CODE, str(info.path)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    writing = kill_while_copying(pg_db, proc, f"t_{CODE}.resident_versions")
    assert writing, "the restore finished before it could be interrupted"
    assert _count(pg_db, CODE) == before
    result = backup.restore(pg_db, CODE, info.path, key_dir=keys)
    assert result.written
    assert _count(pg_db, CODE) == before - 3  # as in the backup, without the later family


def test_a_municipality_of_100000_comes_back_byte_for_byte(pg_db: Database,
                                                           tmp_path: Path) -> None:
    """The issue's size: 100,000 residents restored into place, re-exported identical to
    the backup's own files; the other municipality unchanged throughout."""
    from kumomura.residents import bulk
    from kumomura.residents.synthetic import Population

    make_tenant(pg_db)
    make_tenant(pg_db, NAGAI)
    day = date(2026, 11, 1)
    bulk.load(pg_db, CODE, Population(seed=4).households(100_000, day, office="山形県米沢市"),
              on=day, ctx=CTX, source="test")
    with pg_db.tenant_tx(NAGAI[0]) as conn:
        ch.move_in(conn, CTX, family())
    other_before = tmp_path / "nagai-before"
    export_tenant(pg_db, NAGAI[0], other_before, ctx=CTX)
    keys = tmp_path / "keys"
    info = backup.run(pg_db, CODE, tmp_path / "b", key_dir=keys, ctx=CTX)
    assert backup.restore(pg_db, CODE, info.path, key_dir=keys).written
    assert _count(pg_db, CODE) >= 100_000
    original, again = tmp_path / "original", tmp_path / "again"
    backup.extract(info.path, key_dir=keys, into=original)
    export_tenant(pg_db, CODE, again, ctx=CTX)
    for lay in all_layouts():
        if lay.name not in AUDIT_LAYOUTS:  # the audit trail is kept, never rolled back
            assert filecmp.cmp(original / lay.file, again / lay.file, shallow=False), lay.file
    other_after = tmp_path / "nagai-after"
    export_tenant(pg_db, NAGAI[0], other_after, ctx=CTX)
    for lay in all_layouts():
        if lay.name not in ("audit_log", "audit_head"):  # its own exports are audited
            assert filecmp.cmp(other_before / lay.file, other_after / lay.file,
                               shallow=False), lay.file
