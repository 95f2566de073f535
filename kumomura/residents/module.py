"""住民記録 (residents): the resident registry, the heart every other business reads.

Where things are: tables.py (registry tables), params.py (certifier, fees, notification
periods), models.py (what a notification carries), changes.py (異動), service.py
(search, records, protection orders), certificates.py + forms.py (certificates),
api.py and cli.py (interfaces).
"""

from __future__ import annotations

from kumomura.platform.modules import BusinessModule
from kumomura.residents import api, cli, ui
from kumomura.residents.params import MODULE as CODE

MODULE = BusinessModule(code=CODE, router=api.router, ui=ui.ui, cli=cli.app,
                        cli_name="residents")
