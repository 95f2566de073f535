"""What the inhabitant tax publishes: the year's assessments written (per chunk of the
当初課税) and a person's assessment corrected (更正), and the charges (調定) of both,
which 収納管理 takes."""

from __future__ import annotations

from typing import ClassVar

from kumomura.platform.events import DomainEvent
from kumomura.platform.levies import ChargesEvent


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


class Charged(ChargesEvent):
    """調定 for collection: installments of the 当初課税 (in groups) or of one 更正."""

    name: ClassVar[str] = "inhabitant_tax.charged"


PUBLISHED = (Assessed, Corrected, Charged)
