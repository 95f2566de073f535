"""Properties of the rules over random households: the income levy is never negative and
never falls as salary rises; 均等割 is zero exactly under the exemption threshold; a
frame of many cases gives what each case gives alone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kumomura.inhabitant_tax.calculation import calculate, case_frames
from kumomura.inhabitant_tax.law import law_for
from kumomura.inhabitant_tax.models import Case
from kumomura.inhabitant_tax.params import STANDARD, InhabitantTaxParameters
from kumomura.inhabitant_tax.rules import Rules

years = st.sampled_from([2024, 2025, 2026])
money = st.integers(0, 3_000_000)


@st.composite
def member(draw: st.DrawFn, year: int) -> dict[str, Any]:
    age = draw(st.integers(0, 95))
    return {"birth_date": date(year - 1 - age, draw(st.integers(1, 12)), 1),
            "salary_revenue": draw(st.sampled_from([0, 0, 500_000, 1_030_000, 1_500_000])),
            "pension_revenue": draw(st.sampled_from([0, 0, 800_000])),
            "other_income": 0,
            "living_together": draw(st.booleans()),
            "disability": draw(st.sampled_from([None, None, "general", "special"]))}


def donations(one_stop: bool) -> st.SearchStrategy[dict[str, Any]]:
    """ふるさと納税 (with the ワンストップ特例 or not), or with the others a return declares."""
    furusato = st.sampled_from([0, 0, 30_000, 400_000])
    others = st.sampled_from([0, 0, 5_000, 60_000])
    plain = st.fixed_dictionaries({"furusato": furusato, "both": others,
                                   "municipal_only": others, "prefectural_only": others})
    if not one_stop:
        return plain
    return st.one_of(plain, st.fixed_dictionaries({"furusato": furusato,
                                                   "one_stop": st.just(True)}))


housing_loans = st.one_of(st.just({}), st.builds(
    lambda available, used_share, specified: {
        "available": available, "used": available * used_share // 4, "specified": specified},
    st.sampled_from([150_000, 400_000]), st.integers(0, 4), st.booleans()))


@st.composite
def cases(draw: st.DrawFn, plain: bool = False, one_stop: bool = True) -> Case:
    """A random household; ``plain``: no status that exempts by itself (disability,
    widow, single parent, minor, public assistance). ``one_stop``: donors may take the
    ワンストップ特例 (whose capped credit grows with the income-tax rate, so that the levy
    can fall as the salary crosses an income-tax bracket: the law's, not a defect)."""
    year = draw(years)
    age = draw(st.integers(18 if plain else 0, 95))
    spouse = draw(st.one_of(st.none(), member(year)))
    if spouse is not None:
        spouse.pop("living_together")
    return Case.model_validate({
        "fiscal_year": year,
        "taxpayer": {
            "birth_date": date(year - 1 - age, draw(st.integers(1, 12)), 15),
            "salary_revenue": draw(st.integers(0, 15_000_000)),
            "pension_revenue": draw(st.sampled_from([0, 0, 1_000_000, 2_500_000])),
            "other_income": (other := draw(st.sampled_from([0, 0, 300_000, 2_000_000]))),
            "dividend_income": other * draw(st.sampled_from([0, 1, 2])) // 2,
            "disability": None if plain else draw(st.sampled_from([None, "general"])),
            "widow": False if plain else draw(st.booleans()),
            "working_student": draw(st.booleans())},
        "deductions": {"social_insurance": draw(money), "medical_expenses": draw(money),
                       "earthquake_insurance": draw(st.integers(0, 80_000)),
                       "life_insurance": {"new_general": draw(st.integers(0, 150_000)),
                                          "old_general": draw(st.integers(0, 150_000)),
                                          "care_medical": draw(st.integers(0, 80_000))},
                       "donations": draw(donations(one_stop)),
                       "housing_loan": draw(housing_loans)},
        "spouse": spouse,
        "dependents": draw(st.lists(member(year), max_size=4)),
    })


tenants = st.builds(
    lambda designated, grade: STANDARD.model_copy(update={
        "designated_city": designated, "grade": grade,
        "municipal_rate": Decimal(8 if designated else 6),
        "prefectural_rate": Decimal(2 if designated else 4)}),
    st.booleans(), st.sampled_from([1, 2, 3]))


def _levy(out: dict[str, Any]) -> int:
    return int(out["municipal"]["income_levy"] + out["prefectural"]["income_levy"])


@settings(max_examples=60, deadline=None)
@given(case=cases(one_stop=False), tenant=tenants, raise_by=st.integers(1, 3_000_000))
def test_income_levy_never_negative_and_monotone_in_salary(
        case: Case, tenant: InhabitantTaxParameters, raise_by: int) -> None:
    low = calculate(case, tenant)
    richer = case.model_copy(update={"taxpayer": case.taxpayer.model_copy(update={
        "salary_revenue": case.taxpayer.salary_revenue + raise_by})})
    high = calculate(richer, tenant)
    for out in (low, high):
        for side in ("municipal", "prefectural"):
            assert out[side]["income_levy"] >= 0
            assert out[side]["income_levy"] % 100 == 0
        assert sum(out["ordinary_installments"]) == out["total"]
        assert sum(out["special_collection"]) == out["total"]
    assert _levy(high) >= _levy(low)


# 地方税法施行令第47条の3 standard amounts, per 級地: (per person, addend with family).
PER_CAPITA_LIMITS = {1: (350_000, 210_000), 2: (315_000, 189_000), 3: (280_000, 168_000)}


def _family_size(case: Case) -> int:
    """The taxpayer, a 同一生計配偶者 and every 扶養親族 (under 16 included), counted with
    the family income limit of the year written out here, not read from the law module."""
    limit = 580_000 if case.fiscal_year >= 2026 else 480_000
    salary_floor = 650_000 if case.fiscal_year >= 2026 else 550_000
    year_end = date(case.fiscal_year - 1, 12, 31)

    def income(p: Any) -> int:
        salary = max(0, p.salary_revenue - salary_floor)  # revenues here stay under 1.62 million
        age = year_end.year - p.birth_date.year
        pension = max(0, p.pension_revenue - (1_100_000 if age >= 65 else 600_000))
        return int(salary + pension + p.other_income)

    family = ([case.spouse] if case.spouse else []) + list(case.dependents)
    return 1 + sum(1 for p in family if income(p) <= limit)


@settings(max_examples=60, deadline=None)
@given(case=cases(plain=True), grade=st.sampled_from([1, 2, 3]))
def test_per_capita_zero_exactly_under_the_threshold(case: Case, grade: int) -> None:
    out = calculate(case, STANDARD.model_copy(update={"grade": grade}))
    base, addend = PER_CAPITA_LIMITS[grade]
    n = _family_size(case)
    limit = base * n + 100_000 + (addend if n > 1 else 0)
    under = out["total_income"] <= limit or case.taxpayer.livelihood_assistance
    assert (out["municipal"]["per_capita"] == 0) == under
    assert (out["forest_environment_tax"] == 0) == under


@settings(max_examples=5, deadline=None)
@given(batch=st.lists(cases(), min_size=20, max_size=40), tenant=tenants)
def test_a_frame_of_cases_gives_what_each_case_gives(batch: list[Case],
                                                     tenant: InhabitantTaxParameters) -> None:
    for year in {c.fiscal_year for c in batch}:
        same = [c for c in batch if c.fiscal_year == year]
        frames = [case_frames(c, tid=i) for i, c in enumerate(same)]
        taxpayers = pl.concat([t for t, _ in frames])
        family = pl.concat([f for _, f in frames])
        together = Rules(law_for(year), tenant).assess(taxpayers, family).collect()
        for i, case in enumerate(same):
            row = together.row(i, named=True)
            alone = calculate(case, tenant)
            assert row["tid"] == i
            assert row["total"] == alone["total"]
            assert row["taxable_base"] == alone["taxable_base"]
            assert [row[f"special_{m}"] for m in range(1, 13)] == alone["special_collection"]
