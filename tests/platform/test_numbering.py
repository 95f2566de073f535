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
