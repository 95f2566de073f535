"""督促 as a job: a 督促状 for each charge of a 納期限 still unpaid on the day of issue,
within the 20 days the law gives, never twice; the letters are real PDF pages."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from kumomura.collection import demands
from kumomura.collection.payments import import_file
from kumomura.collection.tables import demands as demand_rows
from kumomura.platform import params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.jobs import queue as jobs
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
