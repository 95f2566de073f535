"""コンビニ収納's 速報 and 確報: a 速報 holds a payment (no money, no 督促), the 確報 pays
it on the day paid at the store and confirms it, a 速報 the 確報 lacks is reported; a
damaged file is refused whole, naming file and record, and the same file twice changes
nothing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from kumomura.collection import cvs, demands, service
from kumomura.collection.payments import import_store_file
from kumomura.collection.slips import cvs_digits
from kumomura.collection.tables import demands as demand_rows
from kumomura.collection.tables import payments
from kumomura.platform import params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.levies import payment_number
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from tests.collection.test_payments import DUES, _charge
from tests.residents.factories import CTX, family
from tests.test_cli import run

CODE = "062022"
COMPANY = "912345"
TODAY = date(2026, 7, 15)


@pytest.fixture
def stores(db: Database, yonezawa: Tenant) -> tuple[Database, list[str], list[list[str]]]:
    """Two residents with four installments each, and the municipality's 収納企業コード."""
    with db.tenant_tx(CODE) as conn:
        for module, name, value in (("collection", "cvs_company_code", COMPANY),
                                    ("residents", "mayor_title", "米沢市長"),
                                    ("residents", "mayor_name", "上杉 鷹雄")):
            params.set_value(conn, module, name, value, effective_from=date(2026, 4, 1),
                             ctx=AuditContext(actor="test"), reason="設定")
        people = ch.move_in(conn, CTX, family(moved_on=date(2024, 4, 1)),
                            today=date(2024, 4, 1)).atena_nos[:2]
    return db, people, [_charge(db, atena_no=person) for person in people]


def _paid(line: int, number: str, amount: int, on: date, due: date = DUES[0]
          ) -> cvs.StorePayment:
    return cvs.StorePayment(line=line, paid_on=on, barcode=cvs_digits(COMPANY, number, due,
                                                                      amount),
                            store="1234567", settles_on=date(2026, 7, 10))


def _take(db: Database, name: str, content: bytes) -> dict[str, object]:
    with db.tenant_tx(CODE) as conn:
        return import_store_file(conn, CTX, name, content, TODAY).as_dict()


def _statuses(db: Database) -> list[str]:
    with db.tenant_tx(CODE) as conn:
        return list(conn.execute(select(payments.c.status).order_by(payments.c.id)).scalars())


def test_a_preliminary_holds_and_the_final_pays(
        stores: tuple[Database, list[str], list[list[str]]]) -> None:
    db, people, numbers = stores
    first, second = numbers[0][0], numbers[1][0]
    prelim = cvs.store_file("preliminary", COMPANY, date(2026, 7, 1), [
        _paid(2, first, 26_000, date(2026, 6, 29)),
        _paid(3, second, 26_000, date(2026, 6, 29))])
    held = _take(db, "SOKUHO0701.txt", prelim)
    assert (held["kind"], held["held"], held["applied"]) == ("cvs_preliminary", 2, 0)
    with db.tenant_tx(CODE) as conn:
        account = service.account(conn, CTX, people[0], TODAY)
    # no money yet: still owed, but shown as paid at a store
    assert account["charges"][0]["balance"] == 26_000
    assert account["charges"][0]["held_at_store"] == 26_000
    # the 督促 of that 納期限 spares both: the stores say they paid
    job_id = demands.start(db, CODE, DUES[0], date(2026, 7, 10), actor="collector")
    jobs.run_in_process(db, job_id)
    with db.tenant_tx(CODE) as conn:
        assert conn.execute(select(demand_rows)).all() == []
    # the 確報 has only the first (the second was cancelled at the store)
    final = cvs.store_file("final", COMPANY, date(2026, 7, 10), [
        _paid(2, first, 26_000, date(2026, 6, 29))], newline=False)
    report = _take(db, "KAKUHO0710.txt", final)
    assert (report["kind"], report["applied"], report["confirmed"]) == ("cvs_final", 1, 1)
    assert report["unconfirmed"] == [
        {"where": "SOKUHO0701.txt:3", "payment_no": second, "paid_on": "2026-06-29",
         "amount": 26_000, "reason": "速報にあって確報にない収納です"}]
    assert _statuses(db) == ["confirmed", "unconfirmed", "applied"]
    with db.tenant_tx(CODE) as conn:
        paid = service.account(conn, CTX, people[0], TODAY)
        owed = service.account(conn, CTX, people[1], TODAY)
    assert paid["charges"][0]["balance"] == 0
    assert paid["charges"][0]["late_fee"] == 0  # paid at the store by its 納期限
    assert owed["charges"][0]["balance"] == 26_000
    assert owed["held_at_stores"] == 0


