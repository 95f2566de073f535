"""The national values of the inhabitant tax, one set per fiscal year (年度).

Every amount the law gives (deduction tables, income limits, the 人的控除差, exemption
thresholds, the 定額減税) is data here, keyed by the fiscal year it applies to, so that a
law change is a new entry and the rules stay as they are. Municipalities cannot change
these; what they set (rates, 均等割, 級地, due dates) is in params.py.

Sources for every figure: levy-rules.md §1 of the shared reference notes, which cite the
municipal and government pages they come from.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kumomura.platform.core.errors import InvalidInput


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Band(_Frozen):
    """One row of a step table: from ``start`` (inclusive) up to the next band's start.

    ``formula`` says how the value follows from the amount x:
    zero → 0; fixed → amount; offset → x + amount; rate → round(x × rate) + amount;
    stepped → round(floor(x / 4,000) × 1,000 × rate) + amount (所得税法 別表第五: below
    6.6 million yen the salary table moves in steps of 4,000 yen of revenue).
    """

    start: int = Field(ge=0)
    formula: Literal["zero", "fixed", "offset", "rate", "stepped"]
    rate: str = "0"
    amount: int = 0

    @field_validator("rate")
    @classmethod
    def _exact(cls, value: str) -> str:
        Fraction(value)
        return value

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.rate)


class StepTable(_Frozen):
    """Bands in ascending order; ``rounding`` is how a rate's fraction of a yen goes."""

    bands: tuple[Band, ...]
    rounding: Literal["floor", "ceil"] = "floor"

    @field_validator("bands")
    @classmethod
    def _ascending(cls, bands: tuple[Band, ...]) -> tuple[Band, ...]:
        starts = [b.start for b in bands]
        if not bands or starts[0] != 0 or starts != sorted(set(starts)):
            raise ValueError("bands must start at 0 and ascend")
        return bands


class Bracket(_Frozen):
    """Up to and including ``up_to``: ``amounts`` (one per taxpayer-income column, or one)."""

    up_to: int
    amounts: tuple[int, ...]


