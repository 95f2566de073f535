"""滞納's measures: a 分納誓約 kept, broken and completed as the payments come; 執行停止 and
時効 extinguishing charges into 不納欠損, which leave the balance and the arrears list; the
滞納者一覧 as a job writing its files."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import insert

from kumomura.collection import arrears, plans, service, write_offs
from kumomura.collection.payments import import_file
from kumomura.collection.service import ChargeState
from kumomura.collection.tables import charges, demands
from kumomura.inhabitant_tax.events import Charged
from kumomura.platform import events, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.levies import ChargeLine, payment_number
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from tests.collection.test_payments import CODE, PERSON, _charge, _csv
from tests.residents.factories import CTX, family

ME = ("person", PERSON)


def _old_charge(db: Database, atena_no: str, year: int, amount: int = 50_000) -> str:
    """A 第1期 of an earlier year, due 6/30 of it."""
    number = payment_number("inhabitant_tax", year, atena_no, 1)
    with db.tenant_tx(CODE) as conn:
        events.emit(conn, Charged(fiscal_year=year, reason="initial", lines=[ChargeLine(
            payer_kind="person", payer_no=atena_no, atena_no=atena_no, installment=1,
            label="第1期", due_date=date(year, 6, 30), amount=amount, payment_no=number)]))
    events.dispatch(db, CODE)
    return number


def test_the_schedule_keeps_to_the_day_or_the_months_end() -> None:
    assert plans.schedule(25_000, 10_000, date(2027, 1, 31)) == [
        (date(2027, 1, 31), 10_000), (date(2027, 2, 28), 10_000), (date(2027, 3, 31), 5_000)]
    with pytest.raises(InvalidInput, match="121回"):
        plans.schedule(121_000, 1_000, date(2027, 1, 1))


def test_a_plan_broken_then_completed(db: Database, yonezawa: Tenant) -> None:
    numbers = _charge(db)
    with db.tenant_tx(CODE) as conn:
        made = plans.make(conn, CTX, ME, date(2026, 7, 15), date(2026, 7, 31), 10_000)
        with pytest.raises(InvalidInput, match="履行中の分納誓約"):
            plans.make(conn, CTX, ME, date(2026, 7, 16), date(2026, 7, 31), 5_000)
    # the 第1期 (26,000円, due 6/30) and its 延滞金 to 7/15 (none: under 1,000円)
    assert made["total"] == 26_000
    assert [(p["due_on"], p["amount"]) for p in made["schedule"]] == [
        ("2026-07-31", 10_000), ("2026-08-31", 10_000), ("2026-09-30", 6_000)]
    with db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "a.csv", _csv(f"{numbers[0]},2026-07-31,10000,"))
        late = plans.status(conn, made["plan_id"], date(2026, 9, 5))
    assert (late["state"], late["first_missed"], late["asked_to_date"], late["paid_since"]) == (
        "breached", "2026-08-31", 20_000, 10_000)
    with db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "b.csv", _csv(f"{numbers[0]},2026-09-10,16000,"))
        done = plans.status(conn, made["plan_id"], date(2026, 9, 15))
        listed = plans.all_plans(conn, CTX, date(2026, 9, 15), state="completed")
    assert (done["state"], done["first_missed"]) == ("completed", None)
    assert [p["plan_id"] for p in listed] == [made["plan_id"]]


def _state(due: date) -> ChargeState:
    return ChargeState(id=1, levy="inhabitant_tax", fiscal_year=due.year, label="第1期",
                       atena_no=PERSON, due_date=due, payment_no="", amount=50_000, paid=0,
                       late_fee=0, late_fee_paid=0)


def test_prescription_starts_again_after_a_demand_or_a_payment() -> None:
    due = date(2020, 6, 30)
    # 地方税法第18条: five years from the day after the 納期限
    assert write_offs.prescription_date(_state(due), None, None) == date(2025, 7, 1)
    # a 督促 sent 7/10: anew from the day after the tenth day (7/21)
    assert write_offs.prescription_date(_state(due), None, date(2020, 7, 10)) == date(2025, 7, 21)
    # a payment in part on 2022-03-01 (承認): anew from 3/2
    assert write_offs.prescription_date(_state(due), date(2022, 3, 1), date(2020, 7, 10)) \
        == date(2027, 3, 2)


def test_time_barred_and_stayed_charges_are_written_off(db: Database,
                                                        yonezawa: Tenant) -> None:
    old, other = "000000000000011", "000000000000022"
    _old_charge(db, old, 2020)
    _old_charge(db, old, 2022)
    _old_charge(db, other, 2021)
    with db.tenant_tx(CODE) as conn:
        conn.execute(insert(demands).values(  # the 2022 charge was demanded on 2022-07-12
            charge_id=conn.execute(charges.select().where(
                charges.c.payer_no == old, charges.c.fiscal_year == 2022)).one().id,
            issued_on=date(2022, 7, 12), amount=50_000, fee=0, job_id=0, file="-", page=1))
        stay_id = write_offs.stay(conn, CTX, ("person", other), date(2022, 1, 10), 3,
                                  reason="所在・財産とも不明 (実地調査 2021-12)")
        with pytest.raises(InvalidInput, match="第1号の停止に限ります"):
            write_offs.stay(conn, CTX, ("person", PERSON), date(2022, 1, 10), 2,
                            at_once=True, reason="生活困窮")
        listed = write_offs.write_off(conn, CTX, date(2026, 7, 1), preview=True)
    # the 2020 charge by 時効 on 2025-07-01; the other's by 3 years of 執行停止 (2025-01-10);
    # the 2022 one not yet (its 督促 started the period again)
    assert [(f["payer_no"], f["fiscal_year"], f["ground"], f["extinguished_on"]) for f in listed] \
        == [(old, 2020, "prescription", "2025-07-01"), (other, 2021, "stay_3_years",
                                                        "2025-01-10")]
    assert listed[0]["tax"] == 50_000
    assert listed[0]["late_fee"] > 0  # to the day it was extinguished
    with db.tenant_tx(CODE) as conn:
        write_offs.write_off(conn, CTX, date(2026, 7, 1))
        assert write_offs.write_off(conn, CTX, date(2026, 7, 1), preview=True) == []
        account = service.account(conn, CTX, old, date(2026, 7, 1))
        behind = arrears.arrears(conn, CTX, date(2026, 7, 1))
        with pytest.raises(InvalidInput, match="取り消せません"):
            write_offs.lift(conn, CTX, stay_id, date(2026, 7, 1), "所在判明")
    first, second = account["charges"]
    assert (first["balance"], first["late_fee_due"], first["written_off"] > 50_000) == (
        0, 0, True)
    assert second["balance"] == 50_000
    assert [(r["payer_no"], r["unpaid"]) for r in behind] == [(old, 50_000)]


def test_a_stay_at_once_extinguishes_the_arrears_it_covers(db: Database,
                                                           yonezawa: Tenant) -> None:
    _charge(db)
    with db.tenant_tx(CODE) as conn:
        write_offs.stay(conn, CTX, ME, date(2026, 9, 1), 1, at_once=True,
                        reason="財産なし、徴収できないことが明らか")
        gone = write_offs.write_off(conn, CTX, date(2026, 9, 1))
        account = service.account(conn, CTX, PERSON, date(2026, 9, 1))
    # 第1期 and 第2期 were due before the stay (6/30, 8/31); the later ones stay owed
    assert [(f["label"], f["ground"]) for f in gone] == [("第1期", "stay_at_once"),
                                                          ("第2期", "stay_at_once")]
    assert [c["balance"] for c in account["charges"]] == [0, 0, 25_000, 25_000]


def test_the_arrears_list_as_a_job(db: Database, yonezawa: Tenant) -> None:
    with db.tenant_tx(CODE) as conn:
        people = ch.move_in(conn, CTX, family(moved_on=date(2024, 4, 1)),
                            today=date(2024, 4, 1)).atena_nos[:2]
        params.set_value(conn, "residents", "mayor_title", "米沢市長",
                         effective_from=date(2026, 4, 1), ctx=AuditContext(actor="test"),
                         reason="設定")
    for person in people:
        _charge(db, atena_no=person)
    with db.tenant_tx(CODE) as conn:
        plans.make(conn, CTX, ("person", people[0]), date(2026, 7, 15), date(2026, 7, 31),
                   10_000)
    job_id = arrears.start_list(db, CODE, date(2026, 9, 15), actor="collector", per_file=1)
    jobs.run_in_process(db, job_id)
    job = jobs.get_job(db, job_id)
    assert (job.status, job.total_chunks) == (jobs.JobStatus.DONE, 2)
    run = next((db.data_dir / "arrears" / CODE).iterdir())
    rows = [row for name in ("arrears-00001.csv", "arrears-00002.csv")
            for row in csv.DictReader(io.StringIO((run / name).read_text(encoding="utf-8-sig")))]
    assert [(r["納付者番号"], r["未納額"], r["分納誓約"]) for r in rows] == [
        (people[0], "51000", "breached"), (people[1], "51000", "")]
    assert all(r["氏名"] and r["住所"] for r in rows)
