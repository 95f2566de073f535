"""What other modules, the demo and the benchmarks may use of the resident registry:
read functions over one municipality's open transaction, the certifier every printed
form names, and the synthetic population loader. Nothing else of this package crosses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from kumomura.platform import params
from kumomura.residents.bulk import load as load_households
from kumomura.residents.params import MODULE, ResidentsParameters
from kumomura.residents.service import (
    addressee,
    adults_on,
    certificates_issued,
    count,
    current,
    mailing_list,
)
from kumomura.residents.synthetic import Population

__all__ = ["Certifier", "Population", "addressee", "adults_on", "certificates_issued",
           "certifier", "count", "current", "load_households", "mailing_list"]


@dataclass(frozen=True)
class Certifier:
    """Who certifies and notifies in the municipality's name (市町村長): its title and
    name, as every certificate and notice prints them."""

    title: str
    name: str

    @property
    def is_set(self) -> bool:
        return bool(self.title and self.name)


def certifier(conn: Connection, on: date) -> Certifier:
    """The certifier in force on a date (the parameters residents.mayor_title and
    mayor_name, which have no national value)."""
    values = params.values_on(conn, MODULE, on)
    assert isinstance(values, ResidentsParameters)
    return Certifier(values.mayor_title, values.mayor_name)
