"""当初課税 and 更正 on a real database: the batch gives what the single case gives, a
second run changes nothing, a bad row is reported without stopping the rest, history is
kept, and a departure in the registry leaves the person out from the next fiscal year."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select, text, update

from kumomura.inhabitant_tax import batch, income_data, service, synthetic
from kumomura.inhabitant_tax.models import IncomeReturnIn
from kumomura.inhabitant_tax.tables import assessments, income_family, income_returns
from kumomura.platform import events
from kumomura.platform.core.errors import InvalidInput, NotFound
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.storage.frames import continue_sequences, write_frame
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.residents.models import Death
from tests.residents.factories import CTX, family

CODE = "062022"


def _return(atena_no: str, salary: int, *, year: int = 2025, born: str = "1980-04-01",
            **extra: object) -> IncomeReturnIn:
    return IncomeReturnIn.model_validate({
        "atena_no": atena_no, "income_year": year,
        "taxpayer": {"birth_date": born, "salary_revenue": salary, "pension_revenue": 0,
                     "other_income": 0},
        "deductions": {"social_insurance": salary * 15 // 100}, **extra})


@pytest.fixture
def people(db: Database, yonezawa: Tenant) -> list[str]:
    with db.tenant_tx(CODE) as conn:
        return ch.move_in(conn, CTX, family(moved_on=date(2024, 4, 1)),
                          today=date(2024, 4, 1)).atena_nos


def _run(db: Database, year: int, chunk_size: int = 100) -> int:
    job_id = batch.start(db, CODE, year, actor="tax", chunk_size=chunk_size)
    jobs.run_in_process(db, job_id)
    assert jobs.get_job(db, job_id).status == jobs.JobStatus.DONE
    return job_id


def test_batch_matches_the_single_case_and_runs_once(db: Database, people: list[str]) -> None:
    husband, wife, _child = people
    spouse = {"birth_date": "1982-07-07", "salary_revenue": 1_000_000, "pension_revenue": 0,
              "other_income": 0}
    returns = [_return(husband, 6_000_000, spouse=spouse, employer_no="0000012345"),
               _return(wife, 1_000_000, born="1982-07-07")]
    with db.tenant_tx(CODE) as conn:
        for r in returns:
            income_data.record_return(conn, CTX, r)
    _run(db, 2026)
    with db.tenant_tx(CODE) as conn:
        for r in returns:
            stored = service.current(conn, CTX, r.atena_no, 2026)
            expected = service.simulate(conn, r.as_case())
            assert stored["total"] == expected["total"]
            assert stored["municipal_income_levy"] == expected["municipal"]["income_levy"]
            assert [stored[f"special_{i}"] for i in range(1, 13)] == \
                expected["special_collection"]
        assert service.current(conn, CTX, husband, 2026)["employer_no"] == "0000012345"
        # 1,000,000 of salary in 2025 is 350,000 of income: under every threshold.
        wife_row = service.current(conn, CTX, wife, 2026)
        assert wife_row["total"] == 0
        assert wife_row["per_capita_exempt"]
        before = conn.execute(select(func.count()).select_from(assessments)).scalar_one()
    _run(db, 2026)
    with db.tenant_tx(CODE) as conn:
        after = conn.execute(select(func.count()).select_from(assessments)).scalar_one()
    assert after == before == 2


def test_a_bad_row_is_reported_and_the_rest_assessed(db: Database, people: list[str]) -> None:
    with db.tenant_tx(CODE) as conn:
        for atena_no in people[:2]:
            income_data.record_return(conn, CTX, _return(atena_no, 4_000_000))
        # Data that came in through a migration, not the checked API.
        conn.execute(update(income_returns).where(income_returns.c.atena_no == people[1])
                     .values(salary_revenue=-5, disability="blind"))
    job_id = _run(db, 2026, chunk_size=100)
    with db.tenant_tx(CODE) as conn:
        found = batch.problem_rows(conn, job_id)
        assert [p["atena_no"] for p in found] == [people[1]]
        assert "salary_revenue が負の値です" in found[0]["reason"]
        assert "disability" in found[0]["reason"]
        assert service.current(conn, CTX, people[0], 2026)["total"] > 0
        with pytest.raises(NotFound):
            service.current(conn, CTX, people[1], 2026)


def test_correction_keeps_history_and_emits(db: Database, people: list[str]) -> None:
    husband = people[0]
    with db.tenant_tx(CODE) as conn:
        income_data.record_return(conn, CTX, _return(husband, 5_000_000))
    _run(db, 2026)
    with db.tenant_tx(CODE) as conn:
        first = service.current(conn, CTX, husband, 2026)
        income_data.record_return(conn, CTX, _return(husband, 5_500_000))
        result = service.correct(conn, CTX, husband, 2026, note="給与支払報告書の訂正")
        assert result["changed"]
        assert result["version"] == 2
        assert result["total_before"] == first["total"] < result["total_after"]
        again = service.correct(conn, CTX, husband, 2026, note="再計算")
        assert again == {"changed": False, "version": 2, "total": result["total_after"]}
        versions = service.history(conn, CTX, husband, 2026)
        with pytest.raises(InvalidInput):
            service.correct(conn, CTX, husband, 2026, note=" ")
    assert [(v["version"], v["current"], v["reason"]) for v in versions] == [
        (1, False, "initial"), (2, True, "correction")]
    assert versions[0]["total"] == first["total"]
    topics = [e.topic for e in events.feed(db, CODE, limit=1000)]
    assert topics.count("inhabitant_tax.corrected") == 1
    assert "inhabitant_tax.assessed" in topics


def test_death_counts_from_the_next_fiscal_year(db: Database, people: list[str]) -> None:
    husband, wife, _ = people
    with db.tenant_tx(CODE) as conn:
        for year in (2024, 2025):
            for atena_no in (husband, wife):
                income_data.record_return(conn, CTX, _return(atena_no, 4_000_000, year=year))
        ch.death(conn, CTX, Death(atena_no=husband, died_on=date(2025, 8, 10),
                                  notified_on=date(2025, 8, 11), new_householder=wife,
                                  relationships={people[2]: "子"}))
    events.dispatch(db, CODE)
    _run(db, 2025)
    _run(db, 2026)
    with db.tenant_tx(CODE) as conn:
        assessed = conn.execute(select(assessments.c.atena_no, assessments.c.fiscal_year)
                                .order_by(text("fiscal_year, atena_no"))).all()
    # Alive on 1 January 2025: taxed for 令和7年度; gone before 1 January 2026: not for 令和8.
    assert sorted(assessed) == sorted([(husband, 2025), (wife, 2025), (wife, 2026)])


def test_returns_are_for_known_addressees_only(db: Database, people: list[str],
                                               nagai: Tenant) -> None:
    with db.tenant_tx("062090") as conn, pytest.raises(NotFound):
        income_data.record_return(conn, CTX, _return(people[0], 3_000_000))
    with db.tenant_tx(CODE) as conn, pytest.raises(InvalidInput) as unknown_year:
        income_data.record_return(conn, CTX, _return(people[0], 3_000_000, year=2026))
    with db.tenant_tx(CODE) as conn, pytest.raises(InvalidInput) as unborn:
        income_data.record_return(conn, CTX, _return(people[0], 3_000_000,
                                                     born="2026-01-01"))
    assert unknown_year.value.field == "fiscal_year"
    assert unborn.value.field == "taxpayer.birth_date"
    with db.tenant_tx(CODE) as conn:
        assert conn.execute(select(func.count()).select_from(income_returns)).scalar() == 0


def test_a_failed_chunk_leaves_nothing_and_the_resume_finishes(
        db: Database, yonezawa: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """250 returns in chunks of 100: the second chunk dies while writing; its rows are not
    there, the others are; resuming assesses each return exactly once."""
    returns, family_rows = synthetic.returns(250, 2025, seed=3)
    with db.tenant_admin_tx(CODE) as conn:
        write_frame(conn, income_returns, returns)
        write_frame(conn, income_family, family_rows)
        continue_sequences(conn, income_returns)
    job_id = batch.start(db, CODE, 2026, actor="tax", chunk_size=100)
    real = write_frame

    def dies_on_the_second(conn: Any, table: Any, frame: pl.DataFrame) -> int:
        if frame.height and frame["return_id"].min() >= 100:  # type: ignore[operator]
            raise ConnectionError("the server went away")
        return real(conn, table, frame)

    monkeypatch.setattr(batch, "write_frame", dies_on_the_second)
    with pytest.raises(ConnectionError):
        jobs.run_in_process(db, job_id)
    with db.tenant_tx(CODE) as conn:
        assert service.count_current(conn, 2026) == 99  # ids 1-99 in chunk 0
    monkeypatch.setattr(batch, "write_frame", real)
    jobs.prepare_resume(db, job_id, actor="operator")
    jobs.run_in_process(db, job_id)
    with db.tenant_tx(CODE) as conn:
        per_person = conn.execute(select(assessments.c.atena_no, func.count())
                                  .group_by(assessments.c.atena_no)).all()
        assert len(per_person) == 250
        assert {n for _, n in per_person} == {1}
        # The batch's figures are the single case's, for a sample of the population.
        for return_id in (1, 57, 180, 250):
            stored = conn.execute(select(assessments).where(
                assessments.c.return_id == return_id)).mappings().one()
            taxpayers, fam, _ = income_data.frames(conn, income_returns.c.id == return_id)
            alone = service.rules_for(conn, 2026).assess(taxpayers, fam).collect()
            assert stored["total"] == alone["total"][0]
