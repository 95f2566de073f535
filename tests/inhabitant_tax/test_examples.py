"""Worked examples published by municipalities, reproduced through the rules.

Each case names its page; only figures printed on the page are asserted (where a page
stops before the end of the calculation, the test stops there too). Children's ages are
as the page gives them on 31 December of the income year; their birth dates are chosen
to match.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kumomura.inhabitant_tax.calculation import calculate
from kumomura.inhabitant_tax.models import Case
from kumomura.inhabitant_tax.params import STANDARD, InhabitantTaxParameters

DESIGNATED = {"designated_city": True, "municipal_rate": Decimal(8),
              "prefectural_rate": Decimal(2)}
KANAGAWA_DESIGNATED = DESIGNATED | {"prefectural_rate": Decimal("2.025"),
                                    "prefectural_per_capita": 1_300}


def tenant(**overrides: Any) -> InhabitantTaxParameters:
    return STANDARD.model_copy(update=overrides)


def born(age: int, fiscal_year: int) -> str:
    """A birth date giving ``age`` on 31 December of the income year."""
    return f"{fiscal_year - 1 - age}-06-01"


def nobody(age: int, fiscal_year: int, **extra: Any) -> dict[str, Any]:
    """A family member without income."""
    return {"birth_date": born(age, fiscal_year), "salary_revenue": 0, "pension_revenue": 0,
            "other_income": 0, **extra}


def salary_case(fiscal_year: int, salary: int, *, age: int = 45,
                spouse_age: int | None = None, children: tuple[int, ...] = (),
                **deductions: Any) -> Case:
    life = deductions.pop("life", {})
    return Case.model_validate({
        "fiscal_year": fiscal_year,
        "taxpayer": {"birth_date": born(age, fiscal_year), "salary_revenue": salary,
                     "pension_revenue": 0, "other_income": 0},
        "deductions": {**deductions, "life_insurance": life},
        "spouse": None if spouse_age is None else nobody(spouse_age, fiscal_year),
        "dependents": [nobody(a, fiscal_year) for a in children]})


def test_niigata_r8_designated_salary_with_installments() -> None:
    """新潟市 計算例 給与所得者の場合(1), 令和8年度:
    https://www.city.niigata.lg.jp/kurashi/zei/siraberu/kojin/keisanrei.html"""
    case = salary_case(2026, 5_000_000, spouse_age=40, children=(18, 14),
                       social_insurance=500_000)
    out = calculate(case, tenant(**DESIGNATED))
    assert out["salary_income"] == 3_560_000
    d = out["income_deductions"]
    assert (d["social_insurance"], d["spouse"], d["spouse_special"], d["dependents"],
            d["basic"], d["total"]) == (500_000, 330_000, 0, 330_000, 430_000, 1_590_000)
    assert out["taxable_base"] == 1_970_000
    assert out["personal_difference"] == 150_000
    m, p = out["municipal"], out["prefectural"]
    assert (m["computed_income_levy"], p["computed_income_levy"]) == (157_600, 39_400)
    assert (m["adjustment_credit"], p["adjustment_credit"]) == (6_000, 1_500)
    assert (m["income_levy"], p["income_levy"]) == (151_600, 37_900)
    assert (m["per_capita"], p["per_capita"], out["forest_environment_tax"]) == (
        3_000, 1_000, 1_000)
    assert out["total"] == 194_500
    assert out["ordinary_installments"] == [50_500, 48_000, 48_000, 48_000]
    assert out["special_collection"] == [16_300] + [16_200] * 11


def _itami(fiscal_year: int) -> Case:
    return Case.model_validate({
        "fiscal_year": fiscal_year,
        "taxpayer": {"birth_date": born(72, fiscal_year), "salary_revenue": 0,
                     "pension_revenue": 3_000_000, "other_income": 0},
        "deductions": {"social_insurance": 100_000, "medical_expenses": 300_000,
                       "life_insurance": {"new_general": 56_000}},
        "spouse": nobody(71, fiscal_year)})


HYOGO = {"prefectural_per_capita": 1_800}


