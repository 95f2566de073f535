"""What seal registration publishes: a registration made, a registration ended."""

from __future__ import annotations

from typing import ClassVar

from kumomura.platform.events import DomainEvent


class Registered(DomainEvent):
    name: ClassVar[str] = "seal_registration.registered"
    registration_no: str
    atena_no: str


class Abolished(DomainEvent):
    name: ClassVar[str] = "seal_registration.abolished"
    registration_no: str
    reason: str


PUBLISHED = (Registered, Abolished)
