"""還付 and 充当 of 過誤納金 with 還付加算金: a published example reproduced, the start day
of each kind, 充当 to what is owed before any refund, and the money's rows adding up to
each payment after the decision."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from kumomura.collection import refunds, service
from kumomura.collection.payments import import_file
from kumomura.collection.tables import allocations, payments
from kumomura.inhabitant_tax.events import Charged
from kumomura.platform import events
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.levies import ChargeLine, payment_number
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from tests.collection.test_payments import CODE, DUES, PERSON, _charge, _csv
from tests.residents.factories import CTX
from tests.test_cli import run

ME = ("person", PERSON)


def test_a_published_example_of_refund_interest() -> None:
    # A municipal worked example (https://paperzz.com/doc/5506658/ : 還付加算金の計算例):
    # 500,000円 reduced to 380,000円 (還付 120,000円), paid 平成29年7月10日, 支出決定
    # 平成30年7月15日 (第1号: from the day after payment): 還付加算金 2,000円.
    # 2017-07-11..12-31 174 days at 1.7%, 2018-01-01..07-15 196 days at 1.6%.
    found = refunds.interest([(date(2017, 7, 11), 120_000)], date(2018, 7, 15))
    assert [(t.days, t.rate_bp, t.amount) for t in found.terms] == [(174, 170, 972),
                                                                  (196, 160, 1031)]
    assert found.amount == 2_000


def test_small_interest_is_none() -> None:
    # 20,000円 for 178 days at 1.3%: 126円, under 1,000円 (第20条の4の2)
    assert refunds.interest([(date(2026, 7, 1), 20_000)], date(2026, 12, 25)).amount == 0
    # a base under 2,000円 bears nothing at all
    assert refunds.interest([(date(2014, 1, 1), 1_999)], date(2026, 12, 31)).terms == ()


def _payments_add_up(db: Database) -> None:
    with db.tenant_tx(CODE) as conn:
        used = dict(conn.execute(select(allocations.c.payment_id, func.sum(allocations.c.amount))
                                 .group_by(allocations.c.payment_id)).all())
        paid = dict(conn.execute(select(payments.c.id, payments.c.amount)).all())
    assert used == {k: v for k, v in paid.items() if k in used}
    assert set(used) == set(paid)


def test_a_double_payment_is_appropriated_then_refunded(db: Database,
                                                        yonezawa: Tenant) -> None:
    numbers = _charge(db)
    with db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "a.csv", _csv(f"{numbers[0]},2026-06-30,26000,"))
        import_file(conn, CTX, "b.csv", _csv(f"{numbers[0]},2026-06-30,26000,{PERSON}"))  # again
        account = service.account(conn, CTX, PERSON, date(2026, 9, 15))
    assert account["credit"] == 26_000
    with db.tenant_tx(CODE) as conn:
        decided = refunds.decide(conn, CTX, ME, date(2026, 9, 15))
    # 誤納金 (第17条の4第1項第4号): interest from the day after one month from the day
    # after payment: 7/1 + one month → 7/31, so from 8/1.
    assert decided["credits"] == [{"kind": "誤納金", "amount": 26_000, "arose_on": "2026-06-30",
                                   "accrues_from": "2026-08-01"}]
    # the 第2期 (due 8/31, unpaid) is appropriated first (第17条の2), as paid on 9/1;
    # the 1,000円 left is refunded (its base is under 2,000円: no interest)
    assert (decided["appropriated"], decided["refunded"], decided["interest"]) == (
        25_000, 1_000, 0)
    with db.tenant_tx(CODE) as conn:
        after = service.account(conn, CTX, PERSON, date(2026, 9, 15))
        with pytest.raises(InvalidInput, match="過誤納金はありません"):
            refunds.decide(conn, CTX, ME, date(2026, 9, 16))
    assert [c["balance"] for c in after["charges"]] == [0, 0, 25_000, 25_000]
    assert after["charges"][1]["late_fee"] == 0  # one day late, far under 1,000円
    assert after["credit"] == 0
    assert [(r["appropriated"], r["refunded"]) for r in after["refunds"]] == [(25_000, 1_000)]
    _payments_add_up(db)


def test_a_reduced_charge_refunds_its_excess_with_interest(db: Database,
                                                           yonezawa: Tenant) -> None:
    (number,) = _charge(db, (626_000,))
    with db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "a.csv", _csv(f"{number},2026-06-30,626000,"))
        # 更正: the year's tax is 26,000円 (減額 600,000円)
        events.emit(conn, Charged(fiscal_year=2026, reason="correction", lines=[ChargeLine(
            payer_kind="person", payer_no=PERSON, atena_no=PERSON, installment=1,
            label="第1期", due_date=DUES[0], amount=26_000,
            payment_no=payment_number("inhabitant_tax", 2026, PERSON, 1))]))
    events.dispatch(db, CODE)
    with db.tenant_tx(CODE) as conn:
        assert service.account(conn, CTX, PERSON, date(2026, 12, 25))["credit"] == 600_000
        preview = refunds.decide(conn, CTX, ME, date(2026, 12, 25), preview=True)
    # 過納金 (第1号): from the day after payment, 7/1..12/25 = 178 days at 1.3% (令和8年):
    # 600,000 × 1.3% × 178/365 = 3,803円 → 3,800円
    assert preview["credits"][0]["accrues_from"] == "2026-07-01"
    assert (preview["refunded"], preview["interest"]) == (600_000, 3_800)
    assert preview["interest_terms"][0]["terms"][0]["days"] == 178
    with db.tenant_tx(CODE) as conn:
        assert service.account(conn, CTX, PERSON, date(2026, 12, 25))["credit"] == 600_000
        refunds.decide(conn, CTX, ME, date(2026, 12, 25))
        after = service.account(conn, CTX, PERSON, date(2026, 12, 25))
    assert after["charges"][0]["balance"] == 0
    assert after["credit"] == 0
    assert after["refunds"][0]["interest"] == 3_800
    _payments_add_up(db)


def test_the_command_previews_a_refund(db: Database, yonezawa: Tenant,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    numbers = _charge(db)
    with db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "a.csv", _csv(f"{numbers[0]},2026-06-20,30000,"))
    code, out, err = run(capsys, "collection", "refund", "-t", CODE, "--atena", PERSON,
                         "--on", "2026-07-10", "--preview")
    assert code == 0, err
    assert json.loads(out)["refunded"] == 4_000
    with db.tenant_tx(CODE) as conn:
        assert service.account(conn, CTX, PERSON, date(2026, 7, 10))["credit"] == 4_000
