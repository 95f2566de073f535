"""印鑑登録 (seal_registration): registered seals and their certificates.

tables.py, params.py (fee, minimum age), models.py, service.py (register, abolish,
certify, abolition on removal from the registry), events.py, forms.py, layout.py,
api.py, ui.py (the counter's page), cli.py.
"""

from __future__ import annotations

from pathlib import Path

from kumomura.platform.modules import BusinessModule, OfflineHooks
from kumomura.residents.events import Died, MovedOut
from kumomura.seal_registration import api, cli, events, layout, tables, ui
from kumomura.seal_registration.params import MODULE as CODE
from kumomura.seal_registration.params import PARAMS
from kumomura.seal_registration.service import on_resident_removed

HERE = Path(__file__).parent

MODULE = BusinessModule(
    code=CODE,
    name="印鑑登録",
    package=__package__ or "kumomura.seal_registration",
    tables=(tables.seal_registrations, tables.seal_certificate_issues),
    params=PARAMS,
    publishes=events.PUBLISHED,
    handlers={Died: on_resident_removed, MovedOut: on_resident_removed},
    layouts=layout.LAYOUTS,
    migrations=HERE / "migrations",
    router=api.router,
    pages=ui.ui,
    templates=HERE / "templates",
    cli=cli.app,
    cli_name="seals",
    offline=OfflineHooks(layouts=frozenset({"seal_registrations"})),
)
