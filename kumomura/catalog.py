"""Where every module that declares tables, parameters, events or jobs is imported.

Registries fill at import; this is the one list of those imports, so that migrations,
exports and the isolation tests always see every table.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kumomura.platform.modules import BusinessModule

MODULES = (
    "kumomura.platform.tenancy.tenants",
    "kumomura.platform.identity.auth",
    "kumomura.platform.identity.sessions",
    "kumomura.costs.tables",
    "kumomura.platform.resilience.backup",
    "kumomura.platform.tenancy.usage",
    "kumomura.platform.params",
    "kumomura.platform.events",
    "kumomura.platform.audit",
    "kumomura.platform.jobs.queue",
    "kumomura.platform.storage.numbering",
    "kumomura.residents.tables",
    "kumomura.residents.params",
    "kumomura.seal_registration.tables",
    "kumomura.seal_registration.params",
    "kumomura.seal_registration.service",
    "kumomura.inhabitant_tax.tables",
    "kumomura.inhabitant_tax.params",
    "kumomura.inhabitant_tax.service",
    "kumomura.inhabitant_tax.batch",
    "kumomura.inhabitant_tax.notices",
    "kumomura.platform.exchange.platform_layouts",
    "kumomura.residents.layout",
    "kumomura.seal_registration.layout",
    "kumomura.inhabitant_tax.layout",
)


BUSINESS_MODULES = (
    "kumomura.residents.module",
    "kumomura.seal_registration.module",
    "kumomura.inhabitant_tax.module",
)
"""Each business package's ``module.py``, whose ``MODULE`` the web app and CLI mount."""


def load_all_tables() -> None:
    for name in MODULES:
        importlib.import_module(name)


def business_modules() -> list[BusinessModule]:
    load_all_tables()
    return [importlib.import_module(name).MODULE for name in BUSINESS_MODULES]
