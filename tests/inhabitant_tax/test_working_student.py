"""勤労学生控除 only for a student with income from work (地方税法第292条第1項第11号,
所得税法第2条第1項第32号): 合計所得金額 within the limit, income from work in it, and no
more than 10万円 of other income. Fiscal year 2025 (令和7年度: income of 2024, the
給与所得控除 at least 55万円, the limit 75万円)."""

from __future__ import annotations

import pytest

from kumomura.inhabitant_tax.calculation import calculate
from kumomura.inhabitant_tax.models import Case
from kumomura.inhabitant_tax.params import STANDARD


def _deduction(salary: int, other: int = 0, dividends: int = 0) -> int:
    case = Case.model_validate({
        "fiscal_year": 2025,
        "taxpayer": {"birth_date": "2004-05-01", "salary_revenue": salary,
                     "pension_revenue": 0, "other_income": other,
                     "dividend_income": dividends, "working_student": True}})
    return int(calculate(case, STANDARD)["income_deductions"]["working_student"])


@pytest.mark.parametrize(("salary", "other", "dividends", "granted"), [
    (1_300_000, 0, 0, True),          # 給与所得 75万: within the limit, from work
    (0, 0, 0, False),                 # no income at all: not a working student
    (0, 750_000, 750_000, False),     # 75万 of dividends only: no income from work
    (1_250_000, 110_000, 0, False),   # 給与所得 70万 and 11万 of other income
    (1_200_000, 100_000, 0, True),    # 給与所得 65万 and exactly 10万 of other income
    (1_310_000, 0, 0, False),         # 給与所得 76万: over the limit
])
def test_the_deduction_needs_income_from_work(salary: int, other: int, dividends: int,
                                              granted: bool) -> None:
    assert _deduction(salary, other, dividends) == (260_000 if granted else 0)
