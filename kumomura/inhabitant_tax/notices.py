"""Bulk notices: every 納税通知書 and every employer's 特別徴収税額の決定通知書 of a fiscal
year, as print-ready PDF files plus an index CSV, one job chunk per file.

The job's shape is fixed when it starts (the largest assessment id and the number of
employers go into its params), so each chunk finds its rows again after a restart: the
first chunks are employers in order of their number, the rest are ranges of assessment
ids. Chunks are independent, so workers render files in parallel processes (the CLI's
process pool, or any number of ``kumomura worker`` processes on PostgreSQL). Within a
file, taxpayers are in postal-code order for the mail. The index is assembled by the
chunk that finds every part written.
"""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import Field
from sqlalchemy import Connection, distinct, func, select

from kumomura.inhabitant_tax import service
from kumomura.inhabitant_tax.calculation import due_dates
from kumomura.inhabitant_tax.charges import employer_names
from kumomura.inhabitant_tax.forms import (
    EMPLOYEES_PER_PAGE,
    NoticeHeader,
    employer_notices,
    ordinary_notices,
)
from kumomura.inhabitant_tax.params import MODULE
from kumomura.inhabitant_tax.tables import assessments
from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.storage.frames import read_frame
from kumomura.platform.tenancy.profile import Office
from kumomura.platform.tenancy.tenants import get_tenant
from kumomura.residents import public as residents

KIND = "inhabitant_tax.notices"
PER_FILE = 2_000
EMPLOYERS_PER_FILE = 500
INDEX = "index.csv"
INDEX_COLUMNS = ("ファイル", "ページ", "区分", "宛名番号", "特別徴収義務者指定番号", "氏名",
                 "郵便番号", "年税額")
a = assessments.c
FIGURES = ("atena_no", "employer_no", "total_income", "deductions_total", "taxable_base",
           "municipal_adjustment_credit", "prefectural_adjustment_credit",
           "municipal_donation_credit", "prefectural_donation_credit",
           "municipal_housing_loan_credit", "prefectural_housing_loan_credit",
           "municipal_dividend_credit", "prefectural_dividend_credit",
           "municipal_income_levy", "prefectural_income_levy", "municipal_per_capita",
           "prefectural_per_capita", "forest_environment_tax", "municipal_flat_reduction",
           "prefectural_flat_reduction", "total", *(f"ordinary_{i}" for i in range(1, 5)),
           *(f"special_{i}" for i in range(1, 13)))
SCHEMA = {name: (pl.String if name in ("atena_no", "employer_no") else pl.Int64)
          for name in FIGURES}


def notices_area(data_dir: Path | str, lg_code: str) -> Path:
    """Where a municipality's notice files are written; nothing else is served from it."""
    return Path(data_dir) / "notices" / lg_code


def _base(year: int) -> Any:
    return (a.fiscal_year == year) & a.current & (a.total > 0)


class NoticesRequest(jobs.JobRequest):
    """The year's 納税通知書, issued on a date, ``per_file`` notices a file. The
    municipality printed on them, the run's directory and its shape are the server's."""

    fiscal_year: int = Field(ge=2024, le=2100)
    issued_on: date
    per_file: int = Field(default=PER_FILE, ge=1, le=100_000)


