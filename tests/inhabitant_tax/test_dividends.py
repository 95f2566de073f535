"""配当控除: 新潟市's published example through the whole calculation, and the rates of a
municipality that is not a designated city."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from kumomura.inhabitant_tax.calculation import calculate
from kumomura.inhabitant_tax.law import law_for
from kumomura.inhabitant_tax.models import Case
from kumomura.inhabitant_tax.params import STANDARD
from kumomura.inhabitant_tax.rules import Rules

NIIGATA = STANDARD.model_copy(update={"designated_city": True, "municipal_rate": Decimal(8),
                                      "prefectural_rate": Decimal(2)})


def test_niigata_example() -> None:
    """新潟市 FAQ 配当控除の計算例 (Aさん): 雑所得 6,000,000, 配当所得 6,000,000, 社会保険料
    50,000, 基礎控除 430,000: 課税総所得金額等 11,520,000; the 1,520,000 above 10 million at
    1.12% / 0.28% (17,024 / 4,256), the other 4,480,000 at 2.24% / 0.56% (100,352 /
    25,088): https://www.4894.call.city.niigata.jp/faq.asp?faqno=A0269706"""
    case = Case.model_validate({
        "fiscal_year": 2025,
        "taxpayer": {"birth_date": "1970-06-01", "salary_revenue": 0, "pension_revenue": 0,
                     "other_income": 12_000_000, "dividend_income": 6_000_000},
        "deductions": {"social_insurance": 50_000}})
    out = calculate(case, NIIGATA)
    assert out["taxable_base"] == 11_520_000
    assert out["municipal"]["dividend_credit"] == 17_024 + 100_352
    assert out["prefectural"]["dividend_credit"] == 4_256 + 25_088


def _credit(dividends: int, taxable_base: int, levy: int = 10_000_000) -> tuple[int, int]:
    row = Rules(law_for(2026), STANDARD).dividend_credit(pl.LazyFrame({
        "dividend_income": [dividends], "taxable_base": [taxable_base],
        "_m2": [levy], "_p2": [levy]})).collect().row(0, named=True)
    return row["municipal_dividend_credit"], row["prefectural_dividend_credit"]


def test_standard_rates_and_the_part_above_ten_million() -> None:
    """市町村 1.6% / 県 1.2% within 10 million, 0.8% / 0.6% above (真岡市, 滑川町's tables:
    http://www.town.namegawa.saitama.jp/townsman/zeikin/01/01_12.htm)."""
    assert _credit(1_000_000, 5_000_000) == (16_000, 12_000)
    # 課税総所得金額 12,000,000 with 3,000,000 of dividends: B = 2,000,000 above, A =
    # 1,000,000 within (滑川町's worked sentence).
    assert _credit(3_000_000, 12_000_000) == (16_000 + 16_000, 12_000 + 12_000)
    assert _credit(1_000_001, 5_000_000) == (16_001, 12_001)  # fractions of a yen raised
    assert _credit(1_000_000, 5_000_000, levy=5_000) == (5_000, 5_000)  # the levy left


def test_dividends_are_part_of_the_other_income() -> None:
    with pytest.raises(ValueError, match="配当所得がその他の所得を超えています"):
        Case.model_validate({"fiscal_year": 2026, "taxpayer": {
            "birth_date": "1970-06-01", "salary_revenue": 0, "pension_revenue": 0,
            "other_income": 100, "dividend_income": 200}})
