"""What the inhabitant tax publishes: the year's assessments written (per chunk of the
当初課税) and a person's assessment corrected (更正); 収納管理 takes its charges from
these."""

from __future__ import annotations

from typing import ClassVar

from kumomura.platform.events import DomainEvent


class Assessed(DomainEvent):
    """One chunk of the annual assessment written."""

    name: ClassVar[str] = "inhabitant_tax.assessed"
    fiscal_year: int
    job_id: int
    chunk: int
    assessed: int
    problems: int
    total: int


class Corrected(DomainEvent):
    """A person's assessment of a year changed (a new version)."""

    name: ClassVar[str] = "inhabitant_tax.corrected"
    fiscal_year: int
    version: int
    total_before: int | None
    total_after: int


PUBLISHED = (Assessed, Corrected)
