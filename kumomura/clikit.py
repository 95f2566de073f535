"""What every command group shares: the console, the tenant option, dates, the database,
progress bars. Business modules' CLIs import this, never ``kumomura.cli``."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kumomura.catalog import load_all_tables
from kumomura.platform.config import get_settings
from kumomura.platform.db import Database, open_database
from kumomura.platform.errors import InvalidInput

console = Console()
err = Console(stderr=True)

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="lg_code, e.g. 062022")]
OnOpt = Annotated[str | None, typer.Option("--on", help="date (YYYY-MM-DD); default today")]


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
def open_db() -> Iterator[Database]:
    load_all_tables()
    db = open_database(get_settings())
    try:
        yield db
    finally:
        db.dispose()


def progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)
