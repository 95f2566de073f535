"""What a calculation takes: one taxpayer's incomes, declared deductions and family.

Amounts are whole yen and never negative. Incomes and birth dates must be stated (a
missing one is more likely a mistake than a zero); flags and declared deductions that
are left out mean "none".
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Yen = int


def _yen(description: str) -> Any:
    """A stated amount: required."""
    return Field(ge=0, le=100_000_000_000, description=description)


def _paid(description: str) -> Any:
    """A declared amount: zero when left out."""
    return Field(0, ge=0, le=100_000_000_000, description=description)


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class Earnings(_Input):
    birth_date: date
    salary_revenue: Yen = _yen("給与収入")
    pension_revenue: Yen = _yen("公的年金等収入")
    other_income: Yen = _yen("その他の所得 (所得金額)")

    def earnings(self) -> dict[str, Any]:
        """The columns a person's incomes have in the rules' frames and the tables."""
        return {"birth_date": self.birth_date, "salary_revenue": self.salary_revenue,
                "pension_revenue": self.pension_revenue, "other_income": self.other_income}


class Taxpayer(Earnings):
    dividend_income: Yen = _paid("その他の所得のうち配当所得 (総合課税の利益の配当等)")
    disability: Literal["general", "special"] | None = None
    widow: bool = False
    single_parent: Literal["mother", "father"] | None = None
    working_student: bool = False
    livelihood_assistance: bool = Field(False, description="生活保護の生活扶助を受けている")

    @model_validator(mode="after")
    def _dividends_within(self) -> Taxpayer:
        if self.dividend_income > self.other_income:
            raise ValueError("配当所得がその他の所得を超えています (配当所得はその他の所得の"
                             "うちの額です)")
        return self

    @model_validator(mode="after")
    def _one_status(self) -> Taxpayer:
        if self.widow and self.single_parent:
            raise ValueError("widow and single_parent exclude each other (ひとり親 takes "
                             "precedence; give only one)")
        return self


class LifeInsurance(_Input):
    new_general: Yen = _paid("一般 新契約 支払保険料")
    old_general: Yen = _paid("一般 旧契約")
    new_pension: Yen = _paid("個人年金 新契約")
    old_pension: Yen = _paid("個人年金 旧契約")
    care_medical: Yen = _paid("介護医療")


class Donations(_Input):
    """寄附金税額控除: donations to prefectures and municipalities (ふるさと納税)."""

    furusato: Yen = _paid("都道府県・市区町村に対する寄附金 (ふるさと納税) の合計")
    one_stop: bool = Field(False, description="寄附金税額控除に係る申告特例 (ワンストップ特例)"
                                              " を受ける (確定申告をしない)")
    both: Yen = _paid("共同募金会・日本赤十字社の支部への寄附金、都道府県と市区町村の両方の"
                      "条例で指定された寄附金")
    municipal_only: Yen = _paid("市区町村の条例だけで指定された寄附金")
    prefectural_only: Yen = _paid("都道府県の条例だけで指定された寄附金")

    @model_validator(mode="after")
    def _one_stop_alone(self) -> Donations:
        if self.one_stop and (self.both or self.municipal_only or self.prefectural_only):
            raise ValueError("ワンストップ特例はふるさと納税だけの場合です (ほかの寄附金は"
                             "申告が必要です)")
        return self


class HousingLoan(_Input):
    """住宅借入金等特別控除 as the 給与支払報告書 or the 確定申告 carries it: what the income
    tax could have given and what it gave; the inhabitant tax takes part of the rest."""

    available: Yen = _paid("住宅借入金等特別控除可能額")
    used: Yen = _paid("住宅借入金等特別控除の額 (所得税で控除した額)")
    specified: bool = Field(False, description="平成26年4月〜令和3年12月の居住で消費税8%・10%"
                                               " (特定取得等): 7%、上限136,500円")
    income_tax_base: Yen | None = Field(
        None, ge=0, le=100_000_000_000,
        description="所得税の課税総所得金額等; なければ住民税の課税総所得金額 − 人的控除差")

    @model_validator(mode="after")
    def _used_within(self) -> HousingLoan:
        if self.used > self.available:
            raise ValueError("所得税で控除した額が控除可能額を超えています")
        return self


class Deductions(_Input):
    """What the return declares for its deductions and credits."""

    social_insurance: Yen = _paid("社会保険料 (支払額)")
    life_insurance: LifeInsurance = Field(default_factory=LifeInsurance)
    earthquake_insurance: Yen = _paid("地震保険料 (支払額)")
    medical_expenses: Yen = _paid("医療費 (保険金等で補填される額を除く)")
    donations: Donations = Field(default_factory=Donations)
    housing_loan: HousingLoan = Field(default_factory=HousingLoan)


def taxpayer_columns(t: Taxpayer, d: Deductions) -> dict[str, Any]:
    """A taxpayer's incomes, status and declared payments as the frames' (and the
    income_returns table's) columns."""
    life = d.life_insurance
    return {**t.earnings(), "dividend_income": t.dividend_income,
            "disability": t.disability, "widow": t.widow,
            "single_parent": t.single_parent, "working_student": t.working_student,
            "livelihood_assistance": t.livelihood_assistance,
            "social_insurance": d.social_insurance, "life_new_general": life.new_general,
            "life_old_general": life.old_general, "life_new_pension": life.new_pension,
            "life_old_pension": life.old_pension, "life_care_medical": life.care_medical,
            "earthquake_insurance": d.earthquake_insurance,
            "medical_expenses": d.medical_expenses,
            "donation_furusato": d.donations.furusato,
            "donation_one_stop": d.donations.one_stop,
            "donation_both": d.donations.both,
            "donation_municipal_only": d.donations.municipal_only,
            "donation_prefectural_only": d.donations.prefectural_only,
            "housing_loan_available": d.housing_loan.available,
            "housing_loan_used": d.housing_loan.used,
            "housing_loan_specified": d.housing_loan.specified,
            "income_tax_base": d.housing_loan.income_tax_base}


class Spouse(Earnings):
    disability: Literal["general", "special"] | None = None


class Dependent(Earnings):
    living_together: bool = False
    disability: Literal["general", "special"] | None = None
    ascendant: bool = Field(True, description="直系尊属 (同居老親等の判定に使う)")


class Case(_Input):
    """One taxpayer for one fiscal year, as the simulate endpoint and CLI take it."""

    fiscal_year: int
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="団体のパラメータの試算用上書き (例: 税率)")
    taxpayer: Taxpayer
    deductions: Deductions = Field(default_factory=Deductions)
    spouse: Spouse | None = None
    dependents: list[Dependent] = Field(default_factory=list, max_length=30)
    special_collection: bool = Field(False, description="給与からの特別徴収")

    def born_after_income_year(self) -> list[str]:
        """Fields naming someone born after the end of the income year (31 December)."""
        last = date(self.fiscal_year - 1, 12, 31)
        people: list[tuple[str, Earnings]] = [("taxpayer", self.taxpayer)]
        if self.spouse is not None:
            people.append(("spouse", self.spouse))
        people += [(f"dependents.{i}", d) for i, d in enumerate(self.dependents)]
        return [f"{where}.birth_date" for where, p in people if p.birth_date > last]


class IncomeReturnIn(_Input):
    """課税資料 for one person and income year (給与支払報告書, 公的年金等支払報告書 or
    申告), linked to the registry by 宛名番号."""

    atena_no: str = Field(pattern=r"^\d{15}$")
    income_year: int = Field(ge=2000, le=2100)
    taxpayer: Taxpayer
    deductions: Deductions = Field(default_factory=Deductions)
    spouse: Spouse | None = None
    dependents: list[Dependent] = Field(default_factory=list, max_length=30)
    employer_no: str | None = Field(None, max_length=20,
                                    description="特別徴収義務者の指定番号 (給与からの特別徴収)")
    employer_name: str | None = Field(None, max_length=200)
    source: Literal["salary_report", "pension_report", "declaration"] = "declaration"

    def as_case(self) -> Case:
        return Case(fiscal_year=self.income_year + 1, taxpayer=self.taxpayer,
                    deductions=self.deductions, spouse=self.spouse, dependents=self.dependents,
                    special_collection=self.employer_no is not None)
