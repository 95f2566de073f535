"""The law's figures of collection, per calendar year, as data.

延滞金 (地方税法第326条 and its kin per levy, with 附則第3条の2): the rate is 年7.3% up to
one month after the 納期限 and 年14.6% after it, but while 附則第3条の2 applies each
calendar year has its own lower rates, 延滞金特例基準割合 + 1% and + 7.3% (the 特例基準割合
is 平均貸付割合 + 1%, announced by the Minister of Finance each December for the next
year). The rates are kept in basis points (1/100 of a percent), exact as integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from kumomura.platform.core.errors import InvalidInput

T = TypeVar("T")


@dataclass(frozen=True)
class LateRates:
    """年率 in basis points: up to one month after the 納期限, and after it."""

    first_month: int
    after: int


LATE_RATES: dict[int, LateRates] = {
    # 延滞金特例基準割合 1.9% (平成26年)
    2014: LateRates(290, 920),
    # 1.8% (平成27・28年)
    2015: LateRates(280, 910),
    2016: LateRates(280, 910),
    # 1.7% (平成29年)
    2017: LateRates(270, 900),
    # 1.6% (平成30年〜令和2年)
    2018: LateRates(260, 890),
    2019: LateRates(260, 890),
    2020: LateRates(260, 890),
    # 1.5% (令和3年; from this year 平均貸付割合 + 0.5% became + 1%)
    2021: LateRates(250, 880),
    # 1.4% (令和4年〜令和7年)
    2022: LateRates(240, 870),
    2023: LateRates(240, 870),
    2024: LateRates(240, 870),
    2025: LateRates(240, 870),
    # 1.8% (令和8年: 平均貸付割合 0.8%)
    2026: LateRates(280, 910),
}
"""延滞金の割合 per calendar year (附則第3条の2; 特例 capped at the 本則 7.3% / 14.6%)."""


def _of_year(table: dict[int, T], year: int, what: str, field: str) -> T:
    """The year's figure; a year the law has not given yet is refused, not guessed."""
    found = table.get(year)
    if found is None:
        raise InvalidInput(f"{year}年の{what}は登録されていません (登録済み: {min(table)}年〜"
                           f"{max(table)}年)", field=field)
    return found


def late_rates(year: int) -> LateRates:
    return _of_year(LATE_RATES, year, "延滞金の割合", "paid")


REFUND_RATES: dict[int, int] = {
    # 還付加算金 (地方税法第17条の4, 附則第3条の2): 年7.3%, while the 特例 applies the
    # 還付加算金特例基準割合 per calendar year, in basis points. To 2020 it was the
    # 特例基準割合 itself; from 2021 平均貸付割合 + 0.5% (広島市, 江東区, 大津市, 日野市 pages).
    2014: 190, 2015: 180, 2016: 180, 2017: 170, 2018: 160, 2019: 160, 2020: 160,
    2021: 100, 2022: 90, 2023: 90, 2024: 90, 2025: 90,
    2026: 130,  # 平均貸付割合 0.8% + 0.5%
}
"""還付加算金の割合 per calendar year."""


def refund_rate(year: int) -> int:
    return _of_year(REFUND_RATES, year, "還付加算金の割合", "on")


DAYS_IN_YEAR = 365
"""延滞金は年365日当たりの割合で日割り (閏年も同じ)."""
BASE_UNIT = 1_000
"""延滞金の計算の基礎となる税額: 1,000円未満切捨て (地方税法第20条の4の2)."""
BASE_MINIMUM = 2_000
"""その税額が2,000円未満なら延滞金は計算しない (同条)."""
FEE_UNIT = 100
"""延滞金の確定金額: 100円未満切捨て (同条)."""
FEE_MINIMUM = 1_000
"""その全額が1,000円未満なら徴収しない (同条)."""