class LawValues(_Frozen):
    """What the law fixes for one fiscal year of the inhabitant tax."""

    fiscal_year: int
    salary_income: StepTable
    """給与所得 from 給与収入 (給与所得控除 applied), 所得税法第28条 and 別表第五."""
    pension_income_under_65: StepTable
    pension_income_65_over: StepTable
    """公的年金等に係る雑所得 by age at 31 December (所得税法第35条, 措置法第41条の15の3)."""
    pension_other_income_tiers: tuple[Bracket, ...]
    """Pension income is raised by amounts[0] when the other income exceeds up_to."""
    income_adjustment_salary_from: int
    income_adjustment_salary_cap: int
    income_adjustment_rate: str
    income_adjustment_each_cap: int
    """所得金額調整控除 (措置法第41条の3の3): (a) rate × (min(revenue, cap) − from);
    (b) min(給与所得, each) + min(年金所得, each) − each."""

    basic: tuple[Bracket, ...]
    """基礎控除 by 合計所得金額 (地方税法第314条の2第2項)."""
    family_income_limit: int
    """合計所得金額 up to which a spouse is 同一生計配偶者 and a relative 扶養親族."""
    spouse_taxpayer_columns: tuple[int, ...]
    """Taxpayer 合計所得金額 limits of the columns of the spouse tables (900万/950万/1,000万)."""
    spouse_general: tuple[int, ...]
    spouse_elderly: tuple[int, ...]
    spouse_special: tuple[Bracket, ...]
    """配偶者特別控除 by the spouse's 合計所得金額 (above family_income_limit), per column."""
    dependent_general: int
    dependent_specific: int
    dependent_elderly: int
    dependent_elderly_parent: int
    specific_relative: tuple[Bracket, ...]
    """特定親族特別控除 (from 令和8年度) for a relative aged 19–22 above the family limit."""
    disability: int
    disability_special: int
    disability_special_together: int
    widow: int
    single_parent: int
    widow_income_limit: int
    working_student: int
    working_student_income_limit: int
    working_student_other_income_limit: int
    life_insurance_new: StepTable
    life_insurance_old: StepTable
    life_insurance_mixed_cap: int
    life_insurance_total_cap: int
    earthquake_rate: str
    earthquake_cap: int
    medical_floor: int
    medical_floor_rate: str
    medical_cap: int

    personal_basic: int
    personal_spouse_general: tuple[int, ...]
    personal_spouse_elderly: tuple[int, ...]
    personal_spouse_special: tuple[Bracket, ...]
    personal_dependent_general: int
    personal_dependent_specific: int
    personal_dependent_elderly: int
    personal_dependent_elderly_parent: int
    personal_disability: int
    personal_disability_special: int
    personal_disability_special_together: int
    personal_widow: int
    personal_single_parent_mother: int
    personal_single_parent_father: int
    personal_working_student: int
    """人的控除額の差 (地方税法第314条の6第1号) that the 調整控除 is built on."""
    adjustment_base_limit: int
    adjustment_rate: str
    adjustment_minimum_basis: int
    adjustment_income_limit: int

    income_levy_exempt_base: int
    income_levy_exempt_addend: int
    income_levy_exempt_family_addend: int
    """所得割の非課税 (地方税法附則第3条の3): base × persons + addend (+ family addend)."""
    per_capita_exempt: dict[int, tuple[int, int]]
    """均等割の非課税 (地方税法第295条第3項, 施行令第47条の3) per 級地: (base, family addend);
    the threshold is base × persons + income_levy_exempt_addend (+ family addend)."""
    special_status_income_limit: int
    """障害者・未成年者・寡婦・ひとり親 are exempt up to this 合計所得金額 (地方税法第295条)."""
    minor_age: int

    forest_environment_tax: int
    """森林環境税 (森林環境税及び森林環境譲与税に関する法律), levied with the 均等割."""

    dividend_threshold: int
    dividend_rates: tuple[str, str]
    """配当控除 (地方税法第314条の9, 附則第5条; 利益の配当等): of the dividends within the
    first ``dividend_threshold`` of 課税総所得金額等, rates[0]; of those in the part above
    it, rates[1] (市町村 4/7 and 道府県 3/7 of each; 指定都市 4/5 and 1/5)."""

    housing_loan_rate: str
    housing_loan_cap: int
    housing_loan_specified_rate: str
    housing_loan_specified_cap: int
    """住宅借入金等特別税額控除 (地方税法附則第5条の4の2): what the income tax could not take
    of the 住宅借入金等特別控除, up to rate × 所得税の課税総所得金額等 and the cap; the
    specified rate and cap for homes lived in from April 2014 to December 2021 bought with
    8% or 10% consumption tax (特定取得, 特別特例取得; 附則第61条's 令和4年 cases)."""

    donation_floor: int
    donation_income_cap: str
    donation_basic_rate: str
    """寄附金税額控除 基本控除 (地方税法第37条の2第1項, 第314条の7第1項): (寄附金, up to
    income_cap × 総所得金額等, − floor) × basic_rate (市町村 6/10, 道府県 4/10 of it;
    指定都市 8/10 and 2/10)."""
    donation_special_base: str
    donation_special_cap: str
    income_tax_brackets: tuple[Bracket, ...]
    """特例控除 (同条第2項, 第11項) for donations to prefectures and municipalities:
    (寄附金 − floor) × (special_base − 所得税率 × surtax), at most special_cap of the
    所得割 after the 調整控除; the 所得税率 from the bracket of 課税総所得金額 − 人的控除差
    (amounts[0] in thousandths), special_base itself when that is below zero."""
    reconstruction_surtax: str
    """復興特別所得税 (東日本大震災からの復興のための施策を実施するために必要な財源の
    確保に関する特別措置法): income tax × 1.021 through 2037."""

    flat_reduction_per_person: int = 0
    flat_reduction_non_qualifying_spouse: int = 0
    flat_reduction_income_limit: int = 0
    flat_reduction_from_first_installment: bool = False
    special_collection_skips_june: bool = False
    """定額減税 (令和6年度: 地方税法附則第5条の8; 令和7年度: 同一生計配偶者の加算)."""

    @property
    def income_year(self) -> int:
        return self.fiscal_year - 1


def _t(*rows: tuple[int, str, str, int], rounding: Literal["floor", "ceil"] = "floor",
       ) -> StepTable:
    return StepTable(bands=tuple(Band(start=s, formula=f, rate=r, amount=a)
                                 for s, f, r, a in rows), rounding=rounding)


def _b(*rows: tuple[int, int | tuple[int, ...]]) -> tuple[Bracket, ...]:
    return tuple(Bracket(up_to=u, amounts=a if isinstance(a, tuple) else (a,)) for u, a in rows)


