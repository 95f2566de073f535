"""Bulk notices: PDF files and the index, rendered in parallel processes, read back as
text and rendered to PNG; a rerun of a chunk rewrites the same file."""

from __future__ import annotations

import csv
import subprocess
from datetime import date
from pathlib import Path

import pytest

from kumomura.inhabitant_tax import batch, income_data, notices
from kumomura.inhabitant_tax.models import IncomeReturnIn
from kumomura.platform import params
from kumomura.platform.core.config import get_settings
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.pool import run_in_pool
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from tests.residents.factories import CTX, family

CODE = "062022"


def _return(atena_no: str, salary: int, born: str, employer: str | None = None,
            ) -> IncomeReturnIn:
    return IncomeReturnIn.model_validate({
        "atena_no": atena_no, "income_year": 2025, "employer_no": employer,
        "employer_name": "株式会社 雲村商事" if employer else None,
        "taxpayer": {"birth_date": born, "salary_revenue": salary, "pension_revenue": 0,
                     "other_income": 0},
        "deductions": {"social_insurance": salary * 14 // 100}})


@pytest.fixture
def assessed(db: Database, yonezawa: Tenant) -> list[str]:
    with db.tenant_tx(CODE) as conn:
        people = ch.move_in(conn, CTX, family(moved_on=date(2024, 4, 1)),
                            today=date(2024, 4, 1)).atena_nos
        income_data.record_return(conn, CTX, _return(people[0], 6_200_000, "1980-04-01",
                                                     employer="0000012345"))
        income_data.record_return(conn, CTX, _return(people[1], 3_300_000, "1982-07-07"))
    job_id = batch.start(db, CODE, 2026, actor="tax")
    jobs.run_in_process(db, job_id)
    return people


def _set_mayor(db: Database) -> None:
    with db.tenant_tx(CODE) as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=CTX, reason="設定")


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_notices_and_index(db: Database, assessed: list[str], tmp_path: Path) -> None:
    _set_mayor(db)
    job_id = notices.start(db, CODE, 2026, actor="tax", issued_on=date(2026, 6, 10),
                           per_file=1)
    job = run_in_pool(db, get_settings(), job_id, workers=2)
    assert job.status == jobs.JobStatus.DONE
    directory = notices.run_directory({**job.params, "lg_code": CODE,
                                       "data_dir": str(db.data_dir)})
    pdfs = sorted(p.name for p in directory.glob("*.pdf"))
    assert pdfs[0] == "employers-0001.pdf"
    assert len(pdfs) == 2  # one employer file, one file of the single ordinary taxpayer
    with (directory / notices.INDEX).open(encoding="utf-8-sig") as f:
        index = list(csv.DictReader(f))
    assert [(r["区分"], r["宛名番号"]) for r in index] == [
        ("特別徴収", assessed[0]), ("普通徴収", assessed[1])]
    ordinary = directory / index[1]["ファイル"]
    text = _text(ordinary)
    for expected in ("令和8年度 市民税・県民税・森林環境税 税額決定・納税通知書", "山田 花子",
                     "山形県米沢市金池三丁目1番55号", f"{int(index[1]['年税額']):,}円",
                     "令和8年6月30日", "令和8年8月31日", "令和8年11月2日", "令和9年2月1日",
                     "米沢市長", "上杉 鷹雄", "審査請求"):
        assert expected in text, expected
    employer_text = _text(directory / "employers-0001.pdf")
    assert "0000012345" in employer_text
    assert "株式会社 雲村商事" in employer_text
    assert "山田 太郎" in employer_text
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(ordinary), str(tmp_path / "n")],
                   check=True)
    assert (tmp_path / "n-1.png").stat().st_size > 5_000

    # A chunk run again (after a crash between the file and the mark) writes the same file.
    before = ordinary.read_bytes()
    with db.tenant_tx(CODE) as conn:
        notices.run_chunk(conn, {**job.params, "job_id": job_id, "lg_code": CODE,
                                 "data_dir": str(db.data_dir)}, 1)
    assert len(ordinary.read_bytes()) == len(before)
    assert _text(ordinary) == text


def test_notices_need_the_mayor(db: Database, assessed: list[str]) -> None:
    job_id = notices.start(db, CODE, 2026, actor="tax", issued_on=date(2026, 6, 10))
    with pytest.raises(InvalidInput) as refused:
        jobs.run_in_process(db, job_id)
    assert refused.value.field == "mayor_title"
    assert jobs.get_job(db, job_id).status == jobs.JobStatus.FAILED


def test_a_job_submitted_by_hand_cannot_choose_where_to_write(db: Database,
                                                             yonezawa: Tenant) -> None:
    with pytest.raises(InvalidInput) as refused:
        jobs.submit(db, CODE, notices.KIND, {"fiscal_year": 2026, "directory": "../../etc",
                                             "per_file": 1, "top_id": 1,
                                             "employer_files": 0}, actor="x")
    assert refused.value.field == "directory"
