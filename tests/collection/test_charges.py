"""調定 from the inhabitant tax's events: the 当初課税 becomes charges on each payer's
account (a person's four installments, an employer's months), a redelivery changes
nothing, and a 更正 is an 増額 or 減額 調定 beside its history, payments kept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from kumomura.collection import service
from kumomura.collection.payments import import_file
from kumomura.collection.tables import allocations, charge_changes, charges
from kumomura.inhabitant_tax import income_data
from kumomura.inhabitant_tax import service as tax
from kumomura.inhabitant_tax.calculation import due_dates
from kumomura.inhabitant_tax.events import Charged
from kumomura.platform import events
from kumomura.platform.levies import check_digit
from kumomura.platform.storage.db import Database
from tests.inhabitant_tax.test_assessment import CODE, _return, _run, people
from tests.residents.factories import CTX

__all__ = ["people"]  # the fixture


def _charges(db: Database, payer_no: str) -> list[dict[str, Any]]:
    with db.tenant_tx(CODE) as conn:
        return [dict(r) for r in conn.execute(select(charges).where(
            charges.c.payer_no == payer_no).order_by(charges.c.installment)).mappings()]


def test_the_assessment_becomes_charges_on_each_payers_account(db: Database,
                                                               people: list[str]) -> None:
    husband, wife, _ = people
    with db.tenant_tx(CODE) as conn:
        income_data.record_return(conn, CTX, _return(husband, 6_000_000))
        income_data.record_return(conn, CTX, _return(wife, 4_000_000, born="1982-07-07",
                                                     employer_no="0000012345",
                                                     employer_name="合成商事株式会社"))
    _run(db, 2026)
    events.dispatch(db, CODE)
    with db.tenant_tx(CODE) as conn:
        assessed = tax.current(conn, CTX, husband, 2026)
        worker = tax.current(conn, CTX, wife, 2026)
        due = due_dates(tax.tenant_parameters(conn, 2026), 2026)
    own = _charges(db, husband)
    assert [c["amount"] for c in own] == [assessed[f"ordinary_{i}"] for i in range(1, 5)]
    assert sum(c["amount"] for c in own) == assessed["total"]
    assert [c["due_date"] for c in own] == due
    assert [c["label"] for c in own] == ["第1期", "第2期", "第3期", "第4期"]
    for charge in own:
        number = str(charge["payment_no"])
        assert number[-1] == check_digit(number[:-1])
    employer = _charges(db, "0000012345")
    assert {c["payer_kind"] for c in employer} == {"employer"}
    assert {c["atena_no"] for c in employer} == {wife}
    assert sum(c["amount"] for c in employer) == worker["total"]
    assert employer[0]["label"] == "6月分"
    assert employer[0]["due_date"].isoformat() == "2026-07-10"
    assert _charges(db, wife) == []  # her employer pays it
    with db.tenant_tx(CODE) as conn:  # the employer, by the name its report gave
        assert service.employer_addressees(conn, ["0000012345"]) == {
            "0000012345": {"name": "合成商事株式会社", "postal_code": None, "address": None}}

    with db.tenant_tx(CODE) as conn:
        counted = (conn.execute(select(func.count()).select_from(charges)).scalar_one(),
                   conn.execute(select(func.count()).select_from(charge_changes)).scalar_one())
    delivered = [e for e in events.feed(db, CODE, limit=1000) if e.topic == Charged.name]
    assert delivered
    with db.tenant_tx(CODE) as conn:  # each event delivered again finds its work done
        for envelope in delivered:
                service.take_charges(conn, Charged.model_validate(envelope.payload), envelope)
    _run(db, 2026)  # a second run assesses nobody again, and charges nobody again
    events.dispatch(db, CODE)
    with db.tenant_tx(CODE) as conn:
        assert counted == (
            conn.execute(select(func.count()).select_from(charges)).scalar_one(),
            conn.execute(select(func.count()).select_from(charge_changes)).scalar_one())


def test_a_correction_is_an_increase_beside_its_history_and_payments_stay(
        db: Database, people: list[str]) -> None:
    husband = people[0]
    with db.tenant_tx(CODE) as conn:
        income_data.record_return(conn, CTX, _return(husband, 5_000_000))
    _run(db, 2026)
    events.dispatch(db, CODE)
    first = _charges(db, husband)[0]
    with db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "窓口20260630.csv",
                    f"納付番号,納付日,納付額\n{first['payment_no']},2026-06-30,"
                    f"{first['amount']}\n".encode())
        income_data.record_return(conn, CTX, _return(husband, 5_500_000))
        corrected = tax.correct(conn, CTX, husband, 2026, note="給与支払報告書の訂正")
    events.dispatch(db, CODE)
    after = _charges(db, husband)
    assert sum(c["amount"] for c in after) == corrected["total_after"]
    with db.tenant_tx(CODE) as conn:
        history = conn.execute(select(charge_changes.c.kind, charge_changes.c.delta,
                                      charge_changes.c.reason)
                               .where(charge_changes.c.charge_id == first["id"])
                               .order_by(charge_changes.c.id)).all()
        paid = conn.execute(select(func.sum(allocations.c.amount)).where(
            allocations.c.charge_id == first["id"])).scalar_one()
        account = service.account(conn, CTX, husband, first["due_date"])
    assert history[0] == ("initial", first["amount"], "initial")
    assert history[-1][0] == "increase"
    assert history[-1][2] == "correction"
    assert first["amount"] + history[-1][1] == after[0]["amount"]
    assert paid == first["amount"]  # the payment stays on the charge it paid
    assert account["charges"][0]["balance"] == after[0]["amount"] - first["amount"]


def test_a_correction_from_special_to_ordinary_moves_the_charges(
        db: Database, people: list[str]) -> None:
    wife = people[1]
    with db.tenant_tx(CODE) as conn:
        income_data.record_return(conn, CTX, _return(wife, 4_000_000, born="1982-07-07",
                                                     employer_no="0000012345"))
    _run(db, 2026)
    events.dispatch(db, CODE)
    assert sum(c["amount"] for c in _charges(db, "0000012345")) > 0
    with db.tenant_tx(CODE) as conn:  # she left the employer: 普通徴収 from now on
        income_data.record_return(conn, CTX, _return(wife, 4_000_000, born="1982-07-07"))
        corrected = tax.correct(conn, CTX, wife, 2026, note="退職による普通徴収への切替")
    events.dispatch(db, CODE)
    assert [c["amount"] for c in _charges(db, "0000012345")] == [0] * 12  # dropped, kept
    own = _charges(db, wife)
    assert sum(c["amount"] for c in own) == corrected["total_after"]
    assert [c["label"] for c in own] == ["第1期", "第2期", "第3期", "第4期"]
