"""Synthetic 課税資料 for demos and benchmarks: plausible incomes, deductions and families
for any number of taxpayers, generated as frames (no real person behind any row).

Values come from hashing the row number with a seed, so a population is the same every
time for the same seed, and a million rows take about a second.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.storage.numbering import with_check_digit

EMPLOYERS = 20_000


def _u(seed: int, salt: int) -> pl.Expr:
    """A uniform number in [0, 1) per row."""
    return (pl.int_range(pl.len(), dtype=pl.UInt64).hash(seed * 1_000 + salt) % 1_000_003
            ).cast(pl.Float64) / 1_000_003


def _between(seed: int, salt: int, low: int, high: int) -> pl.Expr:
    return (pl.lit(low) + _u(seed, salt) * (high - low)).cast(pl.Int64)


def _chance(seed: int, salt: int, p: float) -> pl.Expr:
    return _u(seed, salt) < p


def atena_numbers(first: int, count: int) -> list[str]:
    return [with_check_digit(i, 15) for i in range(first, first + count)]


def returns(count: int, income_year: int, *, seed: int = 1, first_id: int = 1,
            atena_nos: list[str] | None = None, birth_dates: list[date] | None = None,
            ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(income_returns rows, income_family rows) with ids from ``first_id``; with
    ``birth_dates`` (of real registry entries) incomes and families follow their ages."""
    atena = atena_nos or atena_numbers(first_id, count)
    base = pl.DataFrame({"id": pl.int_range(first_id, first_id + count, eager=True),
                         "atena_no": atena[:count]})
    year_end = date(income_year, 12, 31)
    if birth_dates is not None:
        base = base.with_columns(_born=pl.Series(birth_dates[:count], dtype=pl.Date))
        age = pl.lit(income_year, pl.Int64) - pl.col("_born").dt.year().cast(pl.Int64)
    else:
        age = _between(seed, 1, 18, 96)
    frame = base.with_columns(
        _age=age,
        _u_salary=_u(seed, 2),
        _u_pension=_u(seed, 3),
    ).with_columns(
        income_year=pl.lit(income_year),
        birth_date=pl.col("_born") if birth_dates is not None else
        (pl.lit(year_end) - pl.duration(days=pl.col("_age") * 365
                                        + _between(seed, 4, 0, 364))),
        salary_revenue=pl.when(pl.col("_age") < 65)
        .then(pl.when(_chance(seed, 5, 0.1)).then(0).otherwise(
            (1_000_000 + pl.col("_u_salary") ** 2 * 11_000_000).cast(pl.Int64)))
        .otherwise(pl.when(_chance(seed, 6, 0.2))
                   .then(_between(seed, 7, 500_000, 3_000_000)).otherwise(0)),
        pension_revenue=pl.when(pl.col("_age") >= 65)
        .then((600_000 + pl.col("_u_pension") * 2_900_000).cast(pl.Int64)).otherwise(0),
        other_income=pl.when(_chance(seed, 8, 0.05))
        .then(_between(seed, 9, 100_000, 3_000_000)).otherwise(0),
    ).with_columns(
        # 配当所得 taxed with the rest (a return's choice): part of the other income of some.
        dividend_income=pl.when(_chance(seed, 39, 0.3))
        .then(pl.col("other_income") * _between(seed, 40, 1, 10) // 10).otherwise(0),
    ).with_columns(
        disability=pl.when(_chance(seed, 10, 0.03)).then(pl.lit("general"))
        .when(_chance(seed, 11, 0.01)).then(pl.lit("special")).otherwise(None),
        widow=(pl.col("_age") > 40) & _chance(seed, 12, 0.03),
        single_parent=pl.when(_chance(seed, 13, 0.02) & (pl.col("_age") < 60))
        .then(pl.lit("mother")).otherwise(None),
        working_student=(pl.col("_age") < 25) & _chance(seed, 14, 0.05),
        livelihood_assistance=_chance(seed, 15, 0.01),
        social_insurance=(pl.col("salary_revenue") * 15 // 100
                          + pl.col("pension_revenue") * 5 // 100),
        life_new_general=pl.when(_chance(seed, 16, 0.4))
        .then(_between(seed, 17, 20_000, 120_000)).otherwise(0),
        life_old_general=pl.when(_chance(seed, 18, 0.2))
        .then(_between(seed, 19, 20_000, 150_000)).otherwise(0),
        life_new_pension=pl.when(_chance(seed, 20, 0.1))
        .then(_between(seed, 21, 20_000, 120_000)).otherwise(0),
        life_old_pension=pl.lit(0, pl.Int64),
        life_care_medical=pl.when(_chance(seed, 22, 0.3))
        .then(_between(seed, 23, 10_000, 80_000)).otherwise(0),
        earthquake_insurance=pl.when(_chance(seed, 24, 0.3))
        .then(_between(seed, 25, 5_000, 50_000)).otherwise(0),
        medical_expenses=pl.when(_chance(seed, 26, 0.1))
        .then(_between(seed, 27, 50_000, 400_000)).otherwise(0),
        # ふるさと納税: about one earner in six gives, in thousands of yen; half of them
        # without filing a return (ワンストップ特例).
        donation_furusato=pl.when((pl.col("salary_revenue") > 3_000_000)
                                  & _chance(seed, 30, 0.17))
        .then(_between(seed, 31, 5, 150) * 1_000).otherwise(0),
        donation_one_stop=_chance(seed, 32, 0.5),
        # 共同募金・日赤: a few, in thousands, always with a return (no ワンストップ).
        donation_both=pl.when(_chance(seed, 37, 0.03))
        .then(_between(seed, 38, 3, 30) * 1_000).otherwise(0),
        donation_municipal_only=pl.lit(0, pl.Int64),
        donation_prefectural_only=pl.lit(0, pl.Int64),
        # 住宅ローン控除: about one earner in eight, a tenth of them 特定取得 (7%); the
        # income tax takes a part of the 可能額, the rest may come to the inhabitant tax.
        housing_loan_available=pl.when((pl.col("salary_revenue") > 3_500_000)
                                       & _chance(seed, 33, 0.12))
        .then(_between(seed, 34, 50, 400) * 1_000).otherwise(0),
        housing_loan_specified=_chance(seed, 35, 0.1),
        income_tax_base=pl.lit(None, pl.Int64),
    ).with_columns(
        housing_loan_used=pl.col("housing_loan_available") * _between(seed, 36, 2, 8) // 10,
        housing_loan_specified=pl.col("housing_loan_specified")
        & (pl.col("housing_loan_available") > 0),
    ).with_columns(
        donation_one_stop=pl.col("donation_one_stop") & (pl.col("donation_furusato") > 0)
        & (pl.col("donation_both") == 0),
    ).with_columns(
        single_parent=pl.when(pl.col("widow")).then(None).otherwise(pl.col("single_parent")),
        employer_no=pl.when((pl.col("salary_revenue") > 0) & _chance(seed, 28, 0.8))
        .then(pl.format("S{}", (_u(seed, 29) * EMPLOYERS).cast(pl.Int64).cast(pl.String)
                        .str.zfill(9))).otherwise(None),
    ).with_columns(
        employer_name=pl.when(pl.col("employer_no").is_not_null())
        .then(pl.format("合成商事 第{}号", pl.col("employer_no").str.slice(1)))
        .otherwise(None),
        source=pl.when(pl.col("employer_no").is_not_null()).then(pl.lit("salary_report"))
        .when(pl.col("pension_revenue") > 0).then(pl.lit("pension_report"))
        .otherwise(pl.lit("declaration")),
        received_at=pl.lit(utcnow()),
    )
    family = _family(frame, seed, year_end)
    return frame.drop("_age", "_u_salary", "_u_pension", "_born", strict=False), family


def _family(frame: pl.DataFrame, seed: int, year_end: date) -> pl.DataFrame:
    """A spouse for about half of those over 27, children for some, a parent for a few."""
    people = frame.select("id", "_age")
    spouse = people.filter((pl.col("_age") >= 28) & _chance(seed, 40, 0.5)).with_columns(
        role=pl.lit("spouse"), seq=pl.lit(0), _a=pl.col("_age") + _between(seed, 41, -4, 4),
        salary_revenue=pl.when(_chance(seed, 42, 0.5)).then(0)
        .otherwise(_between(seed, 43, 300_000, 2_000_000)),
        living_together=pl.lit(True), ascendant=pl.lit(False))
    children = []
    for k in (1, 2, 3):
        kids = people.filter((pl.col("_age") >= 25) & (pl.col("_age") <= 60)
                             & _chance(seed, 50 + k, 0.6 / k)).with_columns(
            role=pl.lit("dependent"), seq=pl.lit(k),
            _a=_between(seed, 60 + k, 0, 24).clip(0, pl.col("_age") - 18),
            salary_revenue=pl.when(_chance(seed, 70 + k, 0.9)).then(0)
            .otherwise(_between(seed, 80 + k, 100_000, 1_500_000)),
            living_together=pl.lit(True), ascendant=pl.lit(False))
        children.append(kids)
    parents = people.filter((pl.col("_age") >= 40) & (pl.col("_age") <= 60)
                            & _chance(seed, 90, 0.05)).with_columns(
        role=pl.lit("dependent"), seq=pl.lit(4), _a=pl.col("_age") + 28,
        salary_revenue=pl.lit(0, pl.Int64), living_together=_chance(seed, 91, 0.7),
        ascendant=pl.lit(True))
    members = pl.concat([spouse, *children, parents], how="diagonal_relaxed")
    return members.select(
        return_id="id", seq="seq", role="role",
        birth_date=pl.lit(year_end) - pl.duration(days=pl.col("_a") * 365 + 100),
        salary_revenue="salary_revenue",
        pension_revenue=pl.when(pl.col("_a") >= 65).then(pl.lit(900_000)).otherwise(0),
        other_income=pl.lit(0, pl.Int64), living_together="living_together",
        disability=pl.lit(None, pl.String), ascendant="ascendant",
    ).sort("return_id", "seq")