def test_itami_pension_65_over_with_elderly_spouse() -> None:
    """伊丹市 公的年金の計算例 (令和6年度以後の均等割): https://itami-city.jp/public_info/?pid=3927
    The page applies no 定額減税, so it is reproduced for 令和7年度, where none applies to
    this household; the income and deduction rules are those of the page."""
    out = calculate(_itami(2025), tenant(**HYOGO))
    assert out["pension_income"] == 1_900_000
    d = out["income_deductions"]
    assert (d["medical"], d["social_insurance"], d["life_insurance"], d["spouse"],
            d["basic"], d["total"]) == (205_000, 100_000, 28_000, 380_000, 430_000, 1_143_000)
    assert out["taxable_base"] == 757_000
    m, p = out["municipal"], out["prefectural"]
    assert (m["computed_income_levy"], p["computed_income_levy"]) == (45_420, 30_280)
    assert out["personal_difference"] == 150_000
    assert (m["adjustment_credit"], p["adjustment_credit"]) == (4_500, 3_000)
    assert (m["income_levy"], p["income_levy"]) == (40_900, 27_200)
    assert m["per_capita"] + p["per_capita"] == 4_800
    assert out["total"] == 73_900


def test_itami_in_r6_takes_the_flat_reduction_from_the_first_installment() -> None:
    """The same household in 令和6年度: 定額減税 of 1万円 each for the taxpayer and the
    控除対象配偶者 (地方税法附則第5条の8), from the 所得割, 普通徴収 第1期 first."""
    out = calculate(_itami(2024), tenant(**HYOGO))
    m, p = out["municipal"], out["prefectural"]
    assert m["flat_reduction"] + p["flat_reduction"] == 20_000
    assert m["income_levy"] + p["income_levy"] == 68_100 - 20_000
    assert out["total"] == 73_900 - 20_000
    # Installments of 73,900 are 19,900 + 18,000 × 3; the 20,000 takes all of the first
    # and 100 of the second.
    assert out["ordinary_installments"] == [0, 17_900, 18_000, 18_000]
    assert sum(out["ordinary_installments"]) == out["total"]
    assert out["special_collection"][0] == 0  # nothing withheld in June of 令和6年度
    assert sum(out["special_collection"]) == out["total"]


def test_kawasaki_r6_flat_reduction_split() -> None:
    """川崎市 令和6年度の計算例 (県 2.025%): https://www.city.kawasaki.jp/230/page/0000017243.html"""
    case = salary_case(2024, 7_633_000, age=43, spouse_age=43, children=(17, 11),
                       social_insurance=669_500,
                       life={"new_general": 100_000, "new_pension": 100_000,
                             "care_medical": 100_000})
    out = calculate(case, tenant(**KANAGAWA_DESIGNATED))
    assert out["salary_income"] == 5_769_700
    assert out["income_deductions"]["life_insurance"] == 70_000
    assert out["income_deductions"]["total"] == 1_829_500
    assert out["taxable_base"] == 3_940_000
    m, p = out["municipal"], out["prefectural"]
    assert (m["computed_income_levy"], p["computed_income_levy"]) == (315_200, 79_785)
    assert (m["adjustment_credit"], p["adjustment_credit"]) == (2_000, 500)
    assert (p["flat_reduction"], m["flat_reduction"]) == (8_081, 31_919)


def test_sagamihara_r6_old_and_new_life_insurance() -> None:
    """相模原市 市・県民税・森林環境税の計算例 (令和6年度):
    http://www-host.city.sagamihara.kanagawa.jp/kurashi/1026448/zeikin/1026477/jyuminzei_kojin/1007716.html"""
    case = salary_case(2024, 5_000_000, spouse_age=40, children=(12, 17),
                       social_insurance=500_000,
                       life={"old_general": 120_000, "new_pension": 70_000,
                             "care_medical": 60_000})
    out = calculate(case, tenant(**KANAGAWA_DESIGNATED))
    assert out["salary_income"] == 3_560_000
    assert out["income_deductions"]["life_insurance"] == 70_000
    assert out["income_deductions"]["total"] == 1_660_000
    assert out["taxable_base"] == 1_900_000
    m, p = out["municipal"], out["prefectural"]
    assert (p["computed_income_levy"], m["computed_income_levy"]) == (38_475, 152_000)
    assert (p["adjustment_credit"], m["adjustment_credit"]) == (1_500, 6_000)
    assert m["flat_reduction"] + p["flat_reduction"] == 40_000
    assert (p["per_capita"], m["per_capita"]) == (1_300, 3_000)


