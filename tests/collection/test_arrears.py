"""滞納: the payers owing past their 納期限, oldest first, with how long (aging bands),
counted in one query; the list is audited with whom it named."""

from __future__ import annotations

import json
from datetime import date

import pytest

from kumomura.collection import arrears
from kumomura.collection.payments import import_file
from kumomura.platform import audit
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from tests.collection.test_payments import _charge, _csv
from tests.residents.factories import CTX
from tests.test_cli import run

ALICE, BOB = "000000000001234", "000000000005678"


def test_the_list_names_who_owes_and_for_how_long(db: Database, yonezawa: Tenant,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    alice = _charge(db, atena_no=ALICE)  # 26,000 / 25,000 / 25,000 / 25,000
    _charge(db, atena_no=BOB)
    with db.tenant_tx("062022") as conn:
        import_file(conn, CTX, "a.csv", _csv(f"{alice[0]},2026-06-30,26000,",
                                             f"{alice[1]},2026-09-10,5000,"))
    on = date(2026, 12, 1)  # 第1期 (6/30) 154 days late, 第2期 (8/31) 92, 第3期 (10/30) 32
    with db.tenant_tx("062022") as conn:
        rows = arrears.arrears(conn, CTX, on)
    assert [(r["payer_no"], r["unpaid"], r["charges"], r["oldest_due"]) for r in rows] == [
        (BOB, 76_000, 3, "2026-06-30"), (ALICE, 45_000, 2, "2026-08-31")]
    assert (rows[0]["30日以内"], rows[0]["31〜90日"], rows[0]["91日〜1年"]) == (
        0, 25_000, 51_000)
    assert (rows[1]["31〜90日"], rows[1]["91日〜1年"]) == (25_000, 20_000)
    listed = [e for e in audit.entries(db, "062022") if e["action"] == "collection.arrears_listed"]
    assert listed[0]["detail"]["atena_nos"] == [BOB, ALICE]
    code, out, _ = run(capsys, "collection", "arrears", "-t", "062022", "--on", "2026-12-01",
                       "--format", "json")
    assert code == 0
    assert [r["unpaid"] for r in json.loads(out)] == [76_000, 45_000]
