"""The audit chain against its signed checkpoints: what the chain alone cannot see (its
tail cut and its tip moved back, or the whole chain rebuilt from the first entry) is
found and named, and a forged checkpoint is not believed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from kumomura.platform import audit, checkpoints
from kumomura.platform.audit import GENESIS, AuditContext, audit_head, audit_log, entry_hash
from kumomura.platform.core.config import get_settings
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant

CODE = "062022"
CTX = AuditContext(actor="clerk1", purpose="窓口照会")


@pytest.fixture
def signed(db: Database, yonezawa: Tenant, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Database:
    """Six entries, the tip signed at the fifth, with a key outside the database."""
    monkeypatch.setenv("KUMOMURA_AUDIT_SIGNING_KEY", str(tmp_path / "outside" / "sign.pem"))
    monkeypatch.setenv("KUMOMURA_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    get_settings.cache_clear()
    for i in range(5):
        with db.tenant_tx(CODE) as conn:
            audit.record(conn, CTX, "residents.view", atena_no=f"{1000 + i}")
    assert checkpoints.sign(db, CODE).seq == 5
    with db.tenant_tx(CODE) as conn:
        audit.record(conn, CTX, "residents.view", atena_no="1005")
    audit.seal(db, CODE)
    return db


def _rebuild(db: Database, rows: list[dict[str, object]]) -> None:
    """What someone with the database could do: write a new chain that agrees with
    itself, and move the tip to its end."""
    with db.tenant_admin_tx(CODE) as conn:
        conn.execute(delete(audit_log))
        prev = GENESIS
        for seq, row in enumerate(rows, start=1):
            entry = {**row, "seq": seq, "prev_hash": prev}
            entry["hash"] = prev = entry_hash(prev, entry)
            conn.execute(audit_log.insert().values(**entry))
        conn.execute(update(audit_head).values(last_seq=len(rows), last_hash=prev))


def _all(db: Database) -> list[dict[str, object]]:
    with db.tenant_admin_tx(CODE) as conn:
        return [dict(r) for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))
                .mappings()]


def test_an_intact_chain_verifies_against_its_checkpoint(signed: Database) -> None:
    result = checkpoints.verify(signed, CODE)
    assert (result.ok, result.checked) == (True, 6)


def test_a_cut_tail_with_the_tip_moved_back_is_found(signed: Database) -> None:
    _rebuild(signed, _all(signed)[:3])  # entries 4-6 gone, the tip at 3
    assert audit.verify(signed, CODE).ok  # the chain alone agrees with itself
    result = checkpoints.verify(signed, CODE)
    assert not result.ok
    assert result.first_bad_seq == 4
    assert "entries 4 to 5 are missing" in str(result.problem)


def test_a_chain_rebuilt_from_its_first_entry_is_found(signed: Database) -> None:
    rows = _all(signed)
    rows[1] = {**rows[1], "actor": "someone_else"}  # who looked, rewritten
    _rebuild(signed, rows)
    assert audit.verify(signed, CODE).ok
    result = checkpoints.verify(signed, CODE)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "rebuilt" in str(result.problem)


def test_a_forged_checkpoint_is_not_believed(signed: Database) -> None:
    path = checkpoints.file_of(CODE)
    forged = {**json.loads(path.read_text().splitlines()[-1]), "seq": 1}
    path.write_text(path.read_text() + json.dumps(forged) + "\n")  # a tip moved back, unsigned
    _rebuild(signed, _all(signed)[:1])
    result = checkpoints.verify(signed, CODE)
    assert not result.ok  # still measured against the genuine checkpoint at 5
    assert result.first_bad_seq == 2



def test_the_checkpoints_travel_with_every_backup(signed: Database, tmp_path: Path) -> None:
    from kumomura.platform.resilience import backup

    keys = tmp_path / "keys"
    info = backup.run(signed, CODE, tmp_path / "second-site", key_dir=keys, ctx=CTX)
    out = tmp_path / "extracted"
    backup.extract(info.path, key_dir=keys, into=out)
    copied = (out / backup.CHECKPOINTS).read_text().splitlines()
    assert [json.loads(line)["seq"] for line in copied] == [5]
    assert backup.verify(info.path, key_dir=keys)["lg_code"] == CODE


def test_checkpoints_without_their_key_are_a_failure_not_a_pass(signed: Database,
                                                                 tmp_path: Path) -> None:
    key = tmp_path / "outside" / "sign.pem"
    kept = key.read_bytes()
    key.unlink()  # the key lost (or removed to hide a rebuilt chain)
    result = checkpoints.verify(signed, CODE)
    assert not result.ok
    assert "signing key" in str(result.problem)
    checkpoints.signing_key()  # another key made in its place
    result = checkpoints.verify(signed, CODE)
    assert (result.ok, "none of the 1 checkpoints" in str(result.problem)) == (False, True)
    key.write_bytes(kept)
    assert checkpoints.verify(signed, CODE).ok
