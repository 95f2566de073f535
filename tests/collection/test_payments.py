"""消込 from payment files: matched by 納付番号, else by addressee and amount, else for
review; partial payments; 本税 before 延滞金; an overpayment appropriated to the oldest
due charge or left for 還付; a file taken once and never half; and the account adding
up after any sequence of payments."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kumomura.collection import service
from kumomura.collection.payments import import_file
from kumomura.collection.tables import allocations, charges, payment_files, payments
from kumomura.inhabitant_tax.events import Charged
from kumomura.platform import events
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.levies import ChargeLine, payment_number
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from tests.residents.factories import CTX

CODE = "062022"
PERSON = "000000000001234"
DUES = [date(2026, 6, 30), date(2026, 8, 31), date(2026, 10, 30), date(2027, 2, 1)]


def _charge(db: Database, amounts: tuple[int, ...] = (26_000, 25_000, 25_000, 25_000),
            atena_no: str = PERSON) -> list[str]:
    """A person's four installments of 2026, as the inhabitant tax publishes them."""
    lines = [ChargeLine(payer_kind="person", payer_no=atena_no, atena_no=atena_no,
                        installment=i + 1, label=f"第{i + 1}期", due_date=DUES[i],
                        amount=amount,
                        payment_no=payment_number("inhabitant_tax", 2026, atena_no, i + 1))
             for i, amount in enumerate(amounts)]
    with db.tenant_tx(CODE) as conn:
        events.emit(conn, Charged(fiscal_year=2026, reason="initial", lines=lines))
    events.dispatch(db, CODE)
    return [line.payment_no for line in lines]


def _csv(*rows: str, header: str = "納付番号,納付日,納付額,宛名番号") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _account(db: Database, on: date) -> dict[str, Any]:
    with db.tenant_tx(CODE) as conn:
        return service.account(conn, CTX, PERSON, on)


def test_payments_matched_by_number_partially_and_for_review(db: Database,
                                                             yonezawa: Tenant) -> None:
    numbers = _charge(db)
    with db.tenant_tx(CODE) as conn:
        report = import_file(conn, CTX, "収納20260630.csv", _csv(
            f"{numbers[0]},2026-06-30,26000,",
            f"{numbers[1]},20260825,10000,",  # part of the second, before its 納期限
            "0126000000000009999017,2026-06-30,5000,",  # nobody's number
            f",2026-08-31,15000,{PERSON}",  # no number: the second's balance, exactly
            f",2026-08-31,7777,{PERSON}"))  # no number, no such balance: review
    assert report.applied == 3
    assert [(r["line"], r["where"]) for r in report.to_review] == [
        (4, "収納20260630.csv:4"), (6, "収納20260630.csv:6")]
    assert "納付番号 0126000000000009999017 の調定がありません" in report.to_review[0]["reason"]
    account = _account(db, date(2026, 9, 1))
    assert [c["balance"] for c in account["charges"]] == [0, 0, 25_000, 25_000]
    assert account["balance"] == 50_000


def test_a_late_payment_pays_the_tax_before_the_late_fee(db: Database,
                                                         yonezawa: Tenant) -> None:
    numbers = _charge(db, (65_000, 25_000, 25_000, 25_000))
    # 65,000円 due 2026-06-30, paid 2026-10-30: 7/1-7/31 at 2.8% (154円) and 8/1-10/30
    # at 9.1% (1,474円): 1,628円 → 延滞金 1,600円.
    with db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "a.csv", _csv(f"{numbers[0]},2026-10-30,66000,"))
        parts = dict(conn.execute(select(allocations.c.part, func.sum(allocations.c.amount))
                                  .group_by(allocations.c.part)).all())
    assert parts == {"tax": 65_000, "late_fee": 1_000}  # 本税 first, then what is left
    first = _account(db, date(2026, 11, 1))["charges"][0]
    assert (first["balance"], first["late_fee"], first["late_fee_due"]) == (0, 1_600, 600)
    with db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "b.csv", _csv(f"{numbers[0]},2026-11-05,600,"))
    first = _account(db, date(2026, 12, 1))["charges"][0]
    assert first["late_fee_due"] == 0  # the 延滞金 stopped growing with the tax paid


