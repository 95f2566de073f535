"""The whole cluster restored from a base backup and the WAL archive, with the scripts
an operator runs (ops/): a municipality's data comes back up to what was archived, and
the real RPO (the newest change lost) is measured."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from kumomura.platform import events
from kumomura.platform.deployment import upgrade_platform
from kumomura.platform.events import outbox
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import add_tenant
from tests.conftest import REQUIRE_PG

OPS = Path(__file__).resolve().parents[2] / "ops"
CLUSTER = "kmwal"
PORT = int(os.environ.get("KUMOMURA_TEST_WAL_PG_PORT", "5445"))
CODE = "062022"


def _version() -> str:
    listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True,
                            text=True, check=True).stdout.split("\n")
    return next(line.split()[0] for line in listed if line.strip())


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True)


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                if not conn.execute(text("SELECT pg_is_in_recovery()")).scalar():
                    return
        except Exception:
            if time.monotonic() > deadline:
                raise
        finally:
            engine.dispose()
        time.sleep(0.3)


@pytest.fixture
def cluster() -> Iterator[tuple[str, str, Path]]:
    if os.geteuid() != 0 or not shutil.which("pg_createcluster"):
        if REQUIRE_PG:
            pytest.fail("the WAL archive test needs root and Debian's PostgreSQL tools")
        pytest.skip("needs root and Debian's PostgreSQL tools")
    version = _version()
    subprocess.run(["pg_dropcluster", version, CLUSTER, "--stop"], capture_output=True)
    _run("pg_createcluster", version, CLUSTER, "-p", str(PORT), "--start", "--",
         "--auth=trust")
    # The server's own user writes the archive and the base backup: a directory it can
    # reach (pytest's temporary tree is private to root).
    work = Path(tempfile.mkdtemp(prefix="kumomura-wal-", dir="/var/tmp"))
    shutil.chown(work, "postgres", "postgres")
    try:
        yield version, f"postgresql+psycopg://postgres@127.0.0.1:{PORT}/postgres", work
    finally:
        subprocess.run(["pg_dropcluster", version, CLUSTER, "--stop"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def test_restore_from_the_wal_archive_and_its_rpo(cluster: tuple[str, str, Path]) -> None:
    version, admin_url, work = cluster
    archive, base = work / "archive", work / "base"
    _run(str(OPS / "wal-archiving.sh"), version, CLUSTER, str(archive), "1")
    _wait(admin_url)
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE DATABASE kumomura"))
    engine.dispose()
    url = admin_url.rsplit("/", 1)[0] + "/kumomura"
    db = Database(url, work / "data")
    upgrade_platform(db)
    add_tenant(db, code=CODE, name="米沢市", prefecture="山形県", population=1,
               actor="test")
    _run("runuser", "-u", "postgres", "--", "pg_basebackup", "-h", "127.0.0.1", "-p",
         str(PORT), "-U", "postgres", "-D", str(base), "-X", "stream", "-c", "fast")

    def mark(n: int) -> None:
        with db.tenant_tx(CODE) as conn:
            events.emit_raw(conn, "test.marker", {"n": n})

    for n in range(10):  # before a forced switch of WAL segment: surely archived
        mark(n)
    with db.owner_engine.connect() as conn:
        conn.execute(text("SELECT pg_switch_wal()"))
    n = 10
    last_commit = datetime.now(UTC)
    stop = time.monotonic() + 2
    while time.monotonic() < stop:  # the municipality goes on working
        mark(n)
        last_commit = datetime.now(UTC)
        n += 1
        time.sleep(0.05)
    db.dispose()
    _run("pg_ctlcluster", "--skip-systemctl-redirect", version, CLUSTER, "stop", "-m",
         "immediate")  # the data center is lost; the archive and base backup remain

    _run(str(OPS / "pitr-restore.sh"), version, CLUSTER, str(base), str(archive))
    _wait(url)
    restored = Database(url, work / "data")
    with restored.tenant_tx(CODE) as conn:
        markers = conn.execute(select(outbox.c.payload, outbox.c.created_at).where(
            outbox.c.topic == "test.marker").order_by(outbox.c.id)).all()
        count = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    restored.dispose()
    numbers = [m.payload["n"] for m in markers]
    assert numbers[:10] == list(range(10))  # everything before the switch is back
    assert numbers == list(range(len(numbers)))  # and nothing in between is missing
    assert count >= 10
    rpo = (last_commit - markers[-1].created_at).total_seconds()
    print(f"\nRPO of a restore from the WAL archive (archive_timeout 1 s): {rpo:.2f} s, "
          f"{len(numbers)} of {n} markers back")
