"""Where every module that declares tables, parameters, events or jobs is imported.

Registries fill at import; this is the one list of those imports, so that migrations,
exports and the isolation tests always see every table.
"""

from __future__ import annotations

import importlib

MODULES = (
    "kumomura.platform.tenants",
    "kumomura.platform.auth",
    "kumomura.platform.params",
    "kumomura.platform.events",
    "kumomura.platform.audit",
    "kumomura.platform.jobs",
    "kumomura.platform.numbering",
    "kumomura.residents.tables",
    "kumomura.residents.params",
)


def load_all_tables() -> None:
    for name in MODULES:
        importlib.import_module(name)
