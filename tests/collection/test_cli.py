"""`kumomura collection ...` as an operator or a tax officer types it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from tests.collection.test_debit import _bank_answers, enrolled
from tests.collection.test_demands import owing
from tests.collection.test_payments import PERSON, _charge, _csv
from tests.test_cli import run

__all__ = ["enrolled", "owing"]  # the fixtures


def test_late_fee_prints_each_term_and_the_fee(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "collection", "late-fee", "--amount", "65000",
                       "--due", "2021-05-31", "--paid", "2022-01-31")
    assert code == 0
    found = json.loads(out)
    assert found["late_fee"] == 3_400  # 豊橋市's published example
    assert [(t["rate"], t["days"], t["amount"]) for t in found["terms"]] == [
        ("2.5%", 30, 133), ("8.8%", 184, 2883), ("8.7%", 31, 480)]
    code, _, err = run(capsys, "collection", "late-fee", "--amount", "65000",
                       "--due", "2021-05-31", "--paid", "2021-02-30")
    assert code == 2
    assert "paid" in err


def test_account_and_payments_from_the_command_line(
        db: Database, yonezawa: Tenant, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    numbers = _charge(db)
    paid = tmp_path / "窓口20260630.csv"
    paid.write_bytes(_csv(f"{numbers[0]},2026-06-30,26000,", "9999,2026-06-30,100,"))
    code, out, _ = run(capsys, "collection", "import-payments", "-t", "062022", str(paid))
    assert code == 0, out
    report = json.loads(out)
    assert (report["applied"], report["review"]) == (1, 1)
    assert report["to_review"][0]["where"] == "窓口20260630.csv:3"
    code, out, err = run(capsys, "collection", "import-payments", "-t", "062022", str(paid))
    assert code == 2
    assert "取り込み済み" in err
    code, out, _ = run(capsys, "collection", "account", "-t", "062022", "--atena", PERSON,
                       "--on", "2026-09-01", "--format", "json")
    assert code == 0
    account = json.loads(out)
    assert account["balance"] == 75_000
    assert [c["balance"] for c in account["charges"]] == [0, 25_000, 25_000, 25_000]
    assert account["charges"][1]["due_date"] == date(2026, 8, 31).isoformat()


def test_direct_debit_from_the_command_line(enrolled: Database, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "collection", "debit-enrol", "-t", "062022", "--atena",
                       "000000000009999", "--bank", "0117", "--branch", "201", "--account",
                       "3333333", "--holder", "タナカ イチロウ", "--from", "2026-06-01")
    assert code == 0, err
    request = tmp_path / "irai0630.txt"
    code, out, err = run(capsys, "collection", "debit-request", "-t", "062022", "--on",
                         "2026-06-30", "--out", str(request))
    assert code == 0, err
    assert "2件" in out  # 9999 has no charge: enrolled, nothing asked
    answer = tmp_path / "kekka0630.txt"
    answer.write_bytes(_bank_answers(request.read_bytes(), {}))
    code, out, err = run(capsys, "collection", "debit-results", "-t", "062022", str(answer))
    assert code == 0, err
    assert json.loads(out)["debited"] == 2


def test_demands_from_the_command_line(owing: tuple[Database, list[str], list[str]],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    db, _, _ = owing
    code, out, err = run(capsys, "collection", "demands", "-t", "062022", "--due",
                         "2026-06-30", "--on", "2026-07-10")
    assert code == 0, err
    assert "done" in out
    assert next((db.data_dir / "demands" / "062022").iterdir()).joinpath(
        "demands-00001.pdf").exists()
    code, _, err = run(capsys, "collection", "demands", "-t", "062022", "--due",
                       "2026-06-30", "--on", "2026-08-31")
    assert code == 2
    assert "issued_on" in err