def test_yokohama_r7_earthquake_and_rounding_to_the_yen() -> None:
    """横浜市 令和7年度市民税・県民税・森林環境税の計算(例):
    https://www.city.yokohama.lg.jp/kurashi/koseki-zei-hoken/zeikin/y-shizei/kojin-shiminzei-kenminzei/kojin-shiminzei-shosai/kojinkeisan.html"""
    case = salary_case(2025, 5_500_000, spouse_age=40, children=(17, 13),
                       social_insurance=394_800, earthquake_insurance=20_000,
                       life={"new_general": 90_000})
    out = calculate(case, tenant(**KANAGAWA_DESIGNATED))
    assert out["salary_income"] == 3_960_000
    d = out["income_deductions"]
    assert (d["life_insurance"], d["earthquake_insurance"], d["total"]) == (
        28_000, 10_000, 1_522_800)
    assert out["taxable_base"] == 2_437_000
    assert out["municipal"]["computed_income_levy"] == 194_960
    assert out["prefectural"]["computed_income_levy"] == 49_349  # 49,349.25 truncated


def test_nagoya_r7_reduced_municipal_rate() -> None:
    """名古屋市 市民税・県民税の計算例(令和7年度), 市民税 7.7%:
    https://www.city.nagoya.jp/kurashi/zeikin/1037356/1011880/1011883/1011891.html"""
    case = salary_case(2025, 5_505_000, spouse_age=40, children=(19, 16, 12),
                       social_insurance=825_600, life={"old_general": 80_000})
    out = calculate(case, tenant(**DESIGNATED | {"municipal_rate": Decimal("7.7")}))
    assert out["salary_income"] == 3_963_200
    d = out["income_deductions"]
    assert (d["life_insurance"], d["dependents"], d["total"]) == (35_000, 780_000, 2_400_600)
    assert out["taxable_base"] == 1_562_000
    assert out["municipal"]["computed_income_levy"] == 120_274


def test_anjo_r6_minimum_adjustment_credit() -> None:
    """安城市 税額計算 例1: https://www.city.anjo.aichi.jp/kurasu/zeikin/shiminzei/kojinshiminzei/zeigakukeisan.html"""
    case = salary_case(2024, 6_050_000, spouse_age=43, children=(20, 17),
                       social_insurance=236_930, life={"new_general": 120_000})
    out = calculate(case, tenant(prefectural_per_capita=1_500))
    assert out["salary_income"] == 4_398_400
    assert out["income_deductions"]["total"] == 1_804_930
    assert out["taxable_base"] == 2_593_000
    m, p = out["municipal"], out["prefectural"]
    assert (m["computed_income_levy"], p["computed_income_levy"]) == (155_580, 103_720)
    assert out["personal_difference"] == 330_000
    assert (m["adjustment_credit"], p["adjustment_credit"]) == (1_500, 1_000)
    assert m["computed_income_levy"] - m["adjustment_credit"] == 154_080


def test_kasugai_r6_old_contracts_and_specific_dependant() -> None:
    """春日井市 住民税の計算例 計算例1:
    https://www.city.kasugai.lg.jp/kurashi/zei/zei/shiminzei2/zeigakukeisansyouryaku/1022815.html"""
    case = salary_case(2024, 8_000_000, spouse_age=39, children=(20, 17, 13),
                       social_insurance=800_000,
                       life={"old_general": 100_000, "old_pension": 100_000})
    out = calculate(case, tenant())
    assert out["salary_income"] == 6_100_000
    d = out["income_deductions"]
    assert (d["life_insurance"], d["dependents"], d["total"]) == (70_000, 780_000, 2_410_000)
    assert out["taxable_base"] == 3_690_000
    m, p = out["municipal"], out["prefectural"]
    assert (m["computed_income_levy"], p["computed_income_levy"]) == (221_400, 147_600)
    assert out["personal_difference"] == 330_000
    assert m["adjustment_credit"] == 1_500


