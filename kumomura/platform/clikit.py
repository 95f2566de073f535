"""What every command group shares: the console, the tenant option, dates, the database,
progress bars, tables as text or as JSON/CSV. Business modules' CLIs import this, never
``kumomura.cli``."""

from __future__ import annotations

import csv
import getpass
import json
import os
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kumomura.platform.audit import AuditContext
from kumomura.platform.core import messages
from kumomura.platform.core.config import get_settings
from kumomura.platform.core.errors import FieldProblem, InvalidInput, invalid
from kumomura.platform.storage.db import Database, open_database

console = Console()
err = Console(stderr=True)

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="lg_code, e.g. 062022")]
OnOpt = Annotated[str | None, typer.Option("--on", help="date (YYYY-MM-DD); default today")]


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


FormatOpt = Annotated[Format, typer.Option(
    "--format", help="table (for people), json or csv (for scripts: every figure whole)")]


@dataclass(frozen=True)
class Column:
    """A column of a printed table: its key in the rows (and in JSON and CSV), its header
    in the table, and whether it holds yen (shown with thousands separators)."""

    key: str
    header: str
    yen: bool = False


def _plain(value: Any) -> Any:
    """A value as JSON and CSV carry it: dates in ISO form, exact decimals as text."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal | Fraction):
        return str(value)
    return value


def _shown(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.yen and isinstance(value, int):
        return f"{value:,}"
    return str(_plain(value))


def print_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column],
               fmt: Format = Format.TABLE, *, title: str | None = None) -> None:
    """Rows as a table for people, or as JSON or CSV with the rows' own values. A table
    cell is folded, never cut: no figure ends in an ellipsis, whatever the width."""
    if fmt is Format.JSON:
        data = [{c.key: _plain(row.get(c.key)) for c in columns} for row in rows]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
        return
    if fmt is Format.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([c.key for c in columns])
        writer.writerows([["" if row.get(c.key) is None else _plain(row.get(c.key))
                           for c in columns] for row in rows])
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column.header, overflow="fold", justify="right" if column.yen
                         else "left")
    for row in rows:
        table.add_row(*(_shown(c, row.get(c.key)) for c in columns))
    console.print(table)


def actor() -> str:
    return os.environ.get("KUMOMURA_ACTOR") or f"cli:{getpass.getuser()}"


def parse_date(value: str | None, field: str = "on") -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not a date (YYYY-MM-DD)", field=field) from None


@contextmanager
def open_db(*, owner: bool = True) -> Iterator[Database]:
    """The deployment's database; serving commands (the worker) open it without the
    owner's rights."""
    db = open_database(get_settings(), owner=owner)
    try:
        yield db
    finally:
        db.dispose()


def progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def run_job_here(db: Database, job_id: int, title: str) -> str:
    """Run a job in this process with a progress bar; its final status."""
    from kumomura.platform.jobs import queue as jobs

    with progress() as bar:
        task = bar.add_task(f"{title} (job {job_id})", total=jobs.get_job(db, job_id).total_chunks)
        jobs.run_in_process(db, job_id,
                            on_chunk=lambda done, _total: bar.update(task, completed=done))
    return str(jobs.get_job(db, job_id).status)


def audit_context(purpose: str | None = None) -> AuditContext:
    """Who acts from the shell: the operator's name, a request id, the purpose given."""
    return AuditContext(actor=actor(), request_id=f"cli-{uuid.uuid4().hex[:12]}",
                        client_addr="cli", purpose=purpose)


M = TypeVar("M", bound=BaseModel)


def load_json(model: type[M], source: str) -> M:
    """A request document from a file (or ``-``: stdin), validated; errors name the field."""
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise invalid([FieldProblem(p.field or model.__name__, p.message)
                       for p in messages.problems(exc)]) from None