# 給与所得 for incomes of 2020–2024 (令和3〜7年度), 所得税法別表第五.
SALARY_2020 = _t(
    (0, "zero", "0", 0),
    (551_000, "offset", "0", -550_000),
    (1_619_000, "fixed", "0", 1_069_000),
    (1_620_000, "fixed", "0", 1_070_000),
    (1_622_000, "fixed", "0", 1_072_000),
    (1_624_000, "fixed", "0", 1_074_000),
    (1_628_000, "stepped", "2.4", 100_000),
    (1_800_000, "stepped", "2.8", -80_000),
    (3_600_000, "stepped", "3.2", -440_000),
    (6_600_000, "rate", "0.9", -1_100_000),
    (8_500_000, "offset", "0", -1_950_000),
)

# 令和7年度税制改正: the minimum 給与所得控除 is 65万 from 2025 income (令和8年度). The
# 4,000-yen steps start at 1,900,000 (別表第五 as amended; 彦根市's 令和8年度 table), so
# 1,900,000–1,903,999 gives 1,250,000.
SALARY_2025 = _t(
    (0, "zero", "0", 0),
    (651_000, "offset", "0", -650_000),
    (1_900_000, "stepped", "2.8", -80_000),
    (3_600_000, "stepped", "3.2", -440_000),
    (6_600_000, "rate", "0.9", -1_100_000),
    (8_500_000, "offset", "0", -1_950_000),
)

_PENSION_UPPER = (
    (4_100_001, "rate", "0.85", -685_000),
    (7_700_001, "rate", "0.95", -1_455_000),
    (10_000_001, "offset", "0", -1_955_000),
)
PENSION_UNDER_65 = _t((0, "offset", "0", -600_000), (1_300_001, "rate", "0.75", -275_000),
                      *_PENSION_UPPER)
PENSION_65_OVER = _t((0, "offset", "0", -1_100_000), (3_300_001, "rate", "0.75", -275_000),
                     *_PENSION_UPPER)

# 生命保険料控除 (住民税), 地方税法第314条の2第1項第5号の3; fractions of a yen go up.
LIFE_NEW = _t((0, "rate", "1", 0), (12_001, "rate", "1/2", 6_000),
              (32_001, "rate", "1/4", 14_000), (56_001, "fixed", "0", 28_000), rounding="ceil")
LIFE_OLD = _t((0, "rate", "1", 0), (15_001, "rate", "1/2", 7_500),
              (40_001, "rate", "1/4", 17_500), (70_001, "fixed", "0", 35_000), rounding="ceil")

