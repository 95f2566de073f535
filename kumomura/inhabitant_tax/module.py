"""個人住民税 (inhabitant_tax): the individual inhabitant tax and the 森林環境税.

Where things are: law.py (national values per fiscal year), params.py (what each
municipality sets), rules.py (the calculation as Polars expressions), calculation.py (one
case through the rules), income_data.py (課税資料), service.py (simulate, assessments,
更正, registry departures), batch.py (当初課税 job), api.py and cli.py (interfaces).
"""

from __future__ import annotations

from kumomura.inhabitant_tax import api, cli, ui
from kumomura.inhabitant_tax.params import MODULE as CODE
from kumomura.platform.modules import BusinessModule

MODULE = BusinessModule(code=CODE, router=api.router, ui=ui.ui, cli=cli.app,
                        cli_name="inhabitant-tax")
