"""One case through the rules: the case becomes frames of one row, the row a document.

The batch builds the same frames from the database; both go through ``Rules.assess``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from pydantic import ValidationError

from kumomura.inhabitant_tax.law import law_for
from kumomura.inhabitant_tax.models import Case, taxpayer_columns
from kumomura.inhabitant_tax.params import InhabitantTaxParameters
from kumomura.inhabitant_tax.rules import (
    DEDUCTIONS,
    FAMILY_SCHEMA,
    SIDE_FIGURES,
    SIDES,
    TAXPAYER_SCHEMA,
    Rules,
)
from kumomura.platform.core import messages
from kumomura.platform.core.business_days import next_open_day
from kumomura.platform.core.errors import FieldProblem, invalid


def with_overrides(tenant: InhabitantTaxParameters,
                   overrides: dict[str, Any]) -> InhabitantTaxParameters:
    """The tenant's parameters with a what-if change (a council proposal); each broken
    rule is named as ``parameters.<field>``."""
    if not overrides:
        return tenant
    unknown = sorted(set(overrides) - set(InhabitantTaxParameters.model_fields))
    if unknown:
        raise invalid([FieldProblem(f"parameters.{name}", "そのようなパラメータはありません")
                       for name in unknown])
    try:
        return InhabitantTaxParameters.model_validate(
            tenant.model_dump(mode="json") | overrides)
    except ValidationError as exc:
        raise invalid(messages.problems(exc, "parameters")) from None


def check(case: Case) -> None:
    """What the model alone cannot see: the year must be known, nobody born after it."""
    law_for(case.fiscal_year)
    late = case.born_after_income_year()
    if late:
        raise invalid([FieldProblem(f, f"is after the end of the income year "
                                       f"({case.fiscal_year - 1}-12-31)") for f in late])


def case_frames(case: Case, tid: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    row = {"tid": tid, **taxpayer_columns(case.taxpayer, case.deductions),
           "special_collection": case.special_collection}
    family: list[dict[str, Any]] = []
    if case.spouse is not None:
        family.append({"tid": tid, "role": "spouse", **case.spouse.earnings(),
                       "living_together": True, "disability": case.spouse.disability,
                       "ascendant": False})
    family += [{"tid": tid, "role": "dependent", **p.earnings(),
                "living_together": p.living_together, "disability": p.disability,
                "ascendant": p.ascendant} for p in case.dependents]
    return (pl.DataFrame([row], schema=TAXPAYER_SCHEMA),
            pl.DataFrame(family, schema=FAMILY_SCHEMA))


def due_dates(tenant: InhabitantTaxParameters, fiscal_year: int) -> list[date]:
    """普通徴収の納期限 of a fiscal year, moved past closed days."""
    return [next_open_day(date(fiscal_year + (1 if d.month < 4 else 0), d.month, d.day))
            for d in tenant.ordinary_due_dates]


def document(row: dict[str, Any], tenant: InhabitantTaxParameters,
             fiscal_year: int) -> dict[str, Any]:
    """The figures of one assessed row, shaped as the simulate endpoint answers."""
    deductions = {d: row[f"deduction_{d}"] for d in DEDUCTIONS}
    return {
        "fiscal_year": fiscal_year,
        "salary_income": row["salary_income"],
        "pension_income": row["pension_income"],
        "total_income": row["total_income"],
        "income_deductions": deductions | {"total": row["deductions_total"]},
        "taxable_base": row["taxable_base"],
        "personal_difference": row["personal_difference"],
        "income_levy_exempt": row["income_levy_exempt"],
        "per_capita_exempt": row["per_capita_exempt"],
        **{side: {f: row[f"{side}_{f}"] for f in SIDE_FIGURES} for side in SIDES},
        "forest_environment_tax": row["forest_environment_tax"],
        "total": row["total"],
        "ordinary_installments": [row[f"ordinary_{i}"] for i in range(1, 5)],
        "ordinary_due_dates": [d.isoformat() for d in due_dates(tenant, fiscal_year)],
        "special_collection": [row[f"special_{i}"] for i in range(1, 13)],
        "parameters": tenant.model_dump(mode="json"),
    }


def calculate(case: Case, tenant: InhabitantTaxParameters) -> dict[str, Any]:
    """The whole calculation of one case under the tenant's parameters (and the case's
    what-if overrides)."""
    check(case)
    tenant = with_overrides(tenant, case.parameters)
    taxpayers, family = case_frames(case)
    row = Rules(law_for(case.fiscal_year), tenant).assess(taxpayers, family).collect().row(
        0, named=True)
    return document(row, tenant, case.fiscal_year)
