"""What every command group shares: the console, the tenant option, dates, the database,
progress bars, tables as text or as JSON/CSV. Business modules' CLIs import this, never
``kumomura.cli``."""

from __future__ import annotations

import getpass
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kumomura.platform.audit import AuditContext
from kumomura.platform.core import messages
from kumomura.platform.core.config import get_settings
from kumomura.platform.core.errors import FieldProblem, InvalidInput, invalid
from kumomura.platform.storage.db import Database, open_database

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
    db = open_database(get_settings())
    try:
        yield db
    finally:
        db.dispose()


def progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


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
