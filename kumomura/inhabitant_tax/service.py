"""Use cases of the inhabitant tax, one tenant transaction each: simulate a case, read an
assessment and its history, correct one (更正), and note the registry's departures."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Connection, delete, func, insert, select, update

from kumomura.inhabitant_tax import calculation
from kumomura.inhabitant_tax.charges import correction_lines, employer_payers
from kumomura.inhabitant_tax.events import Charged, Corrected
from kumomura.inhabitant_tax.income_data import frames
from kumomura.inhabitant_tax.law import law_for
from kumomura.inhabitant_tax.models import Case
from kumomura.inhabitant_tax.params import MODULE, InhabitantTaxParameters
from kumomura.inhabitant_tax.rules import OUTPUT_COLUMNS, Rules, problems
from kumomura.inhabitant_tax.tables import assessments, income_returns, tax_departures
from kumomura.platform import audit, events, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput, NotFound
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.storage.frames import write_frame
from kumomura.residents.events import Died, MovedIn, RegistryChanged

a = assessments.c
FIGURES = tuple(n for n in OUTPUT_COLUMNS if n != "tid")


def tenant_parameters(conn: Connection, fiscal_year: int) -> InhabitantTaxParameters:
    """The municipality's settings in force for a fiscal year (from its 1 April)."""
    law_for(fiscal_year)
    values = params.values_on(conn, MODULE, date(fiscal_year, 4, 1))
    assert isinstance(values, InhabitantTaxParameters)
    return values


def rules_for(conn: Connection, fiscal_year: int) -> Rules:
    return Rules(law_for(fiscal_year), tenant_parameters(conn, fiscal_year))


def simulate(conn: Connection, case: Case) -> dict[str, Any]:
    """One case under this municipality's parameters (and the case's what-if changes).
    Nothing is stored: no personal data goes in, so nothing is audited."""
    return calculation.calculate(case, tenant_parameters(conn, case.fiscal_year))


def assessment_frame(results: pl.DataFrame, keys: pl.DataFrame, *, fiscal_year: int,
                     version: int | pl.Expr, reason: str, actor: str, job_id: int | None,
                     note: str | None = None) -> pl.DataFrame:
    """Rows for the assessments table from the rules' output and the returns' keys."""
    return (results.join(keys, on="tid").with_columns(
        return_id=pl.col("tid"), fiscal_year=pl.lit(fiscal_year), version=version,
        current=pl.lit(True), reason=pl.lit(reason), note=pl.lit(note, pl.String),
        job_id=pl.lit(job_id, pl.Int64), assessed_by=pl.lit(actor),
        assessed_at=pl.lit(utcnow()))
        .select("atena_no", "fiscal_year", "version", "current", "reason", "note",
                "return_id", "employer_no", "job_id", "assessed_by", "assessed_at",
                *FIGURES))


def _public(row: Any) -> dict[str, Any]:
    return dict(row)


def current(conn: Connection, ctx: AuditContext, atena_no: str,
            fiscal_year: int) -> dict[str, Any]:
    row = conn.execute(select(assessments).where(
        a.atena_no == atena_no, a.fiscal_year == fiscal_year, a.current)).mappings().first()
    if row is None:
        raise NotFound(f"宛名番号 {atena_no} の {fiscal_year} 年度の賦課はありません",
                       field="atena_no")
    audit.record(conn, ctx, "inhabitant_tax.assessment_viewed", atena_no=atena_no,
                 detail={"fiscal_year": fiscal_year})
    return _public(row)


def history(conn: Connection, ctx: AuditContext, atena_no: str,
            fiscal_year: int) -> list[dict[str, Any]]:
    """Every version of a person's assessment for a year, oldest first."""
    rows = conn.execute(select(assessments).where(
        a.atena_no == atena_no, a.fiscal_year == fiscal_year).order_by(a.version)).mappings()
    found = [_public(r) for r in rows]
    if not found:
        raise NotFound(f"宛名番号 {atena_no} の {fiscal_year} 年度の賦課はありません",
                       field="atena_no")
    audit.record(conn, ctx, "inhabitant_tax.history_viewed", atena_no=atena_no,
                 detail={"fiscal_year": fiscal_year})
    return found


