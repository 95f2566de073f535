"""住民記録 (residents): the resident registry, the heart every other business reads.

Where things are: tables.py (registry tables), params.py (certifier, fees, notification
periods), models.py (what a notification carries), changes.py (異動), service.py
(search, records, protection orders), certificates.py + forms.py (certificates),
events.py (what it publishes), public.py (what others read), offline.py (degraded
mode), layout.py, api.py, ui.py and cli.py (interfaces).
"""

from __future__ import annotations

from pathlib import Path

from kumomura.platform.modules import BusinessModule, ExtensionPoint, MenuItem, OfflineHooks
from kumomura.residents import api, cli, events, layout, offline, public, tables, ui
from kumomura.residents.params import MODULE as CODE
from kumomura.residents.params import PARAMS
from kumomura.residents.service import registry_problems

HERE = Path(__file__).parent

MODULE = BusinessModule(
    code=CODE,
    name="住民記録",
    package=__package__ or "kumomura.residents",
    tables=(tables.atena, tables.households, tables.changes, tables.resident_versions,
            tables.protection_orders, tables.certificate_issues),
    params=PARAMS,
    publishes=events.PUBLISHED,
    layouts=layout.LAYOUTS,
    import_checks=(registry_problems,),
    migrations=HERE / "migrations",
    router=api.router,
    pages=ui.ui,
    templates=HERE / "templates",
    cli=cli.app,
    cli_name="residents",
    menu=(MenuItem("/t/{lg}/residents", "住民記録"),),
    extension_points=(ExtensionPoint(
        ui.RECORD_NOTES, "(conn, atena_no) -> list[str]: lines the record page shows under "
        "the person (e.g. a town's own benefit paid for them)"),),
    offline=OfflineHooks(layouts=offline.PACKAGE_LAYOUTS, issuance_log=offline.issuance_log,
                         bring_back=offline.bring_back),
    public=public,
)
