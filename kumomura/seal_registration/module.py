"""印鑑登録 (seal_registration): registered seals and their certificates.

tables.py, params.py (fee, minimum age), models.py, service.py (register, abolish,
certify, abolition on removal from the registry), forms.py, api.py, ui.py (the counter's
page), cli.py.
"""

from __future__ import annotations

from kumomura.platform.modules import BusinessModule
from kumomura.seal_registration import api, cli, ui
from kumomura.seal_registration.params import MODULE as CODE

MODULE = BusinessModule(code=CODE, router=api.router, ui=ui.ui, cli=cli.app, cli_name="seals")
