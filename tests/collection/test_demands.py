"""督促 as a job: a 督促状 for each charge of a 納期限 still unpaid on the day of issue,
within the 20 days the law gives, never twice; the letters are real PDF pages."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from kumomura.collection import demands, service
from kumomura.collection.payments import import_file
from kumomura.collection.tables import demands as demand_rows
from kumomura.inhabitant_tax.events import Charged
from kumomura.platform import events, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.levies import ChargeLine, Payer, payment_number
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from tests.collection.test_payments import DUES, _charge, _csv
from tests.residents.factories import CTX, family

CODE = "062022"


@pytest.fixture
def owing(db: Database, yonezawa: Tenant) -> tuple[Database, list[str], list[str]]:
    """Two residents with four installments each; the first of them pays its 第1期."""
    with db.tenant_tx(CODE) as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=AuditContext(actor="test"), reason="設定")
        people = ch.move_in(conn, CTX, family(moved_on=date(2024, 4, 1)),
                            today=date(2024, 4, 1)).atena_nos[:2]
    numbers = [_charge(db, atena_no=person)[0] for person in people]
    with db.tenant_tx(CODE) as conn:
        import_file(conn, CTX, "a.csv", _csv(f"{numbers[0]},2026-06-30,26000,"))
    return db, people, numbers


def _run(db: Database, issued_on: date) -> int:
    job_id = demands.start(db, CODE, DUES[0], issued_on, actor="collector")
    jobs.run_in_process(db, job_id)
    assert jobs.get_job(db, job_id).status == jobs.JobStatus.DONE
    return job_id


def test_the_unpaid_get_a_letter_once(owing: tuple[Database, list[str], list[str]],
                                      tmp_path: Path) -> None:
    db, people, numbers = owing
    _run(db, date(2026, 7, 10))
    with db.tenant_tx(CODE) as conn:
        made = conn.execute(select(demand_rows)).mappings().all()
    assert [(r["amount"], r["fee"], r["page"]) for r in made] == [(26_000, 0, 1)]
    _run(db, date(2026, 7, 12))  # again: nobody is demanded twice
    with db.tenant_tx(CODE) as conn:
        assert len(conn.execute(select(demand_rows)).all()) == 1
    run = next((db.data_dir / "demands" / CODE).iterdir())
    pdf = run / "demands-00001.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "督" in text
    assert "促" in text
    assert "状" in text
    assert numbers[1] in text
    assert "26,000円" in text
    assert "令和8年7月20日までに完納されないときは" in text  # 10 days after issue
    assert "米沢市長" in text
    assert "年2.8%、その後は年9.1%: 令和8年の割合" in text  # the law's figures of the year
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 10_000
    index = (run / "index-00001.csv").read_text(encoding="utf-8-sig")
    assert people[1] in index
    assert people[0] not in index


def test_a_demand_is_issued_within_the_days_the_law_gives(
        owing: tuple[Database, list[str], list[str]]) -> None:
    db, _, _ = owing
    for late in (date(2026, 6, 30), date(2026, 7, 21)):  # the 納期限 itself; 21 days after
        with pytest.raises(InvalidInput, match="地方税法第329条"):
            demands.start(db, CODE, DUES[0], late, actor="collector")


def test_an_employer_gets_one_letter_for_its_month(
        owing: tuple[Database, list[str], list[str]]) -> None:
    db, people, _ = owing
    employer, due = "0000012345", date(2026, 7, 10)
    number = payment_number("inhabitant_tax_special", 2026, employer, 1)
    with db.tenant_tx(CODE) as conn:
        events.emit(conn, Charged(fiscal_year=2026, reason="initial", lines=[
            ChargeLine(payer_kind="employer", payer_no=employer, atena_no=person,
                       installment=1, label="6月分", due_date=due, amount=amount,
                       payment_no=number)
            for person, amount in zip(people, (8_000, 12_000), strict=True)],
            payers=[Payer(payer_no=employer, name="合成商事株式会社")]))
    events.dispatch(db, CODE)
    with db.tenant_tx(CODE) as conn:
        service.set_employer(conn, CTX, employer, name=None, postal_code="992-0012",
                             address="山形県米沢市金池三丁目1番55号")
    job_id = demands.start(db, CODE, due, date(2026, 7, 20), actor="collector")
    jobs.run_in_process(db, job_id)
    assert jobs.get_job(db, job_id).status == jobs.JobStatus.DONE
    with db.tenant_tx(CODE) as conn:
        made = conn.execute(select(demand_rows).order_by(demand_rows.c.charge_id)).all()
    assert [(r.amount, r.page) for r in made] == [(8_000, 1), (12_000, 1)]  # one letter
    run = next((db.data_dir / "demands" / CODE).iterdir())
    text = subprocess.run(["pdftotext", "-layout", str(run / made[0].file), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert re.search(r"合成商事株式会社\s+御中", text), text
    assert "金池三丁目1番55号" in text
    assert "個人住民税 (特別徴収)" in text
    assert "20,000円" in text
    assert "6月分 (2人分)" in text
    assert employer in text
