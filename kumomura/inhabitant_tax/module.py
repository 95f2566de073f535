"""個人住民税 (inhabitant_tax): the individual inhabitant tax and the 森林環境税.

Where things are: law.py (national values per fiscal year), params.py (what each
municipality sets), rules.py (the calculation as Polars expressions), calculation.py (one
case through the rules), income_data.py (課税資料), service.py (simulate, assessments,
更正, registry departures), batch.py (当初課税 job), notices.py (納税通知書 job),
events.py, public.py, layout.py, api.py, ui.py and cli.py (interfaces).
"""

from __future__ import annotations

from pathlib import Path

from kumomura.inhabitant_tax import api, batch, cli, events, layout, notices, public, tables, ui
from kumomura.inhabitant_tax.params import MODULE as CODE
from kumomura.inhabitant_tax.params import PARAMS
from kumomura.inhabitant_tax.service import on_registry_change
from kumomura.platform.modules import BusinessModule, MenuItem, OfflineHooks
from kumomura.residents.events import Died, MovedIn, MovedOut

HERE = Path(__file__).parent

MODULE = BusinessModule(
    code=CODE,
    name="個人住民税",
    package=__package__ or "kumomura.inhabitant_tax",
    tables=(tables.income_returns, tables.income_family, tables.assessments,
            tables.assessment_problems, tables.tax_departures),
    params=PARAMS,
    publishes=events.PUBLISHED,
    handlers={Died: on_registry_change, MovedOut: on_registry_change,
              MovedIn: on_registry_change},
    jobs=(batch.ASSESSMENT_JOB, notices.NOTICES_JOB),
    layouts=layout.LAYOUTS,
    migrations=HERE / "migrations",
    router=api.router,
    pages=ui.ui,
    templates=HERE / "templates",
    cli=cli.app,
    cli_name="inhabitant-tax",
    menu=(MenuItem("/t/{lg}/tax", "個人住民税"),),
    offline=OfflineHooks(layouts=frozenset({"assessments", "income_returns"})),
    public=public,
)