_COMMON = dict(
    pension_income_under_65=PENSION_UNDER_65,
    pension_income_65_over=PENSION_65_OVER,
    pension_other_income_tiers=_b((10_000_000, 100_000), (20_000_000, 200_000)),
    income_adjustment_salary_from=8_500_000,
    income_adjustment_salary_cap=10_000_000,
    income_adjustment_rate="1/10",
    income_adjustment_each_cap=100_000,
    basic=_b((24_000_000, 430_000), (24_500_000, 290_000), (25_000_000, 150_000)),
    spouse_taxpayer_columns=(9_000_000, 9_500_000, 10_000_000),
    spouse_general=(330_000, 220_000, 110_000),
    spouse_elderly=(380_000, 260_000, 130_000),
    spouse_special=_b(
        (1_000_000, (330_000, 220_000, 110_000)),
        (1_050_000, (310_000, 210_000, 110_000)),
        (1_100_000, (260_000, 180_000, 90_000)),
        (1_150_000, (210_000, 140_000, 70_000)),
        (1_200_000, (160_000, 110_000, 60_000)),
        (1_250_000, (110_000, 80_000, 40_000)),
        (1_300_000, (60_000, 40_000, 20_000)),
        (1_330_000, (30_000, 20_000, 10_000)),
    ),
    dependent_general=330_000,
    dependent_specific=450_000,
    dependent_elderly=380_000,
    dependent_elderly_parent=450_000,
    specific_relative=(),
    disability=260_000,
    disability_special=300_000,
    disability_special_together=530_000,
    widow=260_000,
    single_parent=300_000,
    widow_income_limit=5_000_000,
    working_student=260_000,
    # 所得税法第2条第1項第32号ロ: 給与所得等以外の所得が10万円以下 (地方税法第292条第1項第11号)
    working_student_other_income_limit=100_000,
    life_insurance_new=LIFE_NEW,
    life_insurance_old=LIFE_OLD,
    life_insurance_mixed_cap=28_000,
    life_insurance_total_cap=70_000,
    earthquake_rate="1/2",
    earthquake_cap=25_000,
    medical_floor=100_000,
    medical_floor_rate="5/100",
    medical_cap=2_000_000,
    personal_basic=50_000,
    personal_spouse_general=(50_000, 40_000, 20_000),
    personal_spouse_elderly=(100_000, 60_000, 30_000),
    # 配偶者特別控除 with the spouse's income 48万超50万未満 / 50万以上55万未満.
    personal_spouse_special=_b((499_999, (50_000, 40_000, 20_000)),
                               (549_999, (30_000, 20_000, 10_000))),
    personal_dependent_general=50_000,
    personal_dependent_specific=180_000,
    personal_dependent_elderly=100_000,
    personal_dependent_elderly_parent=130_000,
    personal_disability=10_000,
    personal_disability_special=100_000,
    personal_disability_special_together=220_000,
    personal_widow=10_000,
    personal_single_parent_mother=50_000,
    personal_single_parent_father=10_000,
    personal_working_student=10_000,
    adjustment_base_limit=2_000_000,
    adjustment_rate="5/100",
    adjustment_minimum_basis=50_000,  # 5% of it is the 2,500-yen minimum
    adjustment_income_limit=25_000_000,
    income_levy_exempt_base=350_000,
    income_levy_exempt_addend=100_000,
    income_levy_exempt_family_addend=320_000,
    per_capita_exempt={1: (350_000, 210_000), 2: (315_000, 189_000), 3: (280_000, 168_000)},
    special_status_income_limit=1_350_000,
    minor_age=18,
    forest_environment_tax=1_000,  # from 令和6年度
    dividend_threshold=10_000_000,
    dividend_rates=("28/1000", "14/1000"),
    housing_loan_rate="5/100",
    housing_loan_cap=97_500,
    housing_loan_specified_rate="7/100",
    housing_loan_specified_cap=136_500,
    donation_floor=2_000,
    donation_income_cap="3/10",
    donation_basic_rate="1/10",
    donation_special_base="9/10",
    donation_special_cap="2/10",
    # 所得税法第89条: 5% to 1,950,000, 10%, 20%, 23%, 33%, 40%, 45% above 40,000,000.
    income_tax_brackets=_b((1_950_000, 50), (3_300_000, 100), (6_950_000, 200),
                           (9_000_000, 230), (18_000_000, 330), (40_000_000, 400),
                           (10**15, 450)),
    reconstruction_surtax="1021/1000",
)

LAW: dict[int, LawValues] = {
    2024: LawValues(
        fiscal_year=2024, salary_income=SALARY_2020, family_income_limit=480_000,
        working_student_income_limit=750_000,
        # 令和6年度 定額減税: 1万円 per person, from 所得割, 合計所得金額 1,805万円以下.
        flat_reduction_per_person=10_000, flat_reduction_income_limit=18_050_000,
        flat_reduction_from_first_installment=True, special_collection_skips_june=True,
        **_COMMON),
    2025: LawValues(
        fiscal_year=2025, salary_income=SALARY_2020, family_income_limit=480_000,
        working_student_income_limit=750_000,
        # 令和7年度: 1万円 for a 同一生計配偶者 who was not a 控除対象配偶者 in 令和6年度.
        flat_reduction_non_qualifying_spouse=10_000, flat_reduction_income_limit=18_050_000,
        **_COMMON),
    2026: LawValues(
        fiscal_year=2026, salary_income=SALARY_2025, family_income_limit=580_000,
        working_student_income_limit=850_000,
        **{**_COMMON, "specific_relative": _b(
            (950_000, 450_000), (1_000_000, 410_000), (1_050_000, 310_000),
            (1_100_000, 210_000), (1_150_000, 110_000), (1_200_000, 60_000),
            (1_230_000, 30_000))}),
}


def law_for(fiscal_year: int) -> LawValues:
    """The national values of a fiscal year; any other year is refused, naming the field."""
    try:
        return LAW[fiscal_year]
    except KeyError:
        known = ", ".join(str(y) for y in sorted(LAW))
        raise InvalidInput(f"fiscal year {fiscal_year} is not supported (known: {known})",
                           field="fiscal_year") from None