def test_hadano_r6_kanagawa_rate_in_an_ordinary_city() -> None:
    """秦野市 市民税・県民税の計算をしてみよう (令和6年度, 県 4.025%):
    https://www.city.hadano.kanagawa.jp/www/contents/1001000000202/index.html
    The page prints the deduction amounts, not the payments; the inputs here give them."""
    case = salary_case(2024, 7_000_000, spouse_age=40, children=(20, 17),
                       social_insurance=800_000, life={"new_general": 56_000})
    out = calculate(case, tenant(prefectural_rate=Decimal("4.025"),
                                 prefectural_per_capita=1_300))
    assert out["salary_income"] == 5_200_000
    assert out["income_deductions"]["total"] == 2_368_000
    assert out["taxable_base"] == 2_832_000
    m, p = out["municipal"], out["prefectural"]
    assert (m["computed_income_levy"], p["computed_income_levy"]) == (169_920, 113_988)
    assert out["personal_difference"] == 330_000


def test_hiroshima_income_adjustment_deduction() -> None:
    """広島市 所得金額調整控除の計算例 (令和4年度; these rules held unchanged to 令和7年度):
    https://www.city.hiroshima.lg.jp/soshiki/26/202118.html"""
    case = salary_case(2025, 9_000_000, spouse_age=45, children=(17, 20),
                       social_insurance=900_000, earthquake_insurance=20_000,
                       life={"old_general": 240_000})
    out = calculate(case, tenant(**DESIGNATED))
    assert out["salary_income"] == 7_000_000  # 7,050,000 − (9,000,000 − 8,500,000) × 10%
    assert out["income_deductions"]["total"] == 2_485_000
    assert out["taxable_base"] == 4_515_000
    assert out["personal_difference"] == 330_000
    m, p = out["municipal"], out["prefectural"]
    assert (m["computed_income_levy"], p["computed_income_levy"]) == (361_200, 90_300)
    assert (m["adjustment_credit"], p["adjustment_credit"]) == (2_000, 500)


def test_tanagura_income_levy_just_above_the_exemption() -> None:
    """棚倉町 所得割の非課税限度額による調整 (地方税法附則第3条の3):
    https://www.town.tanagura.fukushima.jp/temporary/page000126.html
    総所得金額等 2,200,000; the page's limit is 350,000 × 5 + 100,000 + 320,000 = 2,170,000
    (the taxpayer and four family members), and the levy may take only the 30,000 above it."""
    case = Case.model_validate({
        "fiscal_year": 2025,
        "taxpayer": {"birth_date": born(45, 2025), "salary_revenue": 0, "pension_revenue": 0,
                     "other_income": 2_200_000},
        "spouse": nobody(45, 2025),
        "dependents": [nobody(8, 2025), nobody(10, 2025), nobody(12, 2025)]})
    out = calculate(case, tenant())
    m, p = out["municipal"], out["prefectural"]
    assert out["total_income"] == 2_200_000
    assert m["threshold_adjustment"] + p["threshold_adjustment"] > 0
    assert m["income_levy"] + p["income_levy"] == 30_000


def test_ukiha_r8_thresholds_grade_3() -> None:
    """うきは市 令和8年度 非課税限度額 (3級地): 均等割 38万 alone, 82万8千 with one;
    所得割 45万 alone (給与 110万): https://www.city.ukiha.fukuoka.jp/kiji0038325/index.html"""
    def out(salary: int, spouse: bool = False) -> dict[str, Any]:
        case = salary_case(2026, salary, spouse_age=40 if spouse else None)
        return calculate(case, tenant(grade=3))

    assert out(1_030_000)["per_capita_exempt"]          # 所得 380,000
    assert not out(1_031_000)["per_capita_exempt"]      # 所得 381,000
    assert out(1_100_000)["income_levy_exempt"]         # 所得 450,000
    assert not out(1_101_000)["income_levy_exempt"]
    assert out(1_478_000, spouse=True)["per_capita_exempt"]      # 所得 828,000
    assert not out(1_479_000, spouse=True)["per_capita_exempt"]
    assert out(1_770_000, spouse=True)["income_levy_exempt"]     # 所得 1,120,000