def correct(conn: Connection, ctx: AuditContext, atena_no: str, fiscal_year: int,
            note: str) -> dict[str, Any]:
    """更正: recompute one person's assessment from the return as it now stands, with the
    rules of the batch. A new version replaces the current one, which stays as history; a
    recomputation that changes nothing writes nothing."""
    if not note.strip():
        raise InvalidInput("更正の理由を入力してください", field="note")
    rules = rules_for(conn, fiscal_year)
    where = (income_returns.c.atena_no == atena_no) & (
        income_returns.c.income_year == fiscal_year - 1)
    taxpayers, family, keys = frames(conn, where)
    if taxpayers.height == 0:
        raise NotFound(f"宛名番号 {atena_no} の {fiscal_year - 1} 年分の課税資料はありません",
                       field="atena_no")
    bad = problems(taxpayers, family, fiscal_year - 1)
    if bad.height:
        raise InvalidInput(f"課税資料を計算できません: {bad['reason'][0]}", field="atena_no")
    results = rules.assess(taxpayers, family).collect()
    before = conn.execute(select(assessments).where(
        a.atena_no == atena_no, a.fiscal_year == fiscal_year, a.current)
        .with_for_update()).mappings().first()
    after = results.row(0, named=True)
    if before is not None and all(before[n] == after[n] for n in FIGURES):
        return {"changed": False, "version": before["version"], "total": before["total"]}
    version = 1 if before is None else before["version"] + 1
    if before is not None:
        conn.execute(update(assessments).where(a.id == before["id"]).values(current=False))
    write_frame(conn, assessments, assessment_frame(
        results, keys, fiscal_year=fiscal_year, version=version, reason="correction",
        actor=ctx.actor, job_id=None, note=note))
    change = {"fiscal_year": fiscal_year, "version": version,
              "total_before": None if before is None else before["total"],
              "total_after": after["total"]}
    events.emit(conn, Corrected(**change), atena_no=atena_no, request_id=ctx.request_id)
    lines = correction_lines(results.join(keys, on="tid"), before,
                             tenant_parameters(conn, fiscal_year), fiscal_year)
    events.emit(conn, Charged(fiscal_year=fiscal_year, reason="correction", lines=lines,
                              payers=employer_payers(conn, fiscal_year, lines)),
                atena_no=atena_no, request_id=ctx.request_id)
    audit.record(conn, ctx, "inhabitant_tax.corrected", atena_no=atena_no,
                 detail=change | {"note": note})
    return {"changed": True, **change}


def notices_of(conn: Connection, fiscal_year: int) -> int:
    """How many 納税通知書 (普通徴収) the year's assessments call for (usage metering)."""
    return int(conn.execute(select(func.count()).select_from(assessments).where(
        a.fiscal_year == fiscal_year, a.current, a.total > 0,
        ~a.special_collection)).scalar_one())


def count_current(conn: Connection, fiscal_year: int) -> int:
    return int(conn.execute(select(func.count()).select_from(assessments).where(
        a.fiscal_year == fiscal_year, a.current)).scalar_one())


def on_registry_change(conn: Connection, event: RegistryChanged,
                       envelope: events.Event) -> None:
    """賦課期日 (地方税法第318条) is 1 January: whoever died or moved out is still taxed
    for the fiscal year already begun, and not from the next one; moving back in ends the
    departure. Idempotent: a redelivered event writes the same row."""
    td = tax_departures.c
    on = event.effective_on
    if isinstance(event, MovedIn):
        conn.execute(delete(tax_departures).where(td.atena_no == event.atena_no,
                                                  td.on_date <= on))
        return
    if event.status != "removed":
        return
    kind = "died" if isinstance(event, Died) else "moved_out"
    values = {"kind": kind, "on_date": on, "event_id": envelope.id}
    if conn.execute(select(td.atena_no).where(td.atena_no == event.atena_no)).first() is None:
        conn.execute(insert(tax_departures).values(atena_no=event.atena_no, **values))
    else:
        conn.execute(update(tax_departures).where(td.atena_no == event.atena_no)
                     .values(**values))

