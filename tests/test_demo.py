"""`kumomura demo`: the Okitama consortium with synthetic residents, repeatable."""

from __future__ import annotations

from datetime import date

import pytest

from kumomura.demo import OKITAMA
from kumomura.platform import params
from kumomura.platform.db import Database
from kumomura.residents import service
from tests.test_cli import run


def test_demo_builds_members_with_residents_once(sqlite_db: Database,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo", "--no-serve", "--scale", "0.002")
    assert code == 0, err
    assert "clerk_062022" in out
    counts = {}
    for lg_code, name, population in OKITAMA:
        with sqlite_db.tenant_tx(lg_code) as conn:
            counts[lg_code] = service.count(conn)
        assert counts[lg_code] == round(population * 0.002), name
        certifier = params.get(sqlite_db, lg_code, "residents", date.today())
        assert certifier.mayor_title == f"{name}長"  # type: ignore[attr-defined]
    assert run(capsys, "demo", "--no-serve", "--scale", "0.002")[0] == 0
    for lg_code, _, _ in OKITAMA:
        with sqlite_db.tenant_tx(lg_code) as conn:
            assert service.count(conn) == counts[lg_code]
