"""The municipality's profile as every printed form and address shows it.

Every module that prints (certificates, notices, registers) starts its addresses with
the municipality's prefecture and name, so that profile lives here, not in a module.
"""

from __future__ import annotations

from dataclasses import dataclass

from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import get_tenant


@dataclass(frozen=True)
class Office:
    """The municipality the records belong to, as printed before an address."""

    lg_code: str
    prefix: str  # e.g. 山形県米沢市

    def full_address(self, town: str, line: str | None) -> str:
        return f"{self.prefix}{town}" + (f" {line}" if line else "")


def office_of(db: Database, lg_code: str) -> Office:
    """The municipality as printed before its addresses (prefecture and name)."""
    tenant = get_tenant(db, lg_code)
    return Office(lg_code, f"{tenant.prefecture}{tenant.name}")
