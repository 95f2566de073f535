"""Synthetic residents for demos and benchmarks: Faker ja_JP names, never real people.

Households follow roughly the national mix of sizes (単独世帯 about 38%, 令和2年国勢調査);
members are a householder, often a spouse, children and sometimes a parent, with ages and
relationships that fit together. Seeded, so a run is repeatable.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from faker import Faker

SIZES = (1, 2, 3, 4, 5, 6)
SIZE_WEIGHTS = (38, 28, 16, 12, 4, 2)
PREFECTURES_BEFORE = ("宮城県仙台市青葉区", "東京都世田谷区", "山形県山形市", "福島県福島市",
                      "新潟県新潟市中央区", "埼玉県さいたま市浦和区")


class Population:
    """Name and address pools drawn once from Faker, combined at random per person."""

    def __init__(self, seed: int = 2026, pool: int = 2000) -> None:
        fake = Faker("ja_JP")
        fake.seed_instance(seed)
        self.rng = random.Random(seed)  # noqa: S311  (synthetic data, repeatable by design)
        self.last = [fake.last_name_pair() for _ in range(pool)]
        self.male = [fake.first_name_male_pair() for _ in range(pool)]
        self.female = [fake.first_name_female_pair() for _ in range(pool)]
        self.towns = [fake.town() for _ in range(max(20, pool // 20))]

    def _birth(self, age_from: int, age_to: int, on: date) -> date:
        return on - timedelta(days=self.rng.randint(age_from * 365 + 1, age_to * 365 + 300))

    def _person(self, family: tuple[str, str, str], sex: str, born: date,
                relationship: str) -> dict[str, Any]:
        first = self.rng.choice(self.male if sex == "1" else self.female)
        return {"name": f"{family[0]} {first[0]}", "kana": f"{family[1]} {first[1]}",
                "birth_date": born, "sex": sex, "relationship": relationship}

    def household(self, on: date) -> list[dict[str, Any]]:
        """One household's members (householder first), without numbers or address."""
        rng = self.rng
        size = rng.choices(SIZES, SIZE_WEIGHTS)[0]
        family = rng.choice(self.last)
        head_sex = "1" if rng.random() < 0.75 else "2"
        head_born = self._birth(22 if size > 1 else 18, 88, on)
        members = [self._person(family, head_sex, head_born, "世帯主")]
        if size >= 2 and rng.random() < 0.8:
            spouse = self._person(family, "2" if head_sex == "1" else "1",
                                  head_born + timedelta(days=rng.randint(-1500, 1500)),
                                  "妻" if head_sex == "1" else "夫")
            members.append(spouse)
        head_age = (on - head_born).days // 365
        while len(members) < size:
            if head_age < 70 and rng.random() < 0.12:
                parent_sex = rng.choice("12")
                born = head_born - timedelta(days=rng.randint(22 * 365, 38 * 365))
                members.append(self._person(family, parent_sex, born,
                                            "父" if parent_sex == "1" else "母"))
                continue
            child_born = head_born + timedelta(days=rng.randint(20 * 365, 42 * 365))
            if child_born >= on:
                child_born = on - timedelta(days=rng.randint(1, 3000))
            members.append(self._person(family, rng.choice("12"), child_born, "子"))
        return members

    def address(self) -> tuple[str, str | None]:
        rng = self.rng
        town = f"{rng.choice(self.towns)}{rng.randint(1, 9)}丁目{rng.randint(1, 30)}番" \
               f"{rng.randint(1, 25)}号"
        line = f"コーポ{rng.choice(self.towns)}{rng.randint(1, 3)}0{rng.randint(1, 9)}" \
            if rng.random() < 0.25 else None
        return town, line

    def previous_address(self) -> str:
        return f"{self.rng.choice(PREFECTURES_BEFORE)}{self.rng.choice(self.towns)}" \
               f"{self.rng.randint(1, 40)}番地"

    def households(self, people: int, on: date, *, office: str
                   ) -> Iterator[list[dict[str, Any]]]:
        """Households until ``people`` persons are made (the last may be cut short), each
        member a full registry entry at one address, resident since a date before ``on``."""
        made = 0
        while made < people:
            members = self.household(on)[: people - made]
            made += len(members)
            town, line = self.address()
            since = on - timedelta(days=self.rng.randint(30, 40 * 365))
            previous = self.previous_address()
            head = members[0]
            for m in members:
                since_m = max(since, m["birth_date"])
                m.update(
                    status="resident", postal_code=None, address_town=town, address_line=line,
                    address_set_on=since_m, became_resident_on=since_m,
                    previous_address=None if since_m == m["birth_date"] else previous,
                    honseki=f"{office}{town.split('丁目')[0]}丁目{self.rng.randint(1, 40)}番地",
                    hittousha=head["name"],
                    resident_card_code=f"{self.rng.randrange(10**10, 10**11):011d}",
                    is_foreign=False, nationality=None, residence_status=None,
                    residence_until=None, removed_on=None, removal_reason=None)
            yield members