def test_an_overpayment_is_appropriated_to_the_oldest_due_charge_or_waits(
        db: Database, yonezawa: Tenant) -> None:
    numbers = _charge(db)
    with db.tenant_tx(CODE) as conn:
        # Paid the third installment twice over, on its 納期限; the first and second were
        # due and unpaid: the rest goes to the first (the oldest), then the second.
        report = import_file(conn, CTX, "c.csv", _csv(f"{numbers[2]},2026-10-30,80000,"))
    assert (report.appropriated, report.overpaid) == (51_000, 4_000)
    balances = [c["balance"] for c in _account(db, date(2026, 10, 30))["charges"]]
    assert balances == [0, 0, 0, 25_000]


def test_a_file_is_taken_once_and_never_half(db: Database, yonezawa: Tenant) -> None:
    numbers = _charge(db)
    content = _csv(f"{numbers[0]},2026-06-30,26000,")
    with db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "d.csv", content)
    with pytest.raises(InvalidInput, match="取り込み済み"), db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "d-again.csv", content)
    bad = _csv(f"{numbers[1]},2026-08-31,25000,", f"{numbers[2]},2026-13-01,25000,",
               f"{numbers[3]},2027-02-01,２５０００,", ",2026-08-31,100,")
    with pytest.raises(InvalidInput) as refused, db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "e.csv", bad)
    where = [p.field for p in refused.value.problems]
    assert where == ["e.csv:3", "e.csv:4", "e.csv:5"]
    assert "納付日 '2026-13-01' は日付ではありません" in refused.value.message
    with db.tenant_tx(CODE) as conn:
        assert conn.execute(select(func.count()).select_from(payments)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(payment_files)).scalar_one() == 1
    with pytest.raises(InvalidInput, match="見出し"), db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "f.csv", b"a,b\n1,2\n")


amounts = st.integers(1, 40_000)
days = st.integers(-30, 150)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paid=st.lists(st.tuples(st.integers(0, 2), amounts, days), min_size=1, max_size=8))
def test_the_account_adds_up_after_any_payments(db: Database, yonezawa: Tenant,
                                                paid: list[tuple[int, int, int]]) -> None:
    """Balance = charges − 本税 paid at every step; no payment is applied beyond its
    amount, and a payment applied to one charge's 本税 is never applied again. (Payments
    within 2026: the law has given no 延滞金 rates for 2027 yet.)"""
    with db.tenant_tx(CODE) as conn:
        conn.execute(allocations.delete())
        conn.execute(payments.delete())
        conn.execute(payment_files.delete())
    have = {r for (r,) in _rows(db)}
    numbers = _charge(db) if not have else sorted(have)
    for step, (which, amount, offset) in enumerate(paid):
        day = min(DUES[which] + timedelta(days=offset), date(2026, 12, 31))
        with db.tenant_tx(CODE) as conn:
            import_file(conn, CTX, f"p{step}.csv", _csv(  # 備考 (ignored) makes each file new
                f"{numbers[which]},{day},{amount},,{step}",
                header="納付番号,納付日,納付額,宛名番号,備考"))
        with db.tenant_tx(CODE) as conn:
            states = service.charge_states(conn, charges.c.payer_no == PERSON,
                                           date(2026, 12, 31))
            per_payment = conn.execute(select(allocations.c.payment_id,
                                              func.sum(allocations.c.amount))
                                       .group_by(allocations.c.payment_id)).all()
            paid_amounts = dict(conn.execute(select(payments.c.id, payments.c.amount))
                                .all())
            tax_paid = conn.execute(select(func.coalesce(func.sum(allocations.c.amount), 0))
                                    .where(allocations.c.part == "tax")).scalar_one()
        assert all(total == paid_amounts[pid] for pid, total in per_payment)
        assert all(0 <= s.paid <= s.amount for s in states)
        assert sum(s.balance for s in states) == sum(s.amount for s in states) - tax_paid


def _rows(db: Database) -> list[tuple[str]]:
    with db.tenant_tx(CODE) as conn:
        return list(conn.execute(select(charges.c.payment_no)))
