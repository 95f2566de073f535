"""What a business module (業務) offers the platform: its API router, its staff pages and
its CLI group.

Tables, parameters, event subscribers and job kinds register themselves at import; this
record is for the pieces the web app and the CLI mount.
"""

from __future__ import annotations

from dataclasses import dataclass

import typer
from fastapi import APIRouter

from kumomura.platform.core.businesses import validate_business


@dataclass(frozen=True)
class BusinessModule:
    code: str
    router: APIRouter | None = None
    ui: APIRouter | None = None
    cli: typer.Typer | None = None
    cli_name: str | None = None

    def __post_init__(self) -> None:
        validate_business(self.code)
