"""口座振替 end to end: a person enrolled, the 全銀協 request file of the 納期限 (every
record 120 bytes, the fields where the banks read them), the bank's results taken back
(debited paid on the day, a shortfall left owed with its reason), and a damaged or
repeated result file refused whole."""

from __future__ import annotations

from datetime import date

import pytest

from kumomura.collection import debit, service, zengin
from kumomura.platform import params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from tests.collection.test_payments import DUES, _charge
from tests.residents.factories import CTX

CODE = "062022"
ALICE, BOB = "000000000001234", "000000000005678"
BANK = {"debit_consignor_code": "1234567890", "debit_consignor_name": "ﾖﾈｻﾞﾜｼ",
        "debit_bank_code": "0117", "debit_bank_name": "ﾔﾏｶﾞﾀｷﾞﾝｺｳ",
        "debit_branch_code": "201", "debit_branch_name": "ﾖﾈｻﾞﾜ",
        "debit_account_type": 1, "debit_account_no": "7654321"}


@pytest.fixture
def enrolled(db: Database, yonezawa: Tenant) -> Database:
    _charge(db, atena_no=ALICE)
    _charge(db, atena_no=BOB)
    with db.tenant_tx(CODE) as conn:
        for name, value in BANK.items():
            params.set_value(conn, "collection", name, value, effective_from=date(2026, 4, 1),
                             ctx=AuditContext(actor="test"), reason="指定金融機関")
        for atena, holder, account in ((ALICE, "ヤマダ　ハナコ", "1111111"),
                                       (BOB, "ｻﾄｳ ｹﾝｲﾁ", "2222222")):
            debit.enrol(conn, CTX, atena_no=atena, levy="inhabitant_tax", bank_code="0117",
                        branch_code="201", account_type=1, account_no=account,
                        holder=holder, starts_on=date(2026, 6, 1))
    return db


def _request(db: Database) -> bytes:
    with db.tenant_tx(CODE) as conn:
        return debit.request(conn, CTX, "inhabitant_tax", DUES[0])


def test_the_request_file_is_the_banks_layout(enrolled: Database) -> None:
    content = _request(enrolled)
    records = content.split(b"\r\n")[:-1]
    assert [len(r) for r in records] == [120] * 5
    header, alice, _bob, trailer, end = records
    assert header[:4] == b"1910"
    assert header[4:14] == b"1234567890"
    assert header[54:58] == b"0630"  # 引落日 = the 第1期's 納期限
    assert header[58:62] == b"0117"  # the parameter kept as typed, its leading zero too
    assert alice[:1] == b"2"
    assert alice[43:50] == b"1111111"
    assert alice[50:80].decode("cp932").rstrip() == "ﾔﾏﾀﾞ ﾊﾅｺ"
    assert int(alice[80:90]) == 26_000
    assert alice[111:112] == b"0"
    assert int(trailer[1:7]) == 2
    assert int(trailer[7:19]) == 52_000
    assert int(trailer[19:25]) == 0  # a request: no results yet
    assert end == b"9" + b" " * 119
    assert _request(enrolled) == content  # asked again the same day: the same file


def _bank_answers(content: bytes, codes: dict[int, int]) -> bytes:
    """What the bank sends back: the same records with their 振替結果コード."""
    records = content.split(b"\r\n")[:-1]
    debits = []
    for rec in records[1:-2]:
        customer = int(rec[91:111])
        debits.append(zengin.Debit(
            bank_code=rec[1:5].decode(), branch_code=rec[20:23].decode(), account_type=1,
            account_no=rec[43:50].decode(), holder=rec[50:80].decode("cp932").rstrip(),
            amount=int(rec[80:90]), customer_no=customer, result=codes.get(customer, 0)))
    consignor = zengin.Consignor(code="1234567890", name="ﾖﾈｻﾞﾜｼ", bank_code="0117",
                                 bank_name="ﾔﾏｶﾞﾀｷﾞﾝｺｳ", branch_code="201",
                                 branch_name="ﾖﾈｻﾞﾜ", account_type=1, account_no="7654321")
    return zengin.request_file(consignor, DUES[0], debits, results=True)


def test_the_banks_results_pay_what_was_debited(enrolled: Database) -> None:
    content = _request(enrolled)
    bob_item = int(content.split(b"\r\n")[2][91:111])
    answer = _bank_answers(content, {bob_item: 1})  # Bob: 資金不足
    with enrolled.tenant_tx(CODE) as conn:
        report = debit.take_results(conn, CTX, "kekka0630.txt", answer)
    assert (report["debited"], report["failed"]) == (1, {"資金不足": 1})
    with enrolled.tenant_tx(CODE) as conn:
        alice = service.account(conn, CTX, ALICE, DUES[0])
        bob = service.account(conn, CTX, BOB, DUES[0])
    assert alice["charges"][0]["balance"] == 0
    assert bob["charges"][0]["balance"] == 26_000
    with pytest.raises(InvalidInput, match="取り込み済み"), enrolled.tenant_tx(CODE) as conn:
        debit.take_results(conn, CTX, "kekka0630-again.txt", answer)


def test_a_damaged_result_file_is_refused_whole(enrolled: Database) -> None:
    content = _request(enrolled)
    answer = _bank_answers(content, {})
    lines = answer.split(b"\r\n")
    lines[2] = lines[2][:119]
    with pytest.raises(InvalidInput) as refused, enrolled.tenant_tx(CODE) as conn:
        debit.take_results(conn, CTX, "bad.txt", b"\r\n".join(lines))
    assert refused.value.problems[0].field == "bad.txt:3"
    assert "119バイト" in refused.value.message
    lines = answer.split(b"\r\n")
    lines[3] = lines[3][:1] + b"000003" + lines[3][7:]  # the trailer's count is wrong
    with pytest.raises(InvalidInput, match="トレーラ"), enrolled.tenant_tx(CODE) as conn:
        debit.take_results(conn, CTX, "bad2.txt", b"\r\n".join(lines))
    with pytest.raises(InvalidInput, match="トレーラ"), enrolled.tenant_tx(CODE) as conn:
        debit.take_results(conn, CTX, "request.txt", content)  # our request, not results
    with enrolled.tenant_tx(CODE) as conn:
        assert service.account(conn, CTX, ALICE, DUES[0])["paid"] == 0


def test_enrolment_is_checked_field_by_field(enrolled: Database) -> None:
    with pytest.raises(InvalidInput) as refused, enrolled.tenant_tx(CODE) as conn:
        debit.enrol(conn, CTX, atena_no=ALICE, levy="inhabitant_tax", bank_code="117",
                    branch_code="201", account_type=1, account_no="1111111",
                    holder="ヤマダ ハナコ", starts_on=date(2026, 8, 1))
    assert refused.value.field == "bank_code"
