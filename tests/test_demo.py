"""`kumomura demo`: the Okitama consortium with synthetic residents, repeatable."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from kumomura.collection import public as collection
from kumomura.demo import OKITAMA
from kumomura.inhabitant_tax import service as tax
from kumomura.platform import params
from kumomura.platform.storage.db import Database
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
    assessed = {}
    for lg_code, _, _ in OKITAMA:
        with sqlite_db.tenant_tx(lg_code) as conn:
            adults = service.adults_on(conn, date(2026, 1, 1)).height
            assessed[lg_code] = tax.count_current(conn, 2026)
            assert tax.tenant_parameters(conn, 2026).prefectural_per_capita == 2_000
        assert assessed[lg_code] == adults > 0
        with sqlite_db.tenant_tx(lg_code) as conn:  # each taxpayer's installments, charged
            taxed = conn.execute(text("SELECT count(*) FROM assessments WHERE current "
                                      "AND fiscal_year = 2026 AND total > 0")).scalar_one()
            assert collection.charged_addressees(conn, "inhabitant_tax", 2026) == taxed > 0
    assert "tax_062022" in out
    assert run(capsys, "demo", "--no-serve", "--scale", "0.002")[0] == 0
    for lg_code, _, _ in OKITAMA:
        with sqlite_db.tenant_tx(lg_code) as conn:
            assert service.count(conn) == counts[lg_code]
            assert tax.count_current(conn, 2026) == assessed[lg_code]
