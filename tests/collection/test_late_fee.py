"""延滞金 against the municipal pages' own worked examples (each names its page), and
properties that hold for every charge."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kumomura.collection import law
from kumomura.collection.late_fee import first_month_end, late_fee
from kumomura.platform.core.errors import InvalidInput

PUBLISHED = [
    # (page, tax, 納期限, 納付日, terms as published (days, yen), 延滞金)
    pytest.param(65_000, date(2021, 5, 31), date(2022, 1, 31),
                 [(30, 133), (184, 2883), (31, 480)], 3_400,
                 id="豊橋市 計算方法について (dd.aspx?menuid=10874): R3 固定資産税 第1期"),
    pytest.param(56_400, date(2026, 2, 2), date(2026, 5, 29), [(28, 120), (88, 1228)], 1_300,
                 id="中央市 市税の延滞金計算について (shuunou/10746.html): 令和8年の割合"),
    pytest.param(100_000, date(2016, 10, 31), date(2017, 2, 20),
                 [(30, 230), (31, 772), (51, 1257)], 2_200,
                 id="泉佐野市 FAQ 延滞金の割合と計算例 (faq_nofu/q4.html): 年をまたぐ"),
    pytest.param(64_300, date(2022, 8, 1), date(2022, 11, 1), [(31, 130), (61, 930)], 1_000,
                 id="矢吹町 FAQ 納期限が過ぎてから納める場合の延滞金 (faq.php code=26)"),
    pytest.param(250_000, date(2017, 5, 1), date(2017, 7, 10), [(31, 573), (39, 2404)], 2_900,
                 id="東かがわ市 延滞金の計算方法 (nofu/2253.html): H29 固定資産税 1期"),
    pytest.param(45_000, date(2017, 4, 30), date(2017, 8, 31), [(31, 103), (92, 1020)], 1_100,
                 id="都城市 公共下水道使用料の延滞金 (mizu/2414.html): 同じ計算"),
]


@pytest.mark.parametrize(("tax", "due", "paid", "terms", "expected"), PUBLISHED)
def test_the_published_examples(tax: int, due: date, paid: date,
                                terms: list[tuple[int, int]], expected: int) -> None:
    fee = late_fee(tax, due, [(paid, tax)])
    assert [(t.days, t.amount) for t in fee.terms] == terms
    assert fee.amount == expected


def test_kyoto_counts_one_term_where_the_rate_goes_on_and_reaches_the_same_fee() -> None:
    """京都市 納税に関するQ&A Q1 (page 0000099005): 87,000円, 納期限 R5.6.30, paid R6.2.1:
    177 + 3,836 (one 185-day term at 8.7%) = 4,013 → 4,000円. Cut at the new year as the
    law's calendar years are, the terms are 177 + 3,172 + 663 = 4,012: the same 4,000円."""
    fee = late_fee(87_000, date(2023, 6, 30), [(date(2024, 2, 1), 87_000)])
    assert fee.terms[0].days == 31  # 7/1-7/31: the month after 7/1 ends on 7/31
    assert sum(t.days for t in fee.terms[1:]) == 185
    assert fee.amount == 4_000


def test_kitami_first_term_and_fee() -> None:
    """北見市 延滞金について (docs/1933): 75,000円, 8/31 → 11/15 (平成29年): 9/1-9/30 at
    2.7%, 166円; 延滞金 1,000円."""
    fee = late_fee(75_000, date(2017, 8, 31), [(date(2017, 11, 15), 75_000)])
    assert (fee.terms[0].days, fee.terms[0].amount) == (30, 166)
    assert fee.amount == 1_000


def test_fukuoka_from_2025_into_2026() -> None:
    """福岡市 FAQ3274: 152,500円 (base 152,000), 納期限 R7.9.1, paid R8.2.5; the first
    term 9/2-10/1 (30 days) as published; then 8.7% to the year's end and 9.1% in 2026."""
    fee = late_fee(152_500, date(2025, 9, 1), [(date(2026, 2, 5), 152_500)])
    assert next((t.start, t.end, t.base) for t in fee.terms) == (
        date(2025, 9, 2), date(2025, 10, 1), 152_000)
    assert [t.rate_bp for t in fee.terms] == [240, 870, 910]
    assert fee.amount == 4_900


@pytest.mark.parametrize(("due", "end"), [
    (date(2021, 5, 31), date(2021, 6, 30)), (date(2023, 6, 30), date(2023, 7, 31)),
    (date(2025, 9, 1), date(2025, 10, 1)), (date(2024, 1, 30), date(2024, 2, 29)),
    (date(2025, 1, 30), date(2025, 2, 28)), (date(2025, 12, 31), date(2026, 1, 31)),
    (date(2025, 11, 30), date(2025, 12, 31)),
])
def test_the_first_month_ends_as_the_civil_code_counts(due: date, end: date) -> None:
    assert first_month_end(due) == end


def test_small_taxes_and_small_fees_owe_none() -> None:
    assert late_fee(1_999, date(2024, 5, 31), [(date(2025, 5, 31), 1_999)]).terms == ()
    small = late_fee(20_000, date(2024, 5, 31), [(date(2024, 7, 31), 20_000)])
    assert 0 < small.sum_of_terms < 1_000
    assert small.amount == 0
    assert late_fee(50_000, date(2024, 5, 31), [(date(2024, 5, 31), 50_000)]).terms == ()


def test_a_partial_payment_lowers_the_base_from_the_next_day() -> None:
    fee = late_fee(65_000, date(2024, 5, 31),
                   [(date(2024, 6, 10), 30_000), (date(2024, 9, 30), 35_000)])
    assert [(t.start, t.end, t.base) for t in fee.terms] == [
        (date(2024, 6, 1), date(2024, 6, 10), 65_000),
        (date(2024, 6, 11), date(2024, 6, 30), 35_000),
        (date(2024, 7, 1), date(2024, 9, 30), 35_000)]


def test_a_year_the_law_has_not_given_is_refused_naming_it() -> None:
    with pytest.raises(InvalidInput, match="2027年の延滞金の割合"):
        late_fee(65_000, date(2026, 11, 30), [(date(2027, 1, 31), 65_000)])


@given(tax=st.integers(1, 10_000_000), due=st.dates(date(2014, 1, 1), date(2025, 12, 31)),
       late=st.integers(0, 400), earlier=st.integers(0, 400))
def test_paying_later_never_owes_less(tax: int, due: date, late: int, earlier: int) -> None:
    last = min(due + timedelta(days=late), date(2026, 12, 31))
    first = min(due + timedelta(days=min(late, earlier)), last)
    assert late_fee(tax, due, [(first, tax)]).amount <= late_fee(tax, due, [(last, tax)]).amount


@given(tax=st.integers(2_000, 5_000_000), due=st.dates(date(2014, 1, 1), date(2025, 6, 30)),
       days=st.integers(1, 500), part=st.integers(1, 100))
def test_paying_part_early_never_owes_more(tax: int, due: date, days: int, part: int) -> None:
    paid = min(due + timedelta(days=days), date(2026, 12, 31))
    some = max(1, tax * part // 100)
    whole = late_fee(tax, due, [(paid, tax)])
    split = late_fee(tax, due, [(due + timedelta(days=1), some), (paid, tax - some)]
                     if some < tax else [(paid, tax)])
    assert split.amount <= whole.amount
    assert all(t.base % law.BASE_UNIT == 0 and t.base >= law.BASE_MINIMUM for t in split.terms)
