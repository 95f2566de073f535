"""延滞金: what a charge paid late owes on top (地方税法第326条 etc., 附則第3条の2,
第20条の4の2), as the municipal pages compute it.

From the day after the 納期限 to the day of payment, the unpaid 本税 (floored to 1,000
yen; none under 2,000) bears the first-month rate for one month (民法第143条: to the day
before the same day of the next month, or that month's end where it has none) and the
later rate after it, each calendar year at its own rates, per 365 days even in a leap year.
Each term (one base, one rate, one year) is floored to the yen, as every published
example does; their sum is floored to 100 yen and is none under 1,000 yen.

A partial payment lowers the base from the day after it: ``payments`` are the payments
of 本税 by date, and the 延滞金 runs until the last one clears the tax (or to ``until``
for a statement of a charge still unpaid).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from kumomura.collection import law
from kumomura.platform.core.errors import InvalidInput

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Term:
    """One stretch of days at one base and one rate."""

    start: date
    end: date
    base: int
    rate_bp: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def amount(self) -> int:
        # Floored to the yen per term (every published example does so).
        return self.base * self.rate_bp * self.days // (law.DAYS_IN_YEAR * 10_000)

    def as_dict(self) -> dict[str, object]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(),
                "days": self.days, "base": self.base,
                "rate": f"{self.rate_bp / 100:g}%", "amount": self.amount}


@dataclass(frozen=True)
class LateFee:
    terms: tuple[Term, ...]

    @property
    def sum_of_terms(self) -> int:
        return sum(t.amount for t in self.terms)

    @property
    def amount(self) -> int:
        """The 延滞金 owed: floored to 100 yen, none under 1,000 (第20条の4の2)."""
        total = self.sum_of_terms // law.FEE_UNIT * law.FEE_UNIT
        return total if total >= law.FEE_MINIMUM else 0

    def as_dict(self) -> dict[str, object]:
        return {"late_fee": self.amount, "sum_of_terms": self.sum_of_terms,
                "terms": [t.as_dict() for t in self.terms]}


def base_of(tax: int) -> int:
    """The base of the calculation: floored to 1,000 yen, none under 2,000 (第20条の4の2)."""
    return 0 if tax < law.BASE_MINIMUM else tax // law.BASE_UNIT * law.BASE_UNIT


def first_month_end(due: date) -> date:
    """The last day at the first-month rate: one month counted from the day after the
    納期限 ends the day before that day's number in the next month, or at the end of
    that month where it has no such day (民法第143条)."""
    start = due + DAY
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    last = calendar.monthrange(year, month)[1]
    return date(year, month, start.day) - DAY if start.day <= last else date(year, month, last)


def _pieces(start: date, end: date, due: date) -> Iterator[tuple[date, date, bool]]:
    """[start, end] cut at the end of the first month and at each new year: (from, to,
    in the first month)."""
    edge = first_month_end(due)
    cuts = [edge] if start <= edge < end else []
    cuts += [date(y, 12, 31) for y in range(start.year, end.year)]
    lo = start
    for cut in sorted(cuts):
        yield lo, cut, cut <= edge
        lo = cut + DAY
    yield lo, end, end <= edge


def late_fee(tax: int, due: date, payments: Iterable[tuple[date, int]] = (), *,
             until: date | None = None) -> LateFee:
    """The 延滞金 of ``tax`` due on ``due``, paid by ``payments`` (date, 本税 paid), running
    until the tax is paid off or, still owed, until ``until``."""
    if tax < 0:
        raise InvalidInput("税額は0円以上です", field="amount")
    paid = sorted(payments)
    if any(amount <= 0 for _, amount in paid):
        raise InvalidInput("納付額は1円以上です", field="paid")
    terms: list[Term] = []
    owed, start = tax, due + DAY
    steps = [*paid, *([(until, 0)] if until is not None else [])]
    for day, amount in steps:
        if owed <= 0:
            break
        if day >= start:
            base = base_of(owed)
            for lo, hi, first in _pieces(start, day, due):
                rates = law.late_rates(lo.year)
                if base:
                    terms.append(Term(lo, hi, base, rates.first_month if first
                                      else rates.after))
            start = day + DAY
        owed -= amount
    return LateFee(tuple(terms))
