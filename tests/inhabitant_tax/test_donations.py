"""寄附金税額控除 (ふるさと納税): the published worked examples, then the credit through
the whole calculation.

The examples give the figures the credit starts from (所得割 after the 調整控除, the
income-tax rate, 総所得金額等), so the credit is checked on a frame with exactly those;
the 所得割 is split 6:4 as the standard rates split it.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from kumomura.inhabitant_tax.calculation import calculate
from kumomura.inhabitant_tax.law import law_for
from kumomura.inhabitant_tax.models import Case
from kumomura.inhabitant_tax.params import STANDARD
from kumomura.inhabitant_tax.rules import Rules
from tests.inhabitant_tax.test_examples import salary_case


def credit(levy: int, income_tax_base: int, total_income: int, donation: int,
           one_stop: bool, designated: bool = False, both: int = 0, municipal_only: int = 0,
           prefectural_only: int = 0) -> tuple[int, int]:
    """(市町村民税, 道府県民税) credit for a 所得割 ``levy`` after the 調整控除."""
    rules = Rules(law_for(2026), STANDARD.model_copy(update={"designated_city": designated}))
    m, p = levy * 3 // 5, levy * 2 // 5
    frame = pl.LazyFrame({
        "taxable_base": [income_tax_base], "personal_difference": [0],
        "total_income": [total_income], "_m1": [m], "_p1": [p], "_m2": [m], "_p2": [p],
        "donation_furusato": [donation], "donation_one_stop": [one_stop],
        "donation_both": [both], "donation_municipal_only": [municipal_only],
        "donation_prefectural_only": [prefectural_only]})
    row = rules.donation_credit(frame).collect().row(0, named=True)
    return row["municipal_donation_credit"], row["prefectural_donation_credit"]


def test_kurashiki_one_stop_with_the_cap() -> None:
    """倉敷市 ふるさと納税 (寄附金税額控除) の計算例, ワンストップ特例:
    https://www.city.kurashiki.okayama.jp/39728.htm — 総所得金額等 3,000,000, 課税総所得
    1,850,000 (所得税率 5%), 所得割 182,500, 寄附 102,000: 基本 10,000, 特例 84,895 capped
    at 36,500, 申告特例 2,195; 48,695 in all."""
    m, p = credit(182_500, 1_850_000, 3_000_000, 102_000, one_stop=True)
    assert m + p == 48_695
    # Each tax on its own: 6,000 + 21,900 + 1,317 and 4,000 + 14,600 + 878.
    assert (m, p) == (29_217, 19_478)
    # Filing a return instead: the 所得税 part is refunded there, not here.
    assert sum(credit(182_500, 1_850_000, 3_000_000, 102_000, one_stop=False)) == 46_500


def test_shingu_special_part_capped_at_a_fifth_of_the_levy() -> None:
    """新宮町 (福岡県) ふるさと納税の控除額の計算例: 夫婦, 給与収入 400万, 所得税率 5%,
    所得割 146,500, 寄附 50,000 — 基本 4,800, 特例 min(40,750, 29,300) = 29,300:
    https://www.town.shingu.fukuoka.jp/index.cfm/52,9881,328,300,html"""
    assert sum(credit(146_500, 1_500_000, 2_760_000, 50_000, one_stop=False)) == (
        4_800 + 29_300)


def test_special_part_rounded_up_for_each_tax() -> None:
    """The "Aさん" example (給与収入 700万, 配偶者, 所得税率 20%, 所得割 371,500, 寄附
    30,000): 基本 2,800; 特例 19,482.4 → 市 11,690 and 県 7,793, 19,483 (端数切上げ):
    https://expydoc.com/doc/7476490/"""
    m, p = credit(371_500, 4_000_000, 5_200_000, 30_000, one_stop=False)
    assert (m, p) == (1_680 + 11_690, 1_120 + 7_793)


def test_designated_city_shares_and_no_income_tax() -> None:
    # 指定都市: 基本 8% and 2%, 特例 4/5 and 1/5; with 課税総所得金額 − 人的控除差 below
    # zero the 特例 ratio is the whole 90% and nothing is left for 申告特例.
    m, p = credit(500_000, -10_000, 1_000_000, 12_000, one_stop=True, designated=True)
    assert (m, p) == (800 + 7_200, 200 + 1_800)


def test_the_basic_part_counts_donations_up_to_30_percent_of_income() -> None:
    # 総所得金額等 100,000: only 30,000 of the 80,000 given counts for the 基本控除.
    m, p = credit(10_000_000, 100_000, 100_000, 80_000, one_stop=False)
    special = -(-78_000 * 848_950 * 3 // (5 * 1_000_000)), -(-78_000 * 848_950 * 2 // (
        5 * 1_000_000))
    assert (m, p) == (1_680 + special[0], 1_120 + special[1])


def test_other_donations_count_for_the_taxes_that_name_them() -> None:
    """長浜市 寄附金税額控除: 共同募金会・日赤 and donations both ordinances name, 10%;
    "市税条例による指定のみの場合は6%、滋賀県税条例による指定のみの場合は4%":
    https://www.city.nagahama.lg.jp/0000009485.html — no 特例控除 for any of them."""
    levy, base, income = 500_000, 3_000_000, 4_000_000
    assert credit(levy, base, income, 0, False, both=52_000) == (3_000, 2_000)
    assert credit(levy, base, income, 0, False, municipal_only=52_000) == (3_000, 0)
    assert credit(levy, base, income, 0, False, prefectural_only=52_000) == (0, 2_000)
    # With ふるさと納税 30,000: each tax takes 2,000 off what it counts, once.
    m, p = credit(levy, base, income, 30_000, False, municipal_only=20_000)
    special_m, special_p = credit(levy, base, income, 30_000, False)
    assert (m - (special_m - 1_680), p - (special_p - 1_120)) == (2_880, 1_120)


def test_one_stop_only_with_furusato_alone() -> None:
    with pytest.raises(ValueError, match="ワンストップ特例はふるさと納税だけの場合です"):
        _donating(30_000, True, both_extra=10_000)


def _donating(furusato: int, one_stop: bool, both_extra: int = 0, **extra: Any) -> Case:
    base = salary_case(2026, 5_000_000, spouse_age=40, social_insurance=700_000)
    data = base.model_dump(mode="json")
    data["deductions"]["donations"] = {"furusato": furusato, "one_stop": one_stop,
                                       "both": both_extra}
    return Case.model_validate(data | extra)


@pytest.mark.parametrize("one_stop", [False, True])
def test_through_the_whole_calculation(one_stop: bool) -> None:
    """The credit comes off the 所得割 before the 100-yen truncation, and a donor pays
    about the donation less 2,000 yen less what the income tax gives back."""
    plain = calculate(_donating(0, False), STANDARD)
    given = calculate(_donating(30_000, one_stop), STANDARD)
    m, p = given["municipal"], given["prefectural"]
    assert m["donation_credit"] > 0
    assert p["donation_credit"] > 0
    assert plain["municipal"]["donation_credit"] == 0
    saved = plain["total"] - given["total"]
    credits = m["donation_credit"] + p["donation_credit"]
    assert abs(saved - credits) < 200  # each tax is truncated to 100 yen after the credit
    # 課税総所得金額 2,100,000 − 人的控除差 100,000: 所得税率 10%, 特例 79.79%. 基本 2,800;
    # 特例 22,341.2 → 13,405 + 8,937. With ワンストップ also the 10.21% the income tax
    # would have returned: 1,716 + 1,144 (the donor gets 28,000 back, and the 2 yen the
    # rounding up of each part gives).
    assert credits == (28_002 if one_stop else 25_142)