def test_a_final_without_preliminary_pays_late_with_its_late_fee(
        stores: tuple[Database, list[str], list[list[str]]]) -> None:
    db, people, numbers = stores
    # paid at a store 2026-12-30 for a 納期限 of 6/30: 本税 only on the slip (延滞金 apart):
    # 26,000円 × 2.8% × 31/365 (61円) + × 9.1% × 152/365 (985円) → 1,000円
    report = _take(db, "KAKUHO.txt", cvs.store_file("final", COMPANY, date(2027, 1, 8), [
        _paid(2, numbers[0][0], 26_000, date(2026, 12, 30), due=date(2027, 1, 31))]))
    assert (report["applied"], report["confirmed"], report["unconfirmed"]) == (1, 0, [])
    with db.tenant_tx(CODE) as conn:
        account = service.account(conn, CTX, people[0], date(2026, 12, 31))
    first = account["charges"][0]
    assert first["balance"] == 0
    assert first["late_fee"] == 1_000  # fixed by the day paid at the store, still owed
    assert first["late_fee_paid"] == 0


def test_damaged_files_are_refused_whole_naming_the_record(
        stores: tuple[Database, list[str], list[list[str]]]) -> None:
    db, _people, numbers = stores
    good = [_paid(2, numbers[0][0], 26_000, date(2026, 6, 29)),
            _paid(3, numbers[1][0], 26_000, date(2026, 6, 29))]
    content = cvs.store_file("final", COMPANY, date(2026, 7, 10), good)
    records = content.split(b"\r\n")
    short = b"\r\n".join([*records[:2], records[2][:119], *records[3:]])
    digit = records[2][:58] + str((int(records[2][58:59]) + 1) % 10).encode() + records[2][59:]
    wrong_digit = b"\r\n".join([*records[:2], digit, *records[3:]])
    trailer = b"\r\n".join([*records[:3], b"8" + b"0" * 8 + b"0" * 12 + b" " * 99,
                            *records[4:]])
    other = cvs.store_file("final", "900001", date(2026, 7, 10), [])
    for name, bad, expected in (
            ("short.txt", short, "short.txt:3: レコード長が119バイトです"),
            ("digit.txt", wrong_digit,
             "digit.txt:3: バーコード情報のチェックディジットが合いません"),
            ("trailer.txt", trailer, "trailer.txt:4: トレーラの件数・金額 (0件 0円) がデータの "
                                     "(2件 52,000円) と合いません"),
            ("other.txt", other, "other.txt:1: 収納企業コード 900001 はこの団体のもの")):
        with pytest.raises(InvalidInput) as refused:
            _take(db, name, bad)
        assert expected in str(refused.value), str(refused.value)
    assert _statuses(db) == []  # nothing half-taken
    _take(db, "KAKUHO.txt", content)
    with pytest.raises(InvalidInput, match="取り込み済みです"):
        _take(db, "KAKUHO-again.txt", content)
    assert _statuses(db) == ["applied", "applied"]


def test_unknown_numbers_in_a_preliminary_are_reported_at_once(
        stores: tuple[Database, list[str], list[list[str]]]) -> None:
    db, _people, _numbers = stores
    nobody = payment_number("inhabitant_tax", 2026, "999999999", 1)
    report = _take(db, "SOKUHO.txt", cvs.store_file("preliminary", COMPANY, date(2026, 7, 1), [
        _paid(2, nobody, 5_000, date(2026, 6, 30))]))
    assert report["to_review"] == [{"line": 2, "where": "SOKUHO.txt:2", "amount": 5_000,
                                    "reason": f"納付番号 {nobody} の調定がありません"}]


def test_the_command_takes_a_store_file(stores: tuple[Database, list[str], list[list[str]]],
                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    _db, _people, numbers = stores
    path = tmp_path / "SOKUHO0701.txt"
    path.write_bytes(cvs.store_file("preliminary", COMPANY, date(2026, 7, 1), [
        _paid(2, numbers[0][0], 26_000, date(2026, 6, 30))]))
    code, out, err = run(capsys, "collection", "import-store", "-t", CODE, str(path),
                         "--on", "2026-07-15")
    assert code == 0, err
    assert json.loads(out)["held"] == 1
