"""Bulk loading synthetic residents: numbers, households, search, and all-or-nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from kumomura.platform.storage.db import Database
from kumomura.platform.storage.numbering import is_valid_check_digit
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import bulk, service
from kumomura.residents import changes as ch
from kumomura.residents.synthetic import Population
from kumomura.residents.tables import resident_versions
from tests.residents.factories import CTX, family
from tests.residents.test_invariants import check_invariants

CODE = "062022"
ON = date(2026, 4, 1)


def test_load_then_change_as_usual(db: Database, yonezawa: Tenant) -> None:
    people = Population(seed=7, pool=200)
    loaded = bulk.load(db, CODE, people.households(500, ON, office="山形県米沢市"), on=ON,
                       ctx=CTX, source="synthetic", batch=128)
    assert loaded == 500
    with db.tenant_tx(CODE) as conn:
        check_invariants(conn)
        rows = conn.execute(select(resident_versions.c.atena_no)).scalars().all()
        assert len(rows) == 500
        assert all(is_valid_check_digit(a, 15) for a in rows)
        some = service.current(conn, rows[123])
        found = service.search(conn, CTX, service.SearchCriteria(
            kana=some["kana"][:3], birth_date=some["birth_date"]))
        assert some["atena_no"] in {f["atena_no"] for f in found}
        result = ch.move_in(conn, CTX, family(), today=date(2026, 11, 24))
        check_invariants(conn)
    assert int(result.atena_nos[0][:-1]) == 501  # numbering continues after the load


def test_a_failed_load_leaves_nothing(db: Database, yonezawa: Tenant) -> None:
    people = Population(seed=7, pool=200)

    def broken() -> Iterator[list[dict[str, Any]]]:
        yield from people.households(100, ON, office="山形県米沢市")
        raise RuntimeError("source file truncated")

    with pytest.raises(RuntimeError):
        bulk.load(db, CODE, broken(), on=ON, ctx=CTX, source="synthetic", batch=16)
    with db.tenant_tx(CODE) as conn:
        assert conn.execute(select(func.count()).select_from(resident_versions)).scalar() == 0
