"""割り勘: splitting the consortium's shared bill among its members, in exact arithmetic.

Per cost item and fiscal year, each member's exact share is a weighted mix of keys:
均等割 (equal), 人口割 (population at the reference date) and usage metered by the
platform. Every key counts a member only for the months it is live on one of the item's
businesses (a member pays from the month of its go-live), so a member live half the year
weighs half. Shares are ``Fraction``s.

The yen: the item is first split among its keys (largest remainders), then each key's
yen among the members by the Sainte-Laguë (Webster) divisor method, and a member pays
the sum. A divisor method is immune to the new-states paradox: a member joining never
raises another member's yen of an item it joins, to the yen, and the shares of an item
still add up to the item exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from kumomura.platform.core.errors import FieldProblem, invalid

KEYS = ("equal", "population", "usage")
METRICS = ("residents", "certificates", "notices", "api_calls")


@dataclass(frozen=True)
class Weights:
    """How an item is split: shares of each key (summing to exactly 1)."""

    equal: Fraction
    population: Fraction
    usage: Fraction = Fraction(0)
    metric: str | None = None

    def of(self, key: str) -> Fraction:
        return {"equal": self.equal, "population": self.population, "usage": self.usage}[key]


@dataclass(frozen=True)
class CostItem:
    """A cost of one fiscal year (running), or an initial cost spread over years."""

    code: str
    name: str
    kind: str  # running | initial
    amount: int
    businesses: tuple[str, ...]
    weights: Weights
    first_year: int
    years: int = 1

    def charge_for(self, fiscal_year: int) -> int:
        """The part of the amount charged in a fiscal year: equal yearly parts, the odd
        yen in the first year (as the seeds' consortia spread their initial costs)."""
        index = fiscal_year - self.first_year
        if not 0 <= index < self.years:
            return 0
        part = self.amount // self.years
        return part + (self.amount - part * self.years if index == 0 else 0)


@dataclass(frozen=True)
class Member:
    lg_code: str
    name: str
    population: int
    go_live: Mapping[str, date]
    standalone: int | None = None
    """発注前年間経費: what the member would pay alone for a whole year (declared)."""
    usage: Mapping[str, int] = field(default_factory=dict)


def months_live(member: Member, businesses: Iterable[str], fiscal_year: int) -> int:
    """Months of the fiscal year (April to March) from the month the member's first of
    these businesses goes live; 0 when none does within the year."""
    dates = [member.go_live[b] for b in businesses if b in member.go_live]
    if not dates:
        return 0
    start = min(dates)
    if start < date(fiscal_year, 4, 1):
        return 12
    if start >= date(fiscal_year + 1, 4, 1):
        return 0
    months_before = (start.year - fiscal_year) * 12 + start.month - 4
    return 12 - months_before


def check(items: list[CostItem], members: list[Member], fiscal_year: int) -> None:
    """Refuse what cannot be split, naming the item or member: weights not summing to 1,
    negative amounts, an item no member is live on, keys with nothing to weigh."""
    problems: list[FieldProblem] = []
    for item in items:
        where = f"items.{item.code}"
        w = item.weights
        if any(w.of(k) < 0 for k in KEYS) or sum(w.of(k) for k in KEYS) != 1:
            problems.append(FieldProblem(f"{where}.weights",
                                         f"按分の比率の合計が1になりません ({item.name})"))
        if w.usage and w.metric not in METRICS:
            problems.append(FieldProblem(f"{where}.metric",
                                         f"利用量の指標を {', '.join(METRICS)} から選んでください"))
        if item.amount < 0:
            problems.append(FieldProblem(f"{where}.amount", f"金額が負の値です ({item.name})"))
        if item.years < 1:
            problems.append(FieldProblem(f"{where}.years", "按分年数は1以上です"))
        live = [m for m in members if months_live(m, item.businesses, fiscal_year)]
        if item.charge_for(fiscal_year) and not live:
            used = ", ".join(item.businesses)
            problems.append(FieldProblem(f"{where}.businesses",
                                         f"{fiscal_year}年度に {used} を利用する団体がありません"))
        if w.population:
            problems.extend(FieldProblem(f"members.{m.lg_code}.population",
                                         f"{m.name} の人口がありません")
                            for m in live if m.population <= 0)
        if w.usage and live and w.metric and not any(m.usage.get(w.metric, 0) for m in live):
            problems.append(FieldProblem(f"{where}.metric",
                                         f"{w.metric} の利用量がどの団体にもありません"))
    if problems:
        raise invalid(problems)


def key_bases(item: CostItem, members: list[Member], fiscal_year: int,
              ) -> dict[str, dict[str, Fraction]]:
    """What each member weighs in each of the item's keys (weight above 0): 1, its
    population or its usage, times the months it is live on the item."""
    months = {m.lg_code: months_live(m, item.businesses, fiscal_year) for m in members}
    values = {
        "equal": {m.lg_code: Fraction(1) for m in members},
        "population": {m.lg_code: Fraction(m.population) for m in members},
        "usage": {m.lg_code: Fraction(m.usage.get(item.weights.metric or "", 0))
                  for m in members},
    }
    return {key: {code: values[key][code] * months[code] for code in months}
            for key in KEYS if item.weights.of(key)}


def exact_shares(item: CostItem, members: list[Member], fiscal_year: int,
                 ) -> dict[str, Fraction]:
    """Each member's exact fraction of the item (0 for those not live on it)."""
    shares = {m.lg_code: Fraction(0) for m in members}
    for key, basis in key_bases(item, members, fiscal_year).items():
        total = sum(basis.values())
        for code in shares:
            shares[code] += item.weights.of(key) * basis[code] / total
    return shares


def item_yen(item: CostItem, amount: int, members: list[Member], fiscal_year: int,
             ) -> dict[str, int]:
    """The item's ``amount`` in integer yen per member: split among the keys by their
    weights (largest remainders, a split that does not depend on who the members are),
    then each key's yen by Sainte-Laguë (``sainte_lague``); a member pays the sum."""
    bases = key_bases(item, members, fiscal_year)
    per_key = to_yen(amount, {key: item.weights.of(key) for key in bases})
    charges = {m.lg_code: 0 for m in members}
    for key, basis in bases.items():
        for code, yen in sainte_lague(per_key[key], basis).items():
            charges[code] += yen
    return charges


def sainte_lague(total: int, basis: Mapping[str, Fraction]) -> dict[str, int]:
    """Integer yen adding up to ``total`` by the Sainte-Laguë (Webster) divisor method:
    the ``total`` largest of the quotients basis / (k + 1/2), k = 0, 1, ..., ties to the
    lower code. Adding a member only inserts its quotients into that order, so no other
    member can gain a yen (no new-states paradox, unlike largest remainders)."""
    weighed = {code: b for code, b in basis.items() if b > 0}
    whole = sum(weighed.values())
    seats = {code: 0 for code in basis}
    if not total or not whole:
        return seats
    # Start from every quotient above the plain divisor whole / total; then take the next
    # quotient, or give back the last, until the count is right (at most one per member).
    for code, b in weighed.items():
        x = total * b / whole - Fraction(1, 2)
        seats[code] = max(0, -((-x.numerator) // x.denominator))
    rank = {code: i for i, code in enumerate(sorted(weighed))}

    def next_quotient(code: str) -> tuple[Fraction, int]:
        return weighed[code] / (seats[code] + Fraction(1, 2)), -rank[code]

    def last_quotient(code: str) -> tuple[Fraction, int]:
        return weighed[code] / (seats[code] - Fraction(1, 2)), -rank[code]

    while (given := sum(seats.values())) != total:
        if given < total:
            seats[max(weighed, key=next_quotient)] += 1
        else:
            seats[min((c for c in weighed if seats[c]), key=last_quotient)] -= 1
    return seats


def to_yen(total: int, exact: Mapping[str, Fraction]) -> dict[str, int]:
    """Integer yen adding up to ``total``: floors, then one yen each to the largest
    remainders (ties to the lower code). ``exact`` are the fractions of the total."""
    amounts = {code: total * share for code, share in exact.items()}
    floors = {code: a.numerator // a.denominator for code, a in amounts.items()}
    odd = total - sum(floors.values())
    order = sorted(amounts, key=lambda c: (-(amounts[c] - floors[c]), c))
    for code in order[:odd]:
        floors[code] += 1
    return floors


@dataclass(frozen=True)
class Allocation:
    """Who pays what for one fiscal year: per item and member, and the guarantee's
    adjustment per member (zero without a guarantee)."""

    fiscal_year: int
    items: list[CostItem]
    members: list[Member]
    charges: dict[str, dict[str, int]]  # item code -> lg_code -> yen
    exact: dict[str, dict[str, Fraction]]
    adjustments: dict[str, int]
    months: dict[str, int]
    """Months of the year each member is live on any of the year's items."""
    standalone: dict[str, int | None]
    """Each member's standalone cost for the months it is live (``year_standalone``)."""
    guarantee: Fraction | None
    bound: list[str]
    feasible: bool
    best_guarantee: Fraction | None

    def member_total(self, lg_code: str) -> int:
        return sum(c[lg_code] for c in self.charges.values()) + self.adjustments[lg_code]

    def total(self) -> int:
        return sum(sum(c.values()) for c in self.charges.values())


def allocate(items: list[CostItem], members: list[Member], fiscal_year: int,
             guarantee: Fraction | None = None) -> Allocation:
    """Split every item of the year; with ``guarantee`` (a saving rate every member must
    reach against its standalone cost), cap the members it binds and spread what they
    no longer pay over the others (see ``guarantee_adjustments``)."""
    check(items, members, fiscal_year)
    charges: dict[str, dict[str, int]] = {}
    exact: dict[str, dict[str, Fraction]] = {}
    for item in items:
        amount = item.charge_for(fiscal_year)
        if not amount:
            continue
        exact[item.code] = exact_shares(item, members, fiscal_year)
        charges[item.code] = item_yen(item, amount, members, fiscal_year)
    base = {m.lg_code: sum(c[m.lg_code] for c in charges.values()) for m in members}
    months = {m.lg_code: max((months_live(m, i.businesses, fiscal_year) for i in items
                              if i.code in charges), default=0) for m in members}
    standalone = {m.lg_code: year_standalone(m, months[m.lg_code]) for m in members}
    live = [code for code in base if months[code]]
    adjustments = {m.lg_code: 0 for m in members}
    bound: list[str] = []
    feasible = True
    best = best_guarantee({c: standalone[c] for c in live}, sum(base.values()))
    if guarantee is not None:
        names = {m.lg_code: m.name for m in members}
        changes, bound, feasible = guarantee_adjustments(
            {c: base[c] for c in live}, {c: standalone[c] for c in live}, names, guarantee)
        adjustments |= changes
    return Allocation(fiscal_year, items, members, charges, exact, adjustments, months,
                      standalone, guarantee, bound, feasible, best)


def year_standalone(member: Member, months: int) -> int | None:
    """The member's standalone cost for the part of the year it is live on the shared
    system: months / 12 of the declared yearly cost, the fraction of a yen cut off
    (切捨て). The months before go-live it still pays its own system, so comparing them
    with a charge of nothing would show a saving that is not there."""
    if member.standalone is None:
        return None
    return member.standalone * months // 12


def best_guarantee(standalone: Mapping[str, int | None], total: int) -> Fraction | None:
    """The highest saving rate every member can be given at once. Paying in proportion
    to their standalone costs, all save 1 − total / Σ standalone, and no split does better
    for the member that saves least; the caps are whole yen (rounded down), so the rate is
    the highest whose caps still cover the bill, at most n yen short of that."""
    costs = list(standalone.values())
    if not costs or any(s is None or s <= 0 for s in costs):
        return None
    amounts = [s for s in costs if s is not None]
    exact = Fraction(total, sum(amounts))  # the share of its standalone cost each pays

    def covers(share: Fraction) -> bool:
        return sum(math.floor(share * s) for s in amounts) >= total

    if covers(exact):
        return 1 - exact
    # The least share whose floored caps cover the bill is where some cap reaches a whole
    # yen: k / s for a member's s, within n yen of the exact share.
    candidates = sorted({Fraction(math.ceil(exact * s) + k, s)
                         for s in amounts for k in range(len(amounts) + 1)})
    return 1 - next(share for share in candidates if covers(share))


def guarantee_adjustments(base: dict[str, int], standalone: Mapping[str, int | None],
                          names: Mapping[str, str], guarantee: Fraction,
                          ) -> tuple[dict[str, int], list[str], bool]:
    """The savings guarantee, by capped transfer: a member whose charge exceeds
    (1 − guarantee) × its standalone cost pays the cap; the excess is spread over the
    other members in proportion to their charges, repeated while the spreading binds
    another member. Infeasible (nothing changed) when the caps cannot cover the bill.
    ``base`` and ``standalone`` cover the members live in the year. Returns yen
    adjustments summing to zero, the members bound, and feasibility."""
    missing = [code for code in base if standalone[code] is None]
    if missing:
        raise invalid([FieldProblem(f"members.{code}.standalone",
                                    f"{names[code]} の発注前年間経費 (単独の場合の経費) が"
                                    "ありません") for code in missing])
    # The caps in whole yen, rounded down, so that nobody falls short of the guarantee by
    # a fraction of a yen. A free member's exact charge never exceeds its (integer) cap,
    # so neither does its rounded one.
    caps = {code: Fraction(math.floor((1 - guarantee) * (standalone[code] or 0)))
            for code in base}
    total = sum(base.values())
    if sum(caps.values()) < total:
        return {code: 0 for code in base}, [], False
    charge: dict[str, Fraction] = {code: Fraction(v) for code, v in base.items()}
    bound: set[str] = set()
    while True:
        over = {c for c in charge if c not in bound and charge[c] > caps[c]}
        if not over:
            break
        bound |= over
        free = [c for c in charge if c not in bound]
        excess = sum(charge[c] - caps[c] for c in over)
        for c in over:
            charge[c] = caps[c]
        weight = sum((charge[c] for c in free), Fraction(0))
        for c in free:
            charge[c] += excess * charge[c] / weight if weight else excess / Fraction(len(free))
    # Bound members pay their cap; the others share the rest by the yen rule.
    final = {c: int(caps[c]) for c in bound}
    free = [c for c in charge if c not in bound] or sorted(bound)
    rest = total - sum(final[c] for c in bound if c not in free)
    weight = sum((charge[c] for c in free), Fraction(0))
    final |= to_yen(rest, {c: (charge[c] / weight if weight else Fraction(1, len(free)))
                           for c in free})
    return {c: final[c] - base[c] for c in base}, sorted(bound), True
