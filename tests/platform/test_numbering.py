"""Number series under concurrency: register numbers in the change's own transaction,
certificate numbers apart from it so that no counter waits while one renders."""

from __future__ import annotations

import threading

import pytest

from kumomura.platform.storage.db import Database
from kumomura.platform.storage.numbering import next_value, next_value_apart
from tests.conftest import make_tenant

CODE = "062022"


def test_a_certificate_number_is_not_held_while_its_certificate_renders(pg_db: Database
                                                                        ) -> None:
    make_tenant(pg_db)
    taken: list[int] = []

    def second_counter() -> None:
        with pg_db.tenant_tx(CODE) as conn:
            taken.append(next_value_apart(conn, "certificate:2026"))

    with pytest.raises(RuntimeError), pg_db.tenant_tx(CODE) as conn:
        first = next_value_apart(conn, "certificate:2026")
        other = threading.Thread(target=second_counter)
        other.start()
        other.join(10)  # while the first certificate is still rendering
        assert not other.is_alive(), "the second counter waited for the first certificate"
        raise RuntimeError("the first certificate failed after its number was taken")
    assert (first, taken) == (1, [2])
    with pg_db.tenant_tx(CODE) as conn:  # the failed one's number is a gap, never reissued
        assert next_value_apart(conn, "certificate:2026") == 3


def test_a_register_number_is_issued_only_with_its_change(db: Database) -> None:
    make_tenant(db)
    with pytest.raises(RuntimeError), db.tenant_tx(CODE) as conn:
        assert next_value(conn, "atena_no") == 1
        raise RuntimeError("the move-in failed")
    with db.tenant_tx(CODE) as conn:
        assert next_value(conn, "atena_no") == 1


def test_numbers_taken_apart_never_wait_for_the_requests_own_pool(pg_db: Database) -> None:
    """Every connection of the municipality's pool held by a request that now takes a
    certificate number: from that same pool, each would wait for the others for ever."""
    make_tenant(pg_db)
    small = Database(pg_db.url, pg_db.data_dir, pool_size=1, owner=False)  # 2 connections
    holding = threading.Barrier(2)
    taken: list[int] = []

    def request() -> None:
        with small.tenant_tx(CODE) as conn:
            holding.wait(10)  # both connections of the pool now held
            taken.append(next_value_apart(conn, "certificate:2026"))

    try:
        clerks = [threading.Thread(target=request) for _ in range(2)]
        for t in clerks:
            t.start()
        for t in clerks:
            t.join(10)
        assert not any(t.is_alive() for t in clerks), "a number waited for the pool"
        assert sorted(taken) == [1, 2]
    finally:
        small.dispose()
