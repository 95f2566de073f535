"""The audit chain catches an edited, deleted or reordered entry, and names it."""

import itertools
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update

from kumomura.platform import audit
from kumomura.platform.audit import AuditContext, audit_head, audit_log, entry_hash
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from tests.conftest import NAGAI, make_tenant

CTX = AuditContext(actor="clerk1", request_id="r-1", client_addr="10.0.0.5",
                   purpose="住民票の写しの交付")


def _write(db: Database, n: int, code: str = "062022") -> None:
    for i in range(n):
        with db.tenant_tx(code) as conn:
            audit.record(conn, CTX, "residents.view", atena_no=f"{1000 + i}",
                         detail={"i": i, "名前": "カナ"})
    audit.seal(db, code)


def _rows(db: Database) -> list[dict[str, Any]]:
    with db.tenant_admin_tx("062022") as conn:
        return [dict(r) for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))
                .mappings()]


def test_intact_chain_verifies(db: Database, yonezawa: Tenant) -> None:
    _write(db, 5)
    result = audit.verify(db, "062022")
    assert (result.ok, result.checked) == (True, 5)
    rows = _rows(db)
    assert rows[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(rows))
    assert rows[2]["purpose"] == "住民票の写しの交付"
    assert rows[2]["client_addr"] == "10.0.0.5"


def test_entry_is_written_with_the_action_or_not_at_all(db: Database, yonezawa: Tenant
                                                        ) -> None:
    with pytest.raises(RuntimeError), db.tenant_tx("062022") as conn:
        audit.record(conn, CTX, "residents.move_in")
        raise RuntimeError("the move-in failed")
    assert _rows(db) == []
    _write(db, 1)
    assert audit.verify(db, "062022").ok


def test_edited_entry_is_named(db: Database, yonezawa: Tenant) -> None:
    _write(db, 6)
    with db.tenant_admin_tx("062022") as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(actor="someone"))
    result = audit.verify(db, "062022")
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "entry 3 was edited" in str(result.problem)


def test_edit_with_recomputed_hash_is_still_caught(db: Database, yonezawa: Tenant) -> None:
    _write(db, 6)
    row = _rows(db)[3]
    row["purpose"] = "私的な閲覧"
    forged = entry_hash(row["prev_hash"], row)
    with db.tenant_admin_tx("062022") as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 4)
                     .values(purpose="私的な閲覧", hash=forged))
    result = audit.verify(db, "062022")
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "hash recomputed" in str(result.problem)


@pytest.mark.parametrize(("deleted", "first_bad", "message"), [
    (audit_log.c.seq == 2, 2, "missing (deleted)"),
    (audit_log.c.seq >= 5, 5, "5 to 6 are missing"),  # the tail
])
def test_deleted_entries_are_named(db: Database, yonezawa: Tenant, deleted: Any,
                                   first_bad: int, message: str) -> None:
    _write(db, 6)
    with db.tenant_admin_tx("062022") as conn:
        conn.execute(delete(audit_log).where(deleted))
    result = audit.verify(db, "062022")
    assert (result.ok, result.first_bad_seq) == (False, first_bad)
    assert message in str(result.problem)


def test_reordered_entries_are_named(db: Database, yonezawa: Tenant) -> None:
    _write(db, 6)
    rows = _rows(db)
    content = [c.name for c in audit_log.c if c.name != "seq"]
    with db.tenant_admin_tx("062022") as conn:  # swap the contents of entries 3 and 4
        conn.execute(update(audit_log).where(audit_log.c.seq == 3)
                     .values({k: rows[3][k] for k in content}))
        conn.execute(update(audit_log).where(audit_log.c.seq == 4)
                     .values({k: rows[2][k] for k in content}))
    result = audit.verify(db, "062022")
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "reordered" in str(result.problem)


def test_chains_are_per_tenant(db: Database, yonezawa: Tenant) -> None:
    make_tenant(db, NAGAI)
    _write(db, 3)
    _write(db, 2, code="062090")
    assert audit.verify(db, "062022").checked == 3
    assert audit.verify(db, "062090").checked == 2
    assert [e["seq"] for e in audit.entries(db, "062090")] == [2, 1]


def test_concurrent_writers_keep_one_chain(db: Database, yonezawa: Tenant) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: _write(db, 5), range(4)))
    assert audit.verify(db, "062022").checked == 20
    with db.tenant_admin_tx("062022") as conn:
        assert conn.execute(select(audit_head.c.last_seq)).scalar() == 20
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_an_append_waits_for_no_other_writer(pg_db: Database) -> None:
    """With the chain's tip locked by every writer until commit, a second clerk's entry
    waited for the first's transaction; now it goes in while the first is still open
    (PostgreSQL: SQLite has one writer per file whatever the log does)."""
    import threading

    db = pg_db
    make_tenant(db)
    done = threading.Event()

    def second_clerk() -> None:
        with db.tenant_tx("062022") as conn:
            audit.record(conn, CTX, "residents.view", atena_no="2000")
        done.set()

    with db.tenant_tx("062022") as conn:
        audit.record(conn, CTX, "residents.view", atena_no="1000")
        audit.seal(db, "062022")  # a sealer at work meanwhile waits for no one either
        other = threading.Thread(target=second_clerk)
        other.start()
        assert done.wait(10), "the second append waited for the first transaction"
        other.join()
    assert audit.verify(db, "062022").checked == 2
    assert {e["atena_no"] for e in audit.entries(db, "062022")} == {"1000", "2000"}


def test_concurrent_sealers_chain_every_entry_once(db: Database, yonezawa: Tenant) -> None:
    import threading

    def clerk(n: int) -> None:
        for i in range(15):
            with db.tenant_tx("062022") as conn:
                audit.record(conn, CTX, "residents.view", atena_no=f"{n}-{i}")
            audit.seal(db, "062022", wait=i % 2 == 0)

    clerks = [threading.Thread(target=clerk, args=(n,)) for n in range(4)]
    for t in clerks:
        t.start()
    for t in clerks:
        t.join()
    result = audit.verify(db, "062022")
    assert (result.ok, result.checked) == (True, 60)
    assert sorted(r["atena_no"] for r in _rows(db)) == sorted(
        f"{n}-{i}" for n in range(4) for i in range(15))


def test_a_pending_entry_is_never_taken_back(pg_db: Database) -> None:
    """The login may not delete pending entries, and the function through which sealed
    ones leave deletes only an entry whose very content the chain holds."""
    from sqlalchemy.exc import ProgrammingError

    from kumomura.platform.audit import audit_pending
    from kumomura.platform.storage.logins import SEALED_FUNCTION

    make_tenant(pg_db)
    _write(pg_db, 1)
    with pg_db.tenant_tx("062022") as conn:
        audit.record(conn, CTX, "residents.view", atena_no="9999")
        pending = conn.execute(select(audit_pending.c.id)).scalar_one()
    with pytest.raises(ProgrammingError, match="permission denied"), \
            pg_db.tenant_tx("062022") as conn:
        conn.execute(delete(audit_pending))
    with pg_db.tenant_tx("062022") as conn:  # claimed to be sealed as entry 1: it is not
        gone = conn.execute(text(f"SELECT t_062022.{SEALED_FUNCTION}(:i, :s)"),
                            {"i": [pending], "s": [1]}).scalar_one()
    assert gone == 0
    assert audit.verify(pg_db, "062022").checked == 2
    assert audit.entries(pg_db, "062022")[0]["atena_no"] == "9999"
