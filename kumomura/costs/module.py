"""割り勘 (costs): the consortium's cost sharing, savings guarantee and member reports.

rules.py (allocation by Sainte-Laguë per key), tables.py (items, weights, standalone
costs, usage meters, policies, in the control plane), service.py (inputs, metering,
allocation, reports), forms.py (the published PDF), public.py, api.py, ui.py (the
secretariat's console page), cli.py.
"""

from __future__ import annotations

from pathlib import Path

from kumomura.costs import api, cli, public, tables, ui
from kumomura.platform.modules import BusinessModule

HERE = Path(__file__).parent

MODULE = BusinessModule(
    code="costs",
    name="費用負担 (割り勘)",
    package=__package__ or "kumomura.costs",
    tables=(tables.cost_items, tables.cost_weights, tables.standalone_costs,
            tables.usage_meters, tables.cost_policies),
    platform_migrations=HERE / "migrations",
    router=api.router,
    pages=ui.ui,
    templates=HERE / "templates",
    cli=cli.app,
    cli_name="costs",
    public=public,
)
