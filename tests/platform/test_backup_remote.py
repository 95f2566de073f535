"""The second data center: a second PostgreSQL cluster, started by the tests on another
port, keeps the encrypted backups; a drill restores from it."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from kumomura.platform.resilience import backup, backup_remote
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from tests.conftest import REQUIRE_PG
from tests.residents.factories import CTX, family

CODE = "062022"
PORT = int(os.environ.get("KUMOMURA_TEST_SECOND_PG_PORT", "5444"))
CLUSTER = "kmsecond"


def _reachable(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def _start_cluster() -> None:
    """Create (once) and start a second local cluster with Debian's tools."""
    listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True,
                            check=True).stdout.split("\n")
    version = next(line.split()[0] for line in listed if line.strip())
    if not any(line.split()[1:2] == [CLUSTER] for line in listed if line.strip()):
        subprocess.run(["pg_createcluster", version, CLUSTER, "-p", str(PORT), "--start",
                        "--", "--auth=trust"], check=True, capture_output=True)
    else:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, CLUSTER,
                        "start"], capture_output=True)


@pytest.fixture(scope="session")
def second_cluster() -> str:
    admin = f"postgresql+psycopg://postgres@127.0.0.1:{PORT}/postgres"
    if not _reachable(admin):
        with Path("/tmp/kumomura-second-cluster.lock").open("w") as lock:  # noqa: S108
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _reachable(admin):
                try:
                    _start_cluster()
                except (OSError, subprocess.CalledProcessError) as exc:
                    if REQUIRE_PG:
                        pytest.fail(f"cannot start a second PostgreSQL cluster: {exc}")
                    pytest.skip(f"no second PostgreSQL cluster: {exc}")
        deadline = time.monotonic() + 30
        while not _reachable(admin) and time.monotonic() < deadline:
            time.sleep(0.2)
    return admin


@pytest.fixture
def second_site(second_cluster: str) -> Iterator[str]:
    """A database of its own on the second cluster for one test."""
    name = f"kmbackup_{uuid.uuid4().hex[:8]}"
    admin = create_engine(second_cluster, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield second_cluster.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_backups_kept_at_the_second_site_and_drilled_from_there(
        db: Database, yonezawa: Tenant, second_site: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    with db.tenant_tx(CODE) as conn:
        ch.move_in(conn, CTX, family())
    for _ in range(3):
        backup.run(db, CODE, second_site, key_dir=keys, ctx=CTX, keep=2)
    stored = backup.listing(second_site, CODE)
    assert len(stored) == 2
    assert all(info.size > 1000 for info in stored)
    [drilled] = backup.drill(db, second_site, key_dir=keys, ctx=CTX, lg_codes=[CODE])
    assert drilled["result"] == "ok", drilled["detail"]
    fetched = backup_remote.fetch(second_site, stored[-1].path.name, tmp_path / "fetched")
    assert backup.verify(fetched, key_dir=keys)["lg_code"] == CODE
    assert b"000000000000019" not in fetched.read_bytes()  # the second site holds ciphertext