def _prepare(db: Database, lg_code: str, request: NoticesRequest, _actor: str,
             ) -> dict[str, Any]:
    """Fix the run's shape from the assessments, and its name from the municipality."""
    tenant = get_tenant(db, lg_code)
    year = request.fiscal_year
    with db.tenant_tx(lg_code) as conn:
        service.tenant_parameters(conn, year)
        top = conn.execute(select(func.max(a.id)).where(
            _base(year), ~a.special_collection)).scalar() or 0
        employers = conn.execute(select(func.count(distinct(a.employer_no))).where(
            _base(year), a.special_collection)).scalar_one()
    return {**request.model_dump(mode="json"), "municipality": tenant.name,
            "prefecture": tenant.prefecture, "directory": f"{year}-{utcnow():%Y%m%dT%H%M%S%f}",
            "top_id": int(top), "employer_files": -(-int(employers) // EMPLOYERS_PER_FILE)}


def start(db: Database, lg_code: str, fiscal_year: int, *, actor: str,
          issued_on: date, per_file: int = PER_FILE) -> int:
    """Fix the run's shape and submit it; the caller runs the chunks."""
    return jobs.start_requested(db, lg_code, KIND, {
        "fiscal_year": fiscal_year, "issued_on": issued_on.isoformat(),
        "per_file": per_file}, actor=actor)


def _shape(p: dict[str, Any]) -> tuple[int, int, int]:
    run = str(p.get("directory", ""))
    if not run or Path(run).name != run or run.startswith("."):
        raise InvalidInput("directory は実行名だけを指定します", field="directory")
    try:
        per_file, top, employer_files = int(p["per_file"]), int(p["top_id"]), \
            int(p["employer_files"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("通知書の一括作成は専用の開始処理 (notices) から実行してください",
                           field="params") from None
    if not 1 <= per_file <= 100_000:
        raise InvalidInput("per_file は 1〜100,000 です", field="per_file")
    return per_file, employer_files, top // per_file + 1 if top else 0


def plan(conn: Connection, p: dict[str, Any]) -> int:
    _, employer_files, ordinary_files = _shape(p)
    return employer_files + ordinary_files


def _header(conn: Connection, p: dict[str, Any]) -> NoticeHeader:
    year = int(p["fiscal_year"])
    issued = date.fromisoformat(p["issued_on"])
    signer = residents.certifier(conn, issued)
    if not signer.is_set:
        raise InvalidInput("住民記録のパラメータ mayor_title / mayor_name (通知者) が未設定です",
                           field="mayor_title")
    return NoticeHeader(fiscal_year=year, municipality=p["municipality"],
                        prefecture=p["prefecture"], mayor_title=signer.title,
                        mayor_name=signer.name,
                        issued_on=issued,
                        due_dates=tuple(due_dates(service.tenant_parameters(conn, year), year)))


def _with_addresses(conn: Connection, p: dict[str, Any], rows: pl.DataFrame,
                    ctx: AuditContext | None = None) -> pl.DataFrame:
    ctx = ctx or AuditContext(actor=f"job:{p['job_id']}", purpose="個人住民税の通知書の作成")
    office = Office("", f"{p['prefecture']}{p['municipality']}")
    people = residents.mailing_list(conn, ctx, office, rows["atena_no"].to_list())
    return rows.join(people, on="atena_no", how="left").with_columns(
        pl.col("name").fill_null("（宛名不明）"))


def _write(path: Path, data: bytes) -> None:
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(path)


def _employer_file(conn: Connection, p: dict[str, Any], directory: Path, k: int,
                   header: NoticeHeader) -> tuple[str | None, list[tuple[Any, ...]]]:
    year = int(p["fiscal_year"])
    numbers = conn.execute(select(distinct(a.employer_no)).where(
        _base(year), a.special_collection).order_by(a.employer_no)
        .offset(k * EMPLOYERS_PER_FILE).limit(EMPLOYERS_PER_FILE)).scalars().all()
    if not numbers:
        return None, []
    rows = read_frame(conn, select(*(a[n] for n in FIGURES)).where(
        _base(year), a.special_collection, a.employer_no.in_(numbers)), SCHEMA)
    rows = _with_addresses(conn, p, rows).sort("employer_no", "atena_no")
    names = employer_names(conn, year, list(numbers))
    groups = [({"employer_no": number, "employer_name": names.get(number)},
               part.to_dicts()) for (number,), part in rows.group_by("employer_no",
                                                                    maintain_order=True)]
    pdf, starts = employer_notices(header, groups)
    name = f"employers-{k + 1:04d}.pdf"
    _write(directory / name, pdf)
    first_page = dict(starts)
    index: list[tuple[Any, ...]] = []
    for employer, people in groups:
        start_page = first_page[employer["employer_no"]]
        for i, person in enumerate(people):
            page = start_page + i // EMPLOYEES_PER_PAGE
            index.append((name, page, "特別徴収", person["atena_no"], employer["employer_no"],
                          person["name"], "", person["total"]))
    return name, index


def _ordinary_file(conn: Connection, p: dict[str, Any], directory: Path, cell: int,
                   header: NoticeHeader) -> tuple[str | None, list[tuple[Any, ...]]]:
    year, per_file = int(p["fiscal_year"]), int(p["per_file"])
    rows = read_frame(conn, select(*(a[n] for n in FIGURES)).where(
        _base(year), ~a.special_collection, a.id >= cell * per_file,
        a.id < (cell + 1) * per_file, a.id <= int(p["top_id"])), SCHEMA)
    if rows.height == 0:
        return None, []
    rows = _with_addresses(conn, p, rows).sort("postal_code", "address", "atena_no",
                                               nulls_last=True)
    records = rows.to_dicts()
    name = f"ordinary-{cell + 1:05d}.pdf"
    _write(directory / name, ordinary_notices(header, records))
    return name, [(name, i + 1, "普通徴収", r["atena_no"], "", r["name"],
                   r["postal_code"] or "", r["total"]) for i, r in enumerate(records)]


def _assemble_index(directory: Path, total: int) -> None:
    """Join the parts into index.csv once every chunk has written its part."""
    parts = sorted((directory / "parts").glob("*.csv"))
    if len(parts) < total:
        return
    partial = directory / f"{INDEX}.{os.getpid()}"
    with partial.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(INDEX_COLUMNS)
        for part in parts:
            with part.open(encoding="utf-8", newline="") as f:
                writer.writerows(csv.reader(f))
    partial.replace(directory / INDEX)


def people_in(directory: Path, name: str) -> list[str]:
    """Whose notices a file of the run holds (from its index); for the index itself,
    everyone's."""
    index = directory / INDEX
    if not index.is_file():
        return []
    rows = pl.scan_csv(index, infer_schema=False)  # a million rows: read lazily, as text
    if name != INDEX:
        rows = rows.filter(pl.col(INDEX_COLUMNS[0]) == name)
    return list(rows.select(INDEX_COLUMNS[3]).collect()[INDEX_COLUMNS[3]])


def audit_file_read(db: Database, lg_code: str, ctx: AuditContext, job_id: int,
                    path: Path) -> None:
    """A file of the run was read: whose notices it holds go in the trail (the index,
    which holds everyone's, by their number)."""
    people = people_in(path.parent, path.name)
    detail: dict[str, Any] = {"job_id": job_id, "file": path.name, "people": len(people)}
    if path.name != INDEX:
        detail["atena_nos"] = people
    with db.tenant_tx(lg_code) as conn:
        audit.record(conn, ctx, "inhabitant_tax.notice_file_read", detail=detail)


def run_directory(p: dict[str, Any]) -> Path:
    """The run's directory, inside the municipality's notices area."""
    return notices_area(p["data_dir"], p["lg_code"]) / str(p["directory"])


def run_chunk(conn: Connection, p: dict[str, Any], k: int) -> dict[str, Any]:
    _, employer_files, ordinary_files = _shape(p)
    directory = run_directory(p)
    (directory / "parts").mkdir(parents=True, exist_ok=True)
    header = _header(conn, p)
    if k < employer_files:
        name, index = _employer_file(conn, p, directory, k, header)
    else:
        name, index = _ordinary_file(conn, p, directory, k - employer_files, header)
    part = directory / "parts" / f"{k:05d}.csv"
    with part.with_suffix(".part").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(index)
    part.with_suffix(".part").replace(part)
    _assemble_index(directory, employer_files + ordinary_files)
    return {"file": name, "notices": len(index)}


NOTICES_JOB = jobs.JobKind(name=KIND, title="個人住民税 通知書の一括作成", module=MODULE,
                           plan=plan, run_chunk=run_chunk, request=NoticesRequest,
                           prepare=_prepare)


def single(db: Database, lg_code: str, ctx: AuditContext, atena_no: str, fiscal_year: int,
           issued_on: date) -> bytes:
    """One taxpayer's 納税通知書 (a reissue at the counter), audited."""
    tenant = get_tenant(db, lg_code)
    p = {"fiscal_year": fiscal_year, "issued_on": issued_on.isoformat(), "job_id": 0,
         "municipality": tenant.name, "prefecture": tenant.prefecture}
    with db.tenant_tx(lg_code) as conn:
        current = service.current(conn, ctx, atena_no, fiscal_year)
        row = pl.DataFrame([{n: current[n] for n in FIGURES}], schema=SCHEMA)
        record = _with_addresses(conn, p, row, ctx).to_dicts()[0]
        header = _header(conn, p)
    return ordinary_notices(header, [record])
