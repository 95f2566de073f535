"""The inhabitant-tax calculation, as Polars expressions over frames of taxpayers.

One implementation serves the annual assessment of a whole population and the single
case at the counter: a case is a frame of one row. Amounts are Int64 yen; rates are exact
fractions applied as integer products; every rounding is a named helper that says whose
rule it is. The order follows the published examples (levy-rules.md §1.7):
incomes → deductions → 課税標準 → 算出所得割 → 調整控除 → 非課税の調整 → 配当控除 →
住宅借入金等特別税額控除 → 寄附金税額控除 → 定額減税 → 100-yen truncation → 均等割 and
森林環境税 → installments.

Two frames go in: ``taxpayers`` (one row per taxpayer, key ``tid``) and ``family`` (the
spouse and dependants, one row each, key ``tid``). ``assess`` returns one row per
taxpayer with every figure the notices and the simulate endpoint show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import reduce

import polars as pl

from kumomura.inhabitant_tax.law import Bracket, LawValues, StepTable
from kumomura.inhabitant_tax.params import InhabitantTaxParameters

I64 = pl.Int64

TAXPAYER_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "tid": I64,
    "birth_date": pl.Date,
    "salary_revenue": I64,
    "pension_revenue": I64,
    "other_income": I64,
    "dividend_income": I64,
    "disability": pl.String,
    "widow": pl.Boolean,
    "single_parent": pl.String,
    "working_student": pl.Boolean,
    "livelihood_assistance": pl.Boolean,
    "social_insurance": I64,
    "life_new_general": I64,
    "life_old_general": I64,
    "life_new_pension": I64,
    "life_old_pension": I64,
    "life_care_medical": I64,
    "earthquake_insurance": I64,
    "medical_expenses": I64,
    "donation_furusato": I64,
    "donation_one_stop": pl.Boolean,
    "donation_both": I64,
    "donation_municipal_only": I64,
    "donation_prefectural_only": I64,
    "housing_loan_available": I64,
    "housing_loan_used": I64,
    "housing_loan_specified": pl.Boolean,
    "income_tax_base": I64,
    "special_collection": pl.Boolean,
}

FAMILY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "tid": I64,
    "role": pl.String,  # "spouse" or "dependent"
    "birth_date": pl.Date,
    "salary_revenue": I64,
    "pension_revenue": I64,
    "other_income": I64,
    "living_together": pl.Boolean,
    "disability": pl.String,
    "ascendant": pl.Boolean,
}

DEDUCTIONS = ("social_insurance", "life_insurance", "earthquake_insurance", "medical",
              "basic", "spouse", "spouse_special", "dependents", "specific_relative",
              "disability", "widow", "single_parent", "working_student")
"""所得控除, in the order of 地方税法第314条の2."""

SIDES = ("municipal", "prefectural")
SIDE_FIGURES = ("computed_income_levy", "adjustment_credit", "threshold_adjustment",
                "dividend_credit", "housing_loan_credit", "donation_credit", "flat_reduction",
                "income_levy", "per_capita")

OUTPUT_COLUMNS = (
    "tid", "salary_income", "pension_income", "total_income",
    *(f"deduction_{d}" for d in DEDUCTIONS), "deductions_total", "taxable_base",
    "personal_difference", "income_levy_exempt", "per_capita_exempt",
    *(f"{s}_{f}" for s in SIDES for f in SIDE_FIGURES),
    "forest_environment_tax", "total",
    *(f"ordinary_{i}" for i in range(1, 5)), *(f"special_{i}" for i in range(1, 13)),
    "special_collection",
)
"""special_1 is June, special_12 May of the next year."""


# --- rounding: each named for the rule that sets it --------------------------------------

def times(x: pl.Expr, rate: Fraction, rounding: str = "floor") -> pl.Expr:
    """x × rate in integers; ``floor`` drops and ``ceil`` raises a fraction of a yen."""
    num, den = rate.numerator, rate.denominator
    if rounding == "ceil":
        return -((-x * num) // den)
    return (x * num) // den


def floor_yen(x: pl.Expr, rate: Fraction) -> pl.Expr:
    """算出税額: tax at a rate, fractions of a yen dropped (地方税法第20条の4の2第2項の例)."""
    return times(x, rate)


def ceil_credit(x: pl.Expr, num: int | pl.Expr, den: int | pl.Expr) -> pl.Expr:
    """寄附金税額控除額: fractions of a yen raised, for each tax on its own (the published
    examples: 19,482.4 × 3/5 → 市 11,690, × 2/5 → 県 7,793; 倉敷市's 申告特例控除 2,195)."""
    return -((-x * num) // den)


def floor_base_1000(x: pl.Expr) -> pl.Expr:
    """課税標準: below 1,000 yen dropped (地方税法第20条の4の2第1項)."""
    return (x // 1000) * 1000


def floor_tax_100(x: pl.Expr) -> pl.Expr:
    """確定税額 (所得割): below 100 yen dropped (地方税法第20条の4の2第3項)."""
    return (x // 100) * 100


def floor_to(x: pl.Expr, unit: int) -> pl.Expr:
    """Installment amounts in whole units; the caller gives the fraction to the first one
    (地方税法第20条の4の2第6項 for 普通徴収, 第321条の5第1項 for 特別徴収)."""
    return (x // unit) * unit


# --- generic table evaluation -------------------------------------------------------------

def step(x: pl.Expr, table: StepTable) -> pl.Expr:
    """The value of a step table at x (see law.Band for the formulas)."""
    def value(band_index: int) -> pl.Expr:
        band = table.bands[band_index]
        match band.formula:
            case "zero":
                return pl.lit(0, I64)
            case "fixed":
                return pl.lit(band.amount, I64)
            case "offset":
                return x + band.amount
            case "rate":
                return times(x, band.fraction, table.rounding) + band.amount
            case _:  # stepped: 所得税法別表第五, revenue in steps of 4,000 yen
                return times((x // 4000) * 1000, band.fraction, table.rounding) + band.amount

    result: pl.Expr = pl.lit(0, I64)
    for i, band in enumerate(table.bands):  # ascending: the highest band that applies wins
        result = pl.when(x >= band.start).then(value(i)).otherwise(result)
    return result


def bracket(x: pl.Expr, brackets: tuple[Bracket, ...], column: pl.Expr | int = 0,
            above: int = 0) -> pl.Expr:
    """The amount of the first bracket whose ``up_to`` is at least x; ``above`` past them."""
    if not brackets:
        return pl.lit(above, I64)

    def pick(b: Bracket) -> pl.Expr:
        if isinstance(column, int):
            return pl.lit(b.amounts[column], I64)
        return by_column(column, b.amounts)

    result: pl.Expr = pl.lit(above, I64)
    for b in reversed(brackets):  # the lowest bracket that holds x wins
        result = pl.when(x <= b.up_to).then(pick(b)).otherwise(result)
    return result


def by_column(column: pl.Expr, amounts: tuple[int, ...]) -> pl.Expr:
    """amounts[column] for a column index computed per row."""
    if len(amounts) == 1:
        return pl.lit(amounts[0], I64)
    return reduce(lambda acc, i: pl.when(column == i).then(pl.lit(amounts[i], I64))
                  .otherwise(acc), range(len(amounts) - 1), pl.lit(amounts[-1], I64))


def age_on_year_end(birth: pl.Expr, year: int) -> pl.Expr:
    """Age on 31 December of ``year``. 年齢計算ニ関スル法律: a year is gained on the day
    before the birthday, so someone born on 1 January is already a year older then."""
    born_jan_1 = (birth.dt.month() == 1) & (birth.dt.day() == 1)
    return pl.lit(year, I64) - birth.dt.year().cast(I64) + born_jan_1.cast(I64)


def age_on_new_year(birth: pl.Expr, year: int) -> pl.Expr:
    """Age on 1 January of ``year`` (the 賦課期日, 地方税法第318条), same law: those born on
    1 or 2 January have had their birthday's eve by then."""
    had = (birth.dt.month() == 1) & (birth.dt.day() <= 2)
    return pl.lit(year, I64) - birth.dt.year().cast(I64) - (~had).cast(I64)


def clip0(x: pl.Expr) -> pl.Expr:
    return pl.max_horizontal(x, pl.lit(0, I64))


# --- the calculation ----------------------------------------------------------------------

@dataclass(frozen=True)
class Rules:
    """The rules of one fiscal year for one municipality's parameters."""

    law: LawValues
    tenant: InhabitantTaxParameters

    # incomes

    def _salary_income(self, revenue: pl.Expr) -> pl.Expr:
        return step(revenue, self.law.salary_income)

    def _pension_income(self, revenue: pl.Expr, age: pl.Expr, other: pl.Expr) -> pl.Expr:
        """公的年金等に係る雑所得; the deduction shrinks when the other income is large."""
        law = self.law
        base = (pl.when(age >= 65).then(step(revenue, law.pension_income_65_over))
                .otherwise(step(revenue, law.pension_income_under_65)))
        raised = pl.lit(0, I64)
        for tier in law.pension_other_income_tiers:  # ascending: the highest tier wins
            raised = pl.when(other > tier.up_to).then(pl.lit(tier.amounts[0], I64)) \
                .otherwise(raised)
        raised = base + raised
        return pl.min_horizontal(clip0(raised), revenue)

    def _incomes(self, frame: pl.LazyFrame, age: pl.Expr,
                 adjustment_a: pl.Expr) -> pl.LazyFrame:
        """給与所得 (after 所得金額調整控除), 公的年金等に係る雑所得 and 合計所得金額."""
        law = self.law
        rev = pl.col("salary_revenue")
        a = (pl.when(adjustment_a & (rev > law.income_adjustment_salary_from))
             .then(times(pl.min_horizontal(rev, pl.lit(law.income_adjustment_salary_cap))
                         - law.income_adjustment_salary_from,
                         Fraction(law.income_adjustment_rate), "ceil"))
             .otherwise(0))
        each = law.income_adjustment_each_cap
        return (frame
                .with_columns(_salary_a=clip0(self._salary_income(rev) - a))
                .with_columns(pension_income=self._pension_income(
                    pl.col("pension_revenue"), age,
                    pl.col("_salary_a") + pl.col("other_income")))
                .with_columns(salary_income=pl.col("_salary_a") - pl.when(
                    (pl.col("_salary_a") > 0) & (pl.col("pension_income") > 0))
                    .then(clip0(pl.min_horizontal("_salary_a", pl.lit(each))
                                + pl.min_horizontal("pension_income", pl.lit(each)) - each))
                    .otherwise(0))
                .with_columns(total_income=pl.col("salary_income") + pl.col("pension_income")
                              + pl.col("other_income"))
                .drop("_salary_a"))

    # family

    def _family_counts(self, family: pl.LazyFrame) -> pl.LazyFrame:
        """Per taxpayer: who of the family counts for which deduction and threshold."""
        law = self.law
        year = law.income_year
        limit = law.family_income_limit
        age = age_on_year_end(pl.col("birth_date"), year)
        fam = self._incomes(family.with_columns(_age=age), pl.col("_age"), pl.lit(False))
        spouse = pl.col("role") == "spouse"
        dep = pl.col("role") == "dependent"
        within = pl.col("total_income") <= limit
        a = pl.col("_age")
        counted = within  # 同一生計配偶者 or 扶養親族 (年少を含む)
        elderly = a >= 70
        parent = elderly & pl.col("living_together") & pl.col("ascendant")
        relative_special = (dep & (a >= 19) & (a <= 22) & ~within)
        n = pl.col
        return (fam.with_columns(
            c_spouse=(spouse & within).cast(I64),
            c_spouse_elderly=(spouse & within & elderly).cast(I64),
            c_spouse_special_income=pl.when(spouse & ~within).then(n("total_income"))
            .otherwise(None),
            c_dep_minor=(dep & within & (a < 16)).cast(I64),
            c_dep_specific=(dep & within & (a >= 19) & (a <= 22)).cast(I64),
            c_dep_elderly=(dep & within & elderly & ~parent).cast(I64),
            c_dep_elderly_parent=(dep & within & parent).cast(I64),
            c_dep_general=(dep & within & (((a >= 16) & (a <= 18)) | ((a >= 23) & (a < 70))))
            .cast(I64),
            c_dep_under_23=(dep & within & (a < 23)).cast(I64),
            c_specific_relative=pl.when(relative_special)
            .then(bracket(n("total_income"), law.specific_relative)).otherwise(0),
            c_disabled=(counted & (n("disability") == "general")).cast(I64),
            c_disabled_special=(counted & (n("disability") == "special")
                                & ~(spouse | n("living_together"))).cast(I64),
            c_disabled_special_together=(counted & (n("disability") == "special")
                                         & (spouse | n("living_together"))).cast(I64),
        ).group_by("tid").agg(
            pl.col("^c_.*$").exclude("c_spouse_special_income").sum(),
            pl.col("c_spouse_special_income").max(),
        ))

    # deductions

    def _life_insurance(self) -> pl.Expr:
        """生命保険料控除: per category the better of the old contract alone or new and old
        together up to the mixed cap; all categories together up to the total cap."""
        law = self.law

        def category(new: str, old: str) -> pl.Expr:
            n = step(pl.col(new), law.life_insurance_new)
            o = step(pl.col(old), law.life_insurance_old)
            mixed = pl.min_horizontal(n + o, pl.lit(law.life_insurance_mixed_cap))
            return pl.max_horizontal(o, mixed)

        care = step(pl.col("life_care_medical"), law.life_insurance_new)
        total = (category("life_new_general", "life_old_general")
                 + category("life_new_pension", "life_old_pension") + care)
        return pl.min_horizontal(total, pl.lit(law.life_insurance_total_cap))

    def _deductions(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        law = self.law
        c = pl.col
        income = c("total_income")
        column = (pl.when(income <= law.spouse_taxpayer_columns[0]).then(0)
                  .when(income <= law.spouse_taxpayer_columns[1]).then(1).otherwise(2))
        spouse_allowed = income <= law.spouse_taxpayer_columns[-1]
        single = c("single_parent").is_not_null() & (income <= law.widow_income_limit)
        widow = c("widow") & c("single_parent").is_null() & (income <= law.widow_income_limit)
        # 勤労学生 (地方税法第292条第1項第11号, 所得税法第2条第1項第32号): 合計所得金額が
        # 限度以下で、給与所得等を含み、給与所得等以外の所得が10万円以下. The income from
        # work this system holds is the salary income; pensions and other income are not.
        student = (c("working_student") & (income <= law.working_student_income_limit)
                   & (c("salary_income") > 0)
                   & (income - c("salary_income") <= law.working_student_other_income_limit))
        frame = frame.with_columns(
            _column=column,
            _single=single,
            _widow=widow,
            _student=student,
            deduction_social_insurance=c("social_insurance"),
            deduction_life_insurance=self._life_insurance(),
            deduction_earthquake_insurance=pl.min_horizontal(
                times(c("earthquake_insurance"), Fraction(law.earthquake_rate), "ceil"),
                pl.lit(law.earthquake_cap)),
            deduction_medical=pl.min_horizontal(clip0(c("medical_expenses") - pl.min_horizontal(
                times(income, Fraction(law.medical_floor_rate)), pl.lit(law.medical_floor))),
                pl.lit(law.medical_cap)),
            deduction_basic=bracket(income, law.basic),
            deduction_spouse=pl.when(spouse_allowed & (c("c_spouse") > 0)).then(
                pl.when(c("c_spouse_elderly") > 0).then(by_column(column, law.spouse_elderly))
                .otherwise(by_column(column, law.spouse_general))).otherwise(0),
            deduction_spouse_special=pl.when(
                spouse_allowed & c("c_spouse_special_income").is_not_null()).then(
                bracket(c("c_spouse_special_income").fill_null(0), law.spouse_special, column))
            .otherwise(0),
            deduction_dependents=(c("c_dep_general") * law.dependent_general
                                  + c("c_dep_specific") * law.dependent_specific
                                  + c("c_dep_elderly") * law.dependent_elderly
                                  + c("c_dep_elderly_parent") * law.dependent_elderly_parent),
            deduction_specific_relative=c("c_specific_relative"),
            deduction_disability=(
                pl.when(c("disability") == "special").then(law.disability_special)
                .when(c("disability") == "general").then(law.disability).otherwise(0)
                + c("c_disabled") * law.disability
                + c("c_disabled_special") * law.disability_special
                + c("c_disabled_special_together") * law.disability_special_together),
            deduction_widow=pl.when(widow).then(law.widow).otherwise(0),
            deduction_single_parent=pl.when(single).then(law.single_parent).otherwise(0),
            deduction_working_student=pl.when(student).then(law.working_student).otherwise(0),
        )
        return frame.with_columns(
            deductions_total=pl.sum_horizontal(*(f"deduction_{d}" for d in DEDUCTIONS)))

    def _personal_difference(self) -> pl.Expr:
        """人的控除額の差の合計 (地方税法第314条の6第1号イ, 別表)."""
        law = self.law
        c = pl.col
        column = c("_column")
        spouse = (pl.when(c("deduction_spouse") == 0).then(0)
                  .when(c("c_spouse_elderly") > 0)
                  .then(by_column(column, law.personal_spouse_elderly))
                  .otherwise(by_column(column, law.personal_spouse_general)))
        spouse_special = pl.when(c("deduction_spouse_special") > 0).then(
            bracket(c("c_spouse_special_income").fill_null(0), law.personal_spouse_special,
                    column)).otherwise(0)
        single = (pl.when(~c("_single")).then(0)
                  .when(c("single_parent") == "mother").then(law.personal_single_parent_mother)
                  .otherwise(law.personal_single_parent_father))
        return (pl.when(c("deduction_basic") > 0).then(law.personal_basic).otherwise(0)
                + spouse + spouse_special
                + c("c_dep_general") * law.personal_dependent_general
                + c("c_dep_specific") * law.personal_dependent_specific
                + c("c_dep_elderly") * law.personal_dependent_elderly
                + c("c_dep_elderly_parent") * law.personal_dependent_elderly_parent
                + pl.when(c("disability") == "special").then(law.personal_disability_special)
                .when(c("disability") == "general").then(law.personal_disability).otherwise(0)
                + c("c_disabled") * law.personal_disability
                + c("c_disabled_special") * law.personal_disability_special
                + c("c_disabled_special_together") * law.personal_disability_special_together
                + pl.when(c("_widow")).then(law.personal_widow).otherwise(0)
                + single
                + pl.when(c("_student")).then(law.personal_working_student).otherwise(0))

    # the levy

    def _split(self) -> tuple[Fraction, Fraction]:
        """How the municipality and the prefecture share what the law gives as one amount
        or rate (調整控除 第314条の6 and 第37条, the 非課税の調整 附則第3条の3第4項, the
        寄附金 and 住宅借入金 credits): 3/5 and 2/5, in a designated city 4/5 and 1/5."""
        prefectural = Fraction(1, 5) if self.tenant.designated_city else Fraction(2, 5)
        return 1 - prefectural, prefectural

    def _levy(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        law, tenant = self.law, self.tenant
        c = pl.col
        income = c("total_income")
        base = c("taxable_base")
        persons = 1 + c("c_spouse") + c("c_dep_general") + c("c_dep_specific") \
            + c("c_dep_elderly") + c("c_dep_elderly_parent") + c("c_dep_minor")
        has_family = persons > 1
        income_limit = (persons * law.income_levy_exempt_base + law.income_levy_exempt_addend
                        + pl.when(has_family).then(law.income_levy_exempt_family_addend)
                        .otherwise(0))
        pc_base, pc_family = law.per_capita_exempt[tenant.grade]
        per_capita_limit = (persons * pc_base + law.income_levy_exempt_addend
                            + pl.when(has_family).then(pc_family).otherwise(0))
        minor = age_on_new_year(c("birth_date"), law.fiscal_year) < law.minor_age
        special_status = (c("disability").is_not_null() | minor | c("_widow") | c("_single"))
        wholly_exempt = c("livelihood_assistance") | (
            special_status & (income <= law.special_status_income_limit))

        # 調整控除: on the smaller of the 人的控除差 and the base up to 2 million; above it
        # on what is left of the difference, with a minimum of 2,500 yen in all.
        diff = c("personal_difference")
        basis = (pl.when(income > law.adjustment_income_limit).then(0)
                 .when(base <= law.adjustment_base_limit).then(pl.min_horizontal(diff, base))
                 .otherwise(pl.max_horizontal(diff - (base - law.adjustment_base_limit),
                                              pl.lit(law.adjustment_minimum_basis))))
        adjustment_rate = Fraction(law.adjustment_rate)
        m_share, p_share = (adjustment_rate * share for share in self._split())
        # The prefecture bears its share of the exemption adjustment, the municipality the
        # rest.
        threshold_pref_share = self._split()[1]
        frame = frame.with_columns(
            income_levy_exempt=wholly_exempt | (income <= income_limit),
            per_capita_exempt=wholly_exempt | (income <= per_capita_limit),
            municipal_computed_income_levy=floor_yen(base, tenant.municipal_fraction),
            prefectural_computed_income_levy=floor_yen(base, tenant.prefectural_fraction),
            _basis=basis,
            _income_limit=income_limit,
        ).with_columns(
            municipal_adjustment_credit=pl.min_horizontal(
                times(c("_basis"), m_share), c("municipal_computed_income_levy")),
            prefectural_adjustment_credit=pl.min_horizontal(
                times(c("_basis"), p_share), c("prefectural_computed_income_levy")),
        ).with_columns(
            _m1=c("municipal_computed_income_levy") - c("municipal_adjustment_credit"),
            _p1=c("prefectural_computed_income_levy") - c("prefectural_adjustment_credit"),
        ).with_columns(
            # 所得割の非課税 just above the threshold: the levy may not bring the income
            # below it (adjustment = levy − (income − threshold)).
            _over=clip0((c("_m1") + c("_p1")) - clip0(income - c("_income_limit"))),
        ).with_columns(
            prefectural_threshold_adjustment=pl.when(c("income_levy_exempt")).then(0)
            .otherwise(pl.min_horizontal(times(c("_over"), threshold_pref_share), c("_p1"))),
        ).with_columns(
            municipal_threshold_adjustment=pl.when(c("income_levy_exempt")).then(0)
            .otherwise(pl.min_horizontal(c("_over") - c("prefectural_threshold_adjustment"),
                                         c("_m1"))),
        ).with_columns(
            _m2=pl.when(c("income_levy_exempt")).then(0)
            .otherwise(c("_m1") - c("municipal_threshold_adjustment")),
            _p2=pl.when(c("income_levy_exempt")).then(0)
            .otherwise(c("_p1") - c("prefectural_threshold_adjustment")),
        )
        # The 税額控除 in the law's order, each from what the ones before it left.
        for credit, name in ((self.dividend_credit, "dividend_credit"),
                             (self.housing_loan_credit, "housing_loan_credit"),
                             (self.donation_credit, "donation_credit")):
            frame = credit(frame).with_columns(_m2=c("_m2") - c(f"municipal_{name}"),
                                               _p2=c("_p2") - c(f"prefectural_{name}"))
        return self._flat_reduction(frame).with_columns(
            municipal_income_levy=floor_tax_100(c("_m2") - c("municipal_flat_reduction")),
            prefectural_income_levy=floor_tax_100(c("_p2") - c("prefectural_flat_reduction")),
            municipal_per_capita=pl.when(c("per_capita_exempt")).then(0)
            .otherwise(tenant.municipal_per_capita),
            prefectural_per_capita=pl.when(c("per_capita_exempt")).then(0)
            .otherwise(tenant.prefectural_per_capita),
            forest_environment_tax=pl.when(c("per_capita_exempt")).then(0)
            .otherwise(law.forest_environment_tax),
        ).with_columns(
            total=c("municipal_income_levy") + c("prefectural_income_levy")
            + c("municipal_per_capita") + c("prefectural_per_capita")
            + c("forest_environment_tax"))

    def dividend_credit(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """配当控除 (地方税法第314条の9, 附則第5条) for 利益の配当等 taxed with the other
        income: the dividends in the part of 課税総所得金額等 above 10 million yen are
        counted first (新潟市: 1,520,000 of 6,000,000), at the lower rates; the rest at the
        full ones. 市町村 1.6% / 0.8%, 道府県 1.2% / 0.6% (指定都市 2.24% / 1.12% and
        0.56% / 0.28%), each at most what is left of its 所得割, fractions of a yen raised
        as the other credits' are."""
        law = self.law
        c = pl.col
        dividends = c("dividend_income")
        above = pl.min_horizontal(dividends, clip0(c("taxable_base")
                                                    - law.dividend_threshold))
        within = dividends - above
        full, half = (Fraction(r) for r in law.dividend_rates)
        # 1.6% and 1.2% of 2.8% (4/7, 3/7); in a designated city the usual split.
        m_share = self._split()[0] if self.tenant.designated_city else Fraction(4, 7)

        def side(share: Fraction, left: str) -> pl.Expr:
            a, b = full * share, half * share
            den = a.denominator * b.denominator
            exact = within * (a.numerator * b.denominator) + above * (b.numerator * a.denominator)
            return pl.min_horizontal(ceil_credit(exact, 1, den), clip0(c(left)))

        return frame.with_columns(municipal_dividend_credit=side(m_share, "_m2"),
                                  prefectural_dividend_credit=side(1 - m_share, "_p2"))

    def housing_loan_credit(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """住宅借入金等特別税額控除 (地方税法附則第5条の4の2): what the income tax could not
        take of its 住宅借入金等特別控除 (控除可能額 − 控除した額), up to 5% of 所得税の課税
        総所得金額等 and 97,500 yen (7% and 136,500 for the specified homes), split 3/5 to
        the municipality and 2/5 to the prefecture (指定都市 4/5 and 1/5), each at most
        what is left of its 所得割. The prefecture's part is rounded down and the
        municipality takes the rest, so the whole credit is given (no source states the
        split's rounding). Without 所得税の課税総所得金額等 on the return, 住民税の課税総所得
        金額 − 人的控除差 stands in for it (the difference the two taxes' 人的控除 make)."""
        law = self.law
        c = pl.col
        base = pl.coalesce(c("income_tax_base"),
                           clip0(c("taxable_base") - c("personal_difference")))
        specified = c("housing_loan_specified")
        limit = pl.when(specified).then(pl.min_horizontal(
            times(base, Fraction(law.housing_loan_specified_rate)),
            pl.lit(law.housing_loan_specified_cap))).otherwise(pl.min_horizontal(
                times(base, Fraction(law.housing_loan_rate)), pl.lit(law.housing_loan_cap)))
        left = clip0(c("housing_loan_available") - c("housing_loan_used"))
        credit = pl.min_horizontal(left, limit)
        prefectural_share = self._split()[1]
        return frame.with_columns(_housing=credit).with_columns(
            prefectural_housing_loan_credit=pl.min_horizontal(
                times(c("_housing"), prefectural_share), clip0(c("_p2"))),
            municipal_housing_loan_credit=pl.min_horizontal(
                c("_housing") - times(c("_housing"), prefectural_share), clip0(c("_m2"))))

    def donation_credit(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """寄附金税額控除, each tax on its own (地方税法第37条の2, 第314条の7; 申告特例控除
        附則第7条の2), for ふるさと納税 and the other donations the taxes name:

        - 基本控除: (寄附金 up to 30% of 総所得金額等 − 2,000) × 10%, 市町村 6% and
          道府県 4% (指定都市 8% and 2%);
        - 特例控除: (寄附金 − 2,000) × (90% − 所得税率 × 1.021), 市町村 3/5 and 道府県
          2/5 (指定都市 4/5, 1/5), each at most 20% of its 所得割 after the 調整控除;
        - 申告特例控除 (ワンストップ特例): the 特例控除 × 所得税率 × 1.021 ÷ (90% −
          所得税率 × 1.021), the income tax the donor would have had back.

        The credits come off the 所得割 after the 非課税の調整 and never below zero. Uses
        the columns taxable_base, personal_difference, total_income, _m1/_p1 (所得割 after
        the 調整控除), _m2/_p2 (after the 非課税の調整) and the donation columns."""
        law = self.law
        c = pl.col
        floor = law.donation_floor
        given = c("donation_furusato")
        # What each tax counts for its 基本控除: ふるさと納税, donations both taxes' laws or
        # ordinances name (共同募金会, 日本赤十字社の支部, 条例指定 by both), and those only its
        # own ordinance names (長浜市: "市税条例による指定のみの場合は6%、…県税条例による
        # 指定のみの場合は4%"); up to 30% of 総所得金額等, less 2,000, each tax on its own.
        # Kept exact as a multiple of the cap's denominator (30% of an income need not be
        # whole yen).
        income_cap = Fraction(law.donation_income_cap)
        scale = income_cap.denominator
        common = given + c("donation_both")

        def basic_base(own: str) -> pl.Expr:
            return clip0(pl.min_horizontal((common + c(own)) * scale,
                                           c("total_income") * income_cap.numerator)
                         - floor * scale)

        special_base = clip0(given - floor)
        # 所得税率 × 1.021 in millionths: the rate (thousandths) of 課税総所得金額 − 人的控除差.
        surtax = Fraction(law.reconstruction_surtax)
        income_tax_base = c("taxable_base") - c("personal_difference")
        rate = (bracket(income_tax_base, law.income_tax_brackets)
                * (surtax.numerator * 1000 // surtax.denominator))
        millionths = int(Fraction(law.donation_special_base) * 1_000_000)
        rate = pl.when(income_tax_base < 0).then(0).otherwise(rate)
        ratio = millionths - rate  # 特例控除の割合, millionths
        basic_rate = Fraction(law.donation_basic_rate)
        m_share, p_share = self._split()
        cap = Fraction(law.donation_special_cap)

        def side(share: Fraction, levy: str, after: str, own: str) -> pl.Expr:
            basic_share, special_share = basic_rate * share, share
            basic = ceil_credit(basic_base(own), basic_share.numerator,
                                basic_share.denominator * scale)
            special = pl.min_horizontal(
                ceil_credit(special_base * ratio, special_share.numerator,
                            special_share.denominator * 1_000_000),
                times(c(levy), cap))
            one_stop = pl.when(c("donation_one_stop") & (rate > 0)).then(
                ceil_credit(special, rate, ratio)).otherwise(0)
            return pl.when(common + c(own) > 0).then(
                pl.min_horizontal(basic + special + one_stop, clip0(c(after)))).otherwise(0)

        return frame.with_columns(
            municipal_donation_credit=side(m_share, "_m1", "_m2", "donation_municipal_only"),
            prefectural_donation_credit=side(p_share, "_p1", "_p2",
                                             "donation_prefectural_only"))

    def _flat_reduction(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """定額減税 (令和6年度, 令和7年度の加算): from the 所得割 after the other credits,
        split between prefecture and municipality in proportion to their 所得割 before the
        100-yen truncation (相模原市: 県分 = 減税額 × 県所得割 / (県所得割 + 市所得割))."""
        law = self.law
        c = pl.col
        income = c("total_income")
        spouse_qualifies = income <= law.spouse_taxpayer_columns[-1]
        dependants = (c("c_dep_general") + c("c_dep_specific") + c("c_dep_elderly")
                      + c("c_dep_elderly_parent") + c("c_dep_minor"))
        amount = (law.flat_reduction_per_person * (
            1 + pl.when(spouse_qualifies).then(c("c_spouse")).otherwise(0) + dependants)
            + law.flat_reduction_non_qualifying_spouse
            * pl.when(~spouse_qualifies).then(c("c_spouse")).otherwise(0))
        levy = c("_m2") + c("_p2")
        taken = (pl.when(income <= law.flat_reduction_income_limit)
                 .then(pl.min_horizontal(amount, levy)).otherwise(0))
        # The prefecture's share rounded up to the yen, the municipality's the rest
        # (川崎市's published 令和6年度 example: 40,000 × 79,285 / 392,485 → 8,081).
        prefectural = pl.when(levy > 0).then(-((-taken * c("_p2")) // levy)).otherwise(0)
        return frame.with_columns(prefectural_flat_reduction=prefectural).with_columns(
            municipal_flat_reduction=taken - c("prefectural_flat_reduction"))

    # collection

    def _installments(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """普通徴収 in four and 特別徴収 in twelve (June to May), fractions to the first."""
        law, tenant = self.law, self.tenant
        c = pl.col
        unit = tenant.installment_unit
        flat = c("municipal_flat_reduction") + c("prefectural_flat_reduction")
        # 令和6年度: the installments of the tax before the reduction, which is then taken
        # from the first installment and, where it does not fit, the next ones.
        before = c("total") + flat if law.flat_reduction_from_first_installment else c("total")
        part = floor_to(before // 4, unit)
        first = before - 3 * part
        plain = [first, part, part, part]
        taken: list[pl.Expr] = []
        left = flat if law.flat_reduction_from_first_installment else pl.lit(0, I64)
        for amount in plain:
            take = pl.min_horizontal(left, amount)
            taken.append(amount - take)
            left = left - take
        ordinary = {f"ordinary_{i + 1}": e for i, e in enumerate(taken)}

        total = c("total")
        if law.special_collection_skips_june:
            # 令和6年度: nothing in June; the tax after the reduction over July to May,
            # the fraction in July.
            monthly = floor_to(total // 11, 100)
            months = [pl.lit(0, I64), total - 10 * monthly] + [monthly] * 10
        else:
            monthly = floor_to(total // 12, 100)
            months = [total - 11 * monthly] + [monthly] * 11
        special = {f"special_{i + 1}": e for i, e in enumerate(months)}
        return frame.with_columns(**ordinary, **special)

    # the whole

    def assess(self, taxpayers: pl.LazyFrame | pl.DataFrame,
               family: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
        """Every figure of every taxpayer in ``taxpayers``; one output row per input row."""
        law = self.law
        tp = taxpayers.lazy().select(list(TAXPAYER_SCHEMA)).cast(TAXPAYER_SCHEMA)  # type: ignore[arg-type]
        fam = family.lazy().select(list(FAMILY_SCHEMA)).cast(FAMILY_SCHEMA)  # type: ignore[arg-type]
        counts = self._family_counts(fam)
        count_columns = counts.collect_schema().names()
        frame = (tp.join(counts, on="tid", how="left", maintain_order="left")
                 .with_columns(pl.col(n).fill_null(0) for n in count_columns
                               if n not in ("tid", "c_spouse_special_income")))
        special_disabled = ((pl.col("disability") == "special")
                            | (pl.col("c_disabled_special") + pl.col("c_disabled_special_together")
                               > 0))
        frame = self._incomes(
            frame, age_on_year_end(pl.col("birth_date"), law.income_year),
            special_disabled | (pl.col("c_dep_under_23") > 0))
        frame = self._deductions(frame)
        frame = frame.with_columns(
            taxable_base=floor_base_1000(clip0(pl.col("total_income")
                                               - pl.col("deductions_total"))),
            personal_difference=self._personal_difference())
        frame = self._installments(self._levy(frame))
        return frame.select(OUTPUT_COLUMNS)


def problems(taxpayers: pl.DataFrame, family: pl.DataFrame, income_year: int) -> pl.DataFrame:
    """Rows the rules cannot assess, as (tid, reason): the batch reports them and goes on
    with the others. The single-case path refuses the same things through its model."""
    year_end = pl.lit(date(income_year, 12, 31))

    def reasons(frame: pl.DataFrame, amounts: tuple[str, ...], codes: dict[str, tuple[str, ...]],
                prefix: str) -> pl.DataFrame:
        checks = [(pl.col(a) < 0, f"{prefix}{a} が負の値です") for a in amounts]
        checks += [(pl.col(a).is_null(), f"{prefix}{a} がありません") for a in amounts]
        checks.append((pl.col("birth_date").is_null() | (pl.col("birth_date") > year_end),
                       f"{prefix}birth_date が所得年の末日 ({income_year}-12-31) より後です"))
        checks += [(pl.col(c).is_not_null() & ~pl.col(c).is_in(list(allowed)),
                    f"{prefix}{c} は {' / '.join(allowed)} のいずれかです")
                   for c, allowed in codes.items()]
        return pl.concat([frame.filter(cond).select("tid", reason=pl.lit(text))
                          for cond, text in checks])

    money = ("salary_revenue", "pension_revenue", "other_income")
    optional = ("income_tax_base",)  # null: worked out from the inhabitant-tax base
    declared = tuple(n for n, t in TAXPAYER_SCHEMA.items()
                     if t == I64 and n not in ("tid", *money, *optional))
    found = [
        taxpayers.filter(pl.col("dividend_income") > pl.col("other_income"))
        .select("tid", reason=pl.lit("dividend_income が other_income を超えています")),
        taxpayers.filter(pl.col("income_tax_base") < 0)
        .select("tid", reason=pl.lit("income_tax_base が負の値です")),
        taxpayers.filter(pl.col("donation_one_stop") & (
            pl.col("donation_both") + pl.col("donation_municipal_only")
            + pl.col("donation_prefectural_only") > 0))
        .select("tid", reason=pl.lit("ワンストップ特例はふるさと納税だけの場合です")),
        taxpayers.filter(pl.col("housing_loan_used") > pl.col("housing_loan_available"))
        .select("tid", reason=pl.lit("housing_loan_used が housing_loan_available を超えています")),
        reasons(taxpayers, money + declared,
                {"disability": ("general", "special"), "single_parent": ("mother", "father")},
                ""),
        taxpayers.filter(pl.col("widow") & pl.col("single_parent").is_not_null())
        .select("tid", reason=pl.lit("widow と single_parent は同時に指定できません")),
        reasons(family, money, {"disability": ("general", "special"),
                                "role": ("spouse", "dependent")}, "family."),
        family.filter(pl.col("role") == "spouse").group_by("tid").len()
        .filter(pl.col("len") > 1).select("tid", reason=pl.lit("配偶者が2人以上あります")),
    ]
    return (pl.concat(found).group_by("tid", maintain_order=True)
            .agg(pl.col("reason").str.join("; ")))
