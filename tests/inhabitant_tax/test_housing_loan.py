"""住宅借入金等特別税額控除: a published worked example, the caps, the split, and the credit
through the whole calculation (before the 寄附金税額控除)."""

from __future__ import annotations

import polars as pl
import pytest

from kumomura.inhabitant_tax.calculation import calculate
from kumomura.inhabitant_tax.law import law_for
from kumomura.inhabitant_tax.models import Case
from kumomura.inhabitant_tax.params import STANDARD
from kumomura.inhabitant_tax.rules import Rules
from tests.inhabitant_tax.test_examples import salary_case


def credit(available: int, used: int, income_tax_base: int | None, *, specified: bool = False,
           levy: int = 1_000_000, designated: bool = False,
           taxable_base: int = 0, personal_difference: int = 0) -> tuple[int, int]:
    rules = Rules(law_for(2026), STANDARD.model_copy(update={"designated_city": designated}))
    m, p = levy * 3 // 5, levy * 2 // 5
    row = rules.housing_loan_credit(pl.LazyFrame({
        "taxable_base": [taxable_base], "personal_difference": [personal_difference],
        "income_tax_base": pl.Series([income_tax_base], dtype=pl.Int64),
        "housing_loan_available": [available], "housing_loan_used": [used],
        "housing_loan_specified": [specified], "_m2": [m], "_p2": [p]})).collect().row(
            0, named=True)
    return row["municipal_housing_loan_credit"], row["prefectural_housing_loan_credit"]


def test_published_example_limited_by_five_percent_of_the_income_tax_base() -> None:
    """A municipal 計算例 (平成22年分): 給与収入 450万, 所得控除 2,060,000, 課税総所得金額
    1,000,000, 所得税 50,000 (5%). 控除可能額 200,000: 150,000 not taken by the income tax,
    limited to 1,000,000 × 5% = 50,000 → 50,000 from the inhabitant tax:
    https://paperzz.com/doc/5431502/"""
    assert sum(credit(200_000, 50_000, 1_000_000)) == 50_000
    assert credit(200_000, 50_000, 1_000_000) == (30_000, 20_000)  # 3/5 and 2/5
    # The same case with 控除可能額 70,000: only the 20,000 left over.
    assert sum(credit(70_000, 50_000, 1_000_000)) == 20_000


@pytest.mark.parametrize(("specified", "base", "expected"), [
    (False, 10_000_000, 97_500),    # 5% would be 500,000: the 97,500 cap
    (True, 10_000_000, 136_500),    # 特定取得: 7%, at most 136,500
    (True, 1_000_000, 70_000),      # 7% of 1,000,000
])
def test_caps(specified: bool, base: int, expected: int) -> None:
    assert sum(credit(400_000, 0, base, specified=specified)) == expected


def test_split_rounding_and_the_levy_left() -> None:
    assert credit(1_001, 0, 10_000_000) == (601, 400)  # prefecture rounded down
    assert credit(100_000, 0, 10_000_000, designated=True) == (78_000, 19_500)
    assert credit(100_000, 0, 10_000_000, levy=50_000) == (30_000, 20_000)  # 所得割 left


def test_without_the_income_tax_base_the_inhabitant_tax_base_stands_in() -> None:
    assert sum(credit(200_000, 50_000, None, taxable_base=1_100_000,
                      personal_difference=100_000)) == 50_000


def _borrower(available: int, used: int, **loan: object) -> Case:
    data = salary_case(2026, 6_000_000, spouse_age=40, children=(10,),
                       social_insurance=900_000).model_dump(mode="json")
    data["deductions"]["housing_loan"] = {"available": available, "used": used, **loan}
    return Case.model_validate(data)


def test_through_the_whole_calculation_and_before_the_donation_credit() -> None:
    plain = calculate(_borrower(0, 0), STANDARD)
    loan = calculate(_borrower(300_000, 120_000), STANDARD)
    m, p = loan["municipal"], loan["prefectural"]
    taken = m["housing_loan_credit"] + p["housing_loan_credit"]
    # 課税総所得金額 − 人的控除差 stands in for the income-tax base: 5% of it, under 97,500.
    base = plain["taxable_base"] - plain["personal_difference"]
    assert taken == min(180_000, base * 5 // 100, 97_500)
    assert abs((plain["total"] - loan["total"]) - taken) < 200
    with pytest.raises(ValueError, match="控除可能額を超えています"):
        _borrower(100, 200)
