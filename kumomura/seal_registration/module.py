"""印鑑登録 (seal_registration): registered seals and their certificates.

tables.py, params.py (fee, minimum age), models.py, service.py (register, abolish,
certify, abolition on removal from the registry), forms.py, api.py, cli.py.
"""

from __future__ import annotations

from kumomura.platform.modules import BusinessModule
from kumomura.seal_registration import api, cli
from kumomura.seal_registration.params import MODULE as CODE

MODULE = BusinessModule(code=CODE, router=api.router, cli=cli.app, cli_name="seals")
