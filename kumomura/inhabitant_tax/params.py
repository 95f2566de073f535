"""What each municipality sets for its inhabitant tax: rates, 均等割, 級地, due dates.

The national defaults are the standard rates (地方税法第314条の3, 第35条: 市町村 6%,
道府県 4%; in a designated city 8% and 2%) and the standard 均等割 (市町村 3,000 円,
道府県 1,000 円 from 令和6年度). A member overrides what its ordinances say: a prefecture
adding 0.025% or a 300-yen environment surcharge, a city adding a greenery tax, its 級地.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kumomura.platform import params

MODULE = "inhabitant_tax"


class DueDate(BaseModel):
    """A 納期限 as month and day; January to March fall in the next calendar year."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)


class InhabitantTaxParameters(params.Parameters):
    """A municipality's inhabitant-tax settings (its 市税条例 and the prefecture's 県税条例)."""

    designated_city: bool = Field(description="指定都市 (税率 市8%・県2%, 調整控除 4%・1%)")
    municipal_rate: Decimal = Field(ge=0, le=20, description="市町村民税 所得割の税率 (%)")
    prefectural_rate: Decimal = Field(ge=0, le=20, description="道府県民税 所得割の税率 (%)")
    municipal_per_capita: int = Field(ge=0, le=100_000,
                                      description="市町村民税 均等割 (円, 超過課税を含む)")
    prefectural_per_capita: int = Field(ge=0, le=100_000,
                                        description="道府県民税 均等割 (円, 超過課税を含む)")
    grade: Literal[1, 2, 3] = Field(description="級地 (均等割の非課税限度額)")
    ordinary_due_dates: tuple[DueDate, DueDate, DueDate, DueDate] = Field(
        description="普通徴収 第1期〜第4期の納期限 (土日祝・年末年始は翌開庁日)")
    installment_unit: Literal[100, 1000] = Field(
        description="普通徴収の各期の端数単位 (円): 端数は第1期にまとめる")

    @field_validator("municipal_rate", "prefectural_rate")
    @classmethod
    def _thousandths(cls, rate: Decimal) -> Decimal:
        if rate * 1000 != int(rate * 1000):
            raise ValueError("rates are given to at most three decimals of a percent")
        return rate

    @model_validator(mode="after")
    def _share(self) -> InhabitantTaxParameters:
        if self.municipal_rate + self.prefectural_rate == 0:
            raise ValueError("the two income-levy rates cannot both be zero")
        return self

    @property
    def municipal_fraction(self) -> Fraction:
        return Fraction(self.municipal_rate) / 100

    @property
    def prefectural_fraction(self) -> Fraction:
        return Fraction(self.prefectural_rate) / 100


STANDARD_DUE_DATES = (DueDate(month=6, day=30), DueDate(month=8, day=31),
                      DueDate(month=10, day=31), DueDate(month=1, day=31))

STANDARD = InhabitantTaxParameters(
    designated_city=False,
    municipal_rate=Decimal(6),
    prefectural_rate=Decimal(4),
    municipal_per_capita=3_000,
    prefectural_per_capita=1_000,
    grade=3,
    ordinary_due_dates=STANDARD_DUE_DATES,
    # 地方税法第20条の4の2第6項: each installment's fraction below 1,000 yen goes to the first.
    installment_unit=1000,
)

PARAMS = params.declare(MODULE, InhabitantTaxParameters, {2024: STANDARD})
