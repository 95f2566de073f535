"""`kumomura inhabitant-tax ...`: simulate, record returns, assess, correct."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from kumomura.inhabitant_tax import batch, income_data, notices, service
from kumomura.inhabitant_tax.models import Case, IncomeReturnIn
from kumomura.platform.clikit import (
    Column,
    Format,
    FormatOpt,
    TenantOpt,
    actor,
    audit_context,
    console,
    load_json,
    open_db,
    parse_date,
    print_rows,
    progress,
    run_job_here,
)
from kumomura.platform.core.config import get_settings
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.pool import run_in_pool

app = typer.Typer(no_args_is_help=True,
                  help="個人住民税: simulate a case, record returns, assess, correct.")
YearOpt = Annotated[int, typer.Option("--year", "-y", help="年度 (fiscal year), e.g. 2026")]


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@app.command("simulate")
def simulate(tenant: TenantOpt,
             source: Annotated[str, typer.Option("--input", "-i", help="case JSON or -")],
             ) -> None:
    """The whole calculation of one case, as JSON (nothing is stored)."""
    case = load_json(Case, source)
    with open_db() as db, db.tenant_tx(tenant) as conn:
        _print_json(service.simulate(conn, case))


@app.command("return")
def record_return(tenant: TenantOpt,
                  source: Annotated[str, typer.Argument(help="return JSON or -")]) -> None:
    """Store or replace a person's 課税資料 for an income year."""
    data = load_json(IncomeReturnIn, source)
    with open_db() as db, db.tenant_tx(tenant) as conn:
        return_id = income_data.record_return(conn, audit_context("課税資料の登録"), data)
    console.print(f"課税資料 {return_id} ({data.atena_no}, {data.income_year}年分)")


@app.command("assess")
def assess(tenant: TenantOpt, year: YearOpt,
           chunk_size: Annotated[int, typer.Option(help="returns per chunk")] = batch.DEFAULT_CHUNK,
           ) -> None:
    """当初課税: assess every taxpayer of the fiscal year (a job, with progress)."""
    with open_db() as db:
        job_id = batch.start(db, tenant, year, actor=actor(), chunk_size=chunk_size)
        run_job_here(db, job_id, f"当初課税 {year}年度")
        with db.tenant_tx(tenant) as conn:
            found = batch.problem_rows(conn, job_id)
            count = service.count_current(conn, year)
    console.print(f"job {job_id}: {year}年度の賦課 {count:,} 件 (計算できない課税資料 "
                  f"{len(found):,} 件)")
    for p in found[:20]:
        console.print(f"  {p['atena_no']}: {p['reason']}")


@app.command("show")
def show(tenant: TenantOpt, year: YearOpt, atena_no: str,
         history: Annotated[bool, typer.Option(help="every version")] = False,
         fmt: FormatOpt = Format.TABLE) -> None:
    """A person's assessment (or its history) for a fiscal year."""
    ctx = audit_context("賦課の照会")
    with open_db() as db, db.tenant_tx(tenant) as conn:
        rows = (service.history(conn, ctx, atena_no, year) if history
                else [service.current(conn, ctx, atena_no, year)])
    shown = [{**r, "municipal": r["municipal_income_levy"] + r["municipal_per_capita"],
              "prefectural": r["prefectural_income_levy"] + r["prefectural_per_capita"],
              "assessed_at": r["assessed_at"].replace(microsecond=0)} for r in rows]
    print_rows(shown, [Column("version", "版"), Column("reason", "区分"),
                       Column("taxable_base", "課税標準", yen=True),
                       Column("municipal", "市町村民税", yen=True),
                       Column("prefectural", "道府県民税", yen=True),
                       Column("forest_environment_tax", "森林環境税", yen=True),
                       Column("total", "年税額", yen=True), Column("assessed_at", "賦課日時"),
                       Column("note", "理由")], fmt)


@app.command("correct")
def correct(tenant: TenantOpt, year: YearOpt, atena_no: str,
            note: Annotated[str, typer.Option(help="更正の理由")]) -> None:
    """更正: recompute a person's assessment from the return as it now stands."""
    with open_db() as db, db.tenant_tx(tenant) as conn:
        result = service.correct(conn, audit_context("更正"), atena_no, year, note)
    if not result["changed"]:
        console.print(f"変更はありません (第{result['version']}版のまま)")
    elif result["total_before"] is None:
        console.print(f"第{result['version']}版: 新たに賦課 (年税額 {result['total_after']:,}円)")
    else:
        console.print(f"第{result['version']}版: 年税額 {result['total_before']:,}円 → "
                      f"{result['total_after']:,}円")


@app.command("notices")
def notices_(tenant: TenantOpt, year: YearOpt,
             issued_on: Annotated[str | None, typer.Option(help="発行日; default today")] = None,
             workers: Annotated[int, typer.Option(help="parallel processes")] = 2,
             per_file: Annotated[int, typer.Option(help="notices per PDF file (at most)")]
             = notices.PER_FILE) -> None:
    """納税通知書 and employers' 特別徴収税額の決定通知書 of a fiscal year: PDF files and
    index.csv, rendered in parallel processes (a job, with progress)."""
    with open_db() as db:
        job_id = notices.start(db, tenant, year, actor=actor(),
                               issued_on=parse_date(issued_on, "issued_on"), per_file=per_file)
        job = jobs.get_job(db, job_id)
        with progress() as bar:
            task = bar.add_task(f"通知書 {year}年度 (job {job_id})", total=job.total_chunks)
            run_in_pool(db, get_settings(), job_id, workers=workers,
                        on_chunk=lambda done, _total: bar.update(task, completed=done))
        directory = notices.run_directory({**job.params, "lg_code": tenant,
                                           "data_dir": str(db.data_dir)})
    files = sorted(p.name for p in directory.glob("*.pdf"))
    console.print(f"job {job_id}: {len(files)} files and {notices.INDEX} in {directory}")
