"""当初課税: the annual assessment of every taxpayer of a municipality, as a chunked job.

Each chunk takes the returns whose ids fall in its range, reads them with COPY, runs the
rules over the frame, and writes the assessments with COPY, in the transaction that marks
the chunk done. A person already assessed for the year is left as is, so a restarted or
repeated run changes nothing; a row the rules cannot take is reported with its reason
and the others go on.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from pydantic import Field
from sqlalchemy import Connection, exists, func, insert, select

from kumomura.inhabitant_tax import service
from kumomura.inhabitant_tax.charges import charge_lines, employer_payers, in_groups
from kumomura.inhabitant_tax.events import Assessed, Charged
from kumomura.inhabitant_tax.income_data import frames
from kumomura.inhabitant_tax.law import law_for
from kumomura.inhabitant_tax.params import MODULE
from kumomura.inhabitant_tax.rules import problems
from kumomura.inhabitant_tax.tables import (
    assessment_problems,
    assessments,
    income_family,
    income_returns,
    tax_departures,
)
from kumomura.platform import audit, events
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.storage.frames import write_frame

KIND = "inhabitant_tax.assess"
DEFAULT_CHUNK = 50_000
r = income_returns.c


def _settings(params: dict[str, Any]) -> tuple[int, int]:
    try:
        year = int(params["fiscal_year"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("fiscal_year (年度) を指定してください", field="fiscal_year") from None
    law_for(year)
    size = int(params.get("chunk_size", DEFAULT_CHUNK))
    if not 100 <= size <= 1_000_000:
        raise InvalidInput("chunk_size は 100〜1,000,000 です", field="chunk_size")
    return year, size


def plan(conn: Connection, params: dict[str, Any]) -> int:
    """Chunks are fixed ranges of return ids (k × size up to the largest id of the year),
    so a restart finds each chunk's rows again without any stored list."""
    year, size = _settings(params)
    top = conn.execute(select(func.max(r.id)).where(r.income_year == year - 1)).scalar()
    return 0 if top is None else int(top) // size + 1


def run_chunk(conn: Connection, params: dict[str, Any], chunk_no: int) -> dict[str, Any]:
    year, size = _settings(params)
    job_id = int(params["job_id"])
    actor = str(params.get("actor", "batch"))
    td, a, f = tax_departures.c, assessments.c, income_family.c
    lo, hi = chunk_no * size, (chunk_no + 1) * size
    departed = exists().where(td.atena_no == r.atena_no, td.on_date < date(year, 1, 1))
    where = (r.income_year == year - 1) & (r.id >= lo) & (r.id < hi) & ~departed
    taxpayers, family, keys = frames(conn, where, (f.return_id >= lo) & (f.return_id < hi))
    # Whoever already has an assessment for the year keeps it (a rerun writes nothing).
    done = pl.DataFrame({"tid": conn.execute(select(a.return_id).where(
        a.return_id >= lo, a.return_id < hi, a.fiscal_year == year, a.current)).scalars().all()},
        schema={"tid": pl.Int64})
    if done.height:
        taxpayers = taxpayers.join(done, on="tid", how="anti")
        family = family.join(done, on="tid", how="anti")
        keys = keys.join(done, on="tid", how="anti")
    bad = problems(taxpayers, family, year - 1)
    good = taxpayers.join(bad, on="tid", how="anti")
    results = service.rules_for(conn, year).assess(good, family).collect()
    written = write_frame(conn, assessments, service.assessment_frame(
        results, keys, fiscal_year=year, version=1, reason="initial", actor=actor,
        job_id=job_id))
    if bad.height:
        conn.execute(insert(assessment_problems), bad.join(keys, on="tid").select(
            return_id="tid", atena_no="atena_no", reason="reason",
            job_id=pl.lit(job_id), fiscal_year=pl.lit(year),
            recorded_at=pl.lit(utcnow())).to_dicts())
    summary = {"assessed": written, "problems": bad.height}
    if written:
        events.emit(conn, Assessed(fiscal_year=year, job_id=job_id, chunk=chunk_no,
                                   **summary, total=int(results["total"].sum())))
        lines = charge_lines(results.join(keys, on="tid"),
                             service.tenant_parameters(conn, year), year)
        for group in in_groups(lines):
            events.emit(conn, Charged(fiscal_year=year, reason="initial", lines=group,
                                      payers=employer_payers(conn, year, group)))
    return summary


class AssessmentRequest(jobs.JobRequest):
    """当初課税 of a fiscal year, in chunks of ``chunk_size`` returns."""

    fiscal_year: int = Field(ge=2024, le=2100)
    chunk_size: int = Field(default=DEFAULT_CHUNK, ge=100, le=1_000_000)


def _prepare(_db: Database, _lg_code: str, request: AssessmentRequest, actor: str,
             ) -> dict[str, Any]:
    return {**request.model_dump(), "actor": actor}


ASSESSMENT_JOB = jobs.JobKind(name=KIND, title="個人住民税 当初課税", module=MODULE,
                              plan=plan, run_chunk=run_chunk, request=AssessmentRequest,
                              prepare=_prepare)


def start(db: Database, lg_code: str, fiscal_year: int, *, actor: str,
          chunk_size: int = DEFAULT_CHUNK) -> int:
    """Submit the annual assessment of a fiscal year; the caller runs or defers it."""
    return jobs.start_requested(db, lg_code, KIND, {"fiscal_year": fiscal_year,
                                                    "chunk_size": chunk_size}, actor=actor)


def problem_rows(conn: Connection, job_id: int,
                 ctx: AuditContext | None = None) -> list[dict[str, Any]]:
    """The returns a job could not assess, with the reason; shown to someone (``ctx``),
    the look is audited (a count of them alone is not)."""
    p = assessment_problems.c
    rows = [dict(row) for row in conn.execute(
        select(p.atena_no, p.return_id, p.reason).where(p.job_id == job_id)
        .order_by(p.return_id)).mappings()]
    if ctx is not None:
        audit.record(conn, ctx, "inhabitant_tax.problems_viewed",
                     detail={"job_id": job_id, "atena_nos": [r["atena_no"] for r in rows]})
    return rows
