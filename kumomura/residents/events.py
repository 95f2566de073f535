"""What the resident registry publishes: one event per person whose record a change
(異動) touched, under the change's topic. Other modules keep their own records from
these (e.g. 印鑑登録 ends with a death, 個人住民税 notes who left before 1 January)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from kumomura.platform.events import DomainEvent


class RegistryChanged(DomainEvent):
    """A person's record after a change: the change, its date, household and status."""

    change_id: int
    change_type: str
    effective_on: date
    atena_no: str
    household_no: str
    status: Literal["resident", "removed"]


class MovedIn(RegistryChanged):
    name: ClassVar[str] = "residents.moved_in"


class Born(RegistryChanged):
    name: ClassVar[str] = "residents.born"


class MovedOut(RegistryChanged):
    name: ClassVar[str] = "residents.moved_out"


class Relocated(RegistryChanged):
    name: ClassVar[str] = "residents.relocated"


class Died(RegistryChanged):
    name: ClassVar[str] = "residents.died"


class HouseholdChanged(RegistryChanged):
    name: ClassVar[str] = "residents.household_changed"


class Corrected(RegistryChanged):
    name: ClassVar[str] = "residents.corrected"


class ChangeCancelled(RegistryChanged):
    name: ClassVar[str] = "residents.change_cancelled"


BY_CHANGE_TYPE: dict[str, type[RegistryChanged]] = {
    "move_in": MovedIn, "birth": Born, "move_out": MovedOut, "relocation": Relocated,
    "death": Died, "household_change": HouseholdChanged, "correction": Corrected,
    "cancellation": ChangeCancelled,
}

PUBLISHED: tuple[type[RegistryChanged], ...] = tuple(BY_CHANGE_TYPE.values())
