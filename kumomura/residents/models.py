"""What a change notification (異動届) or a certificate request carries, validated at the
edge: the API, the CLI and the tests build these, and the service accepts nothing else."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kumomura.platform.core.japanese import is_kana

RELATIONSHIPS = (
    "世帯主", "妻", "夫", "妻(未届)", "夫(未届)", "子", "妻の子", "夫の子", "子の妻", "子の夫",
    "父", "母", "妻の父", "妻の母", "夫の父", "夫の母", "孫", "祖父", "祖母",
    "兄", "姉", "弟", "妹", "叔父", "叔母", "伯父", "伯母", "甥", "姪", "縁故者", "同居人",
)
"""続柄 as written on the 住民票 (住民基本台帳事務処理要領 第2-1-(2)-ク)."""

HOUSEHOLDER = "世帯主"
ATENA_NO = r"^[0-9]{15}$"
AtenaNo = Annotated[str, Field(pattern=ATENA_NO)]
"""A 宛名番号 in a list of them."""


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_relationship(value: str) -> str:
    if value not in RELATIONSHIPS:
        raise ValueError(f"続柄「{value}」は使えません (使える続柄: {'、'.join(RELATIONSHIPS)})")
    return value


class Address(Input):
    """An address inside the municipality: 町字・番地 and 方書 (building, room)."""

    postal_code: str | None = Field(default=None, pattern=r"^[0-9]{3}-?[0-9]{4}$")
    town: str = Field(min_length=1, max_length=200, description="町字・番地")
    line: str | None = Field(default=None, max_length=200, description="方書")


class NewPerson(Input):
    """A person entering the registry (転入, 出生)."""

    name: str = Field(min_length=1, max_length=100)
    kana: str = Field(min_length=1, max_length=200)
    birth_date: date
    sex: Literal["1", "2"] = Field(description="1 男, 2 女")
    relationship: str = Field(max_length=20)
    honseki: str | None = Field(default=None, max_length=200, description="本籍")
    hittousha: str | None = Field(default=None, max_length=100, description="筆頭者")
    resident_card_code: str | None = Field(default=None, pattern=r"^[0-9]{11}$")
    is_foreign: bool = False
    nationality: str | None = Field(default=None, max_length=50, description="国籍・地域")
    residence_status: str | None = Field(default=None, max_length=50, description="在留資格")
    residence_until: date | None = None

    @field_validator("kana")
    @classmethod
    def _kana(cls, value: str) -> str:
        if not is_kana(value):
            raise ValueError("フリガナはカタカナ・ひらがなで入力してください")
        return value

    @field_validator("relationship")
    @classmethod
    def _relationship(cls, value: str) -> str:
        return _check_relationship(value)

    @model_validator(mode="after")
    def _foreign_fields(self) -> NewPerson:
        if self.is_foreign and not (self.nationality and self.residence_status):
            raise ValueError("外国人住民は国籍と在留資格が必要です")
        if self.is_foreign and self.honseki:
            raise ValueError("外国人住民に本籍は記載しません")
        return self


class Relationships(Input):
    """Fields shared by the changes that move people between households."""

    new_householder: str | None = Field(default=None, pattern=ATENA_NO,
                                        description="残る世帯の新しい世帯主")
    relationships: dict[str, str] = Field(default_factory=dict,
                                          description="宛名番号 → 新しい続柄")

    @field_validator("relationships")
    @classmethod
    def _known(cls, value: dict[str, str]) -> dict[str, str]:
        for atena_no, relationship in value.items():
            if not re.fullmatch(ATENA_NO, atena_no):
                raise ValueError(f"宛名番号「{atena_no}」は15桁の数字ではありません")
            _check_relationship(relationship)
        return value


class MoveIn(Input):
    """転入届, with the data of the previous municipality's 転出証明書."""

    moved_on: date = Field(description="住所を定めた日")
    notified_on: date
    previous_address: str = Field(min_length=1, max_length=300, description="転入前住所")
    planned_move_out_on: date | None = Field(default=None, description="転出証明書の転出予定日")
    household_no: str | None = Field(default=None, pattern=ATENA_NO,
                                     description="既存の世帯に入る場合")
    address: Address | None = None
    persons: list[NewPerson] = Field(min_length=1, max_length=30)


class Birth(Input):
    """出生届 (by notice from the family register or at the counter)."""

    household_no: str = Field(pattern=ATENA_NO)
    notified_on: date
    person: NewPerson


class MoveOut(Relationships):
    """転出届: the registry entry is removed as of the planned date."""

    atena_nos: list[AtenaNo] = Field(min_length=1, max_length=30)
    planned_on: date
    notified_on: date
    destination: str = Field(min_length=1, max_length=300, description="転出先住所")


class Relocation(Relationships):
    """転居届: a move inside the municipality."""

    atena_nos: list[AtenaNo] = Field(min_length=1, max_length=30)
    moved_on: date
    notified_on: date
    address: Address | None = Field(default=None, description="新しい住所 (新世帯・全員)")
    household_no: str | None = Field(default=None, pattern=ATENA_NO,
                                     description="転居先の既存世帯")


class Death(Relationships):
    """死亡: removal ex officio on the notice from the family register."""

    atena_no: str = Field(pattern=ATENA_NO)
    died_on: date
    notified_on: date


class HouseholdChange(Relationships):
    """世帯変更届: 世帯分離, 世帯合併, or 世帯主変更."""

    kind: Literal["split", "merge", "new_householder"]
    effective_on: date
    notified_on: date
    atena_nos: list[AtenaNo] = Field(default_factory=list, max_length=30,
                                     description="分離する人 (split)")
    household_no: str | None = Field(default=None, pattern=ATENA_NO,
                                     description="合併する世帯 / 世帯主を変える世帯")
    into_household_no: str | None = Field(default=None, pattern=ATENA_NO,
                                          description="合併先の世帯 (merge)")


CORRECTABLE = ("name", "kana", "birth_date", "sex", "honseki", "hittousha",
               "resident_card_code", "postal_code", "address_line", "nationality",
               "residence_status", "residence_until")


REQUIRED_ITEMS = ("name", "kana", "birth_date", "sex")
"""Items every entry has: a correction may change them, never blank them."""


class Correction(Input):
    """職権修正: fields of one person corrected ex officio, with the reason."""

    atena_no: str = Field(pattern=ATENA_NO)
    effective_on: date
    reason: str = Field(min_length=1, max_length=500)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    kana: str | None = Field(default=None, min_length=1, max_length=200)
    birth_date: date | None = None
    sex: Literal["1", "2"] | None = None
    honseki: str | None = Field(default=None, max_length=200, description="本籍")
    hittousha: str | None = Field(default=None, max_length=100, description="筆頭者")
    resident_card_code: str | None = Field(default=None, pattern=r"^[0-9]{11}$")
    postal_code: str | None = Field(default=None, pattern=r"^[0-9]{3}-?[0-9]{4}$")
    address_line: str | None = Field(default=None, max_length=200, description="方書")
    nationality: str | None = Field(default=None, max_length=50, description="国籍・地域")
    residence_status: str | None = Field(default=None, max_length=50, description="在留資格")
    residence_until: date | None = None

    @field_validator("kana")
    @classmethod
    def _kana(cls, value: str | None) -> str | None:
        if value is not None and not is_kana(value):
            raise ValueError("フリガナはカタカナ・ひらがなで入力してください")
        return value

    @model_validator(mode="after")
    def _something(self) -> Correction:
        if not self.model_fields_set & set(CORRECTABLE):
            raise ValueError(f"修正する項目がありません ({', '.join(CORRECTABLE)})")
        blanked = [f for f in REQUIRED_ITEMS if f in self.model_fields_set
                   and getattr(self, f) is None]
        if blanked:
            raise ValueError(f"{', '.join(blanked)} は空にできません")
        return self


class Cancellation(Input):
    """異動の取消し: an entry made in error is undone; the history keeps both."""

    change_id: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=500)


class ProtectionOrderIn(Input):
    """支援措置 (or 仮支援措置 until the decision)."""

    atena_no: str = Field(pattern=ATENA_NO)
    kind: Literal["support", "provisional"] = "support"
    starts_on: date
    reason: str = Field(min_length=1, max_length=500)


class NonResidentIn(Input):
    """住登外者: a person another module knows (a taxpayer who moved away, a landowner
    living elsewhere) who is not in this registry; gets an addressee number all the same."""

    name: str = Field(min_length=1, max_length=100)
    kana: str = Field(min_length=1, max_length=200)
    birth_date: date | None = None
    sex: Literal["1", "2"] | None = None
    address: str = Field(min_length=1, max_length=300)
    registered_by: str = Field(min_length=1, max_length=64, description="登録した業務")

    @field_validator("kana")
    @classmethod
    def _kana(cls, value: str) -> str:
        if not is_kana(value):
            raise ValueError("フリガナはカタカナ・ひらがなで入力してください")
        return value


OptionalItem = Literal["householder", "honseki", "resident_card_code"]


class CertificateRequest(Input):
    """A request for 住民票の写し, 除票の写し or 住民票記載事項証明書."""

    kind: Literal["copy", "removed_copy", "entries"]
    atena_nos: list[AtenaNo] = Field(default_factory=list, max_length=30)
    household_no: str | None = Field(default=None, pattern=ATENA_NO,
                                     description="世帯全員")
    items: list[OptionalItem] = Field(default_factory=list,
                                      description="記載する任意項目")
    applicant_kind: Literal["self", "household", "third_party", "official"]
    applicant_name: str | None = Field(default=None, max_length=100)
    purpose: str = Field(min_length=1, max_length=200, description="請求の目的")
    override_reason: str | None = Field(default=None, max_length=500,
                                        description="支援措置対象者を第三者に交付する理由")

    @model_validator(mode="after")
    def _who(self) -> CertificateRequest:
        if bool(self.atena_nos) == bool(self.household_no):
            raise ValueError("atena_nos か household_no のどちらか一方を指定してください")
        if self.kind == "removed_copy" and self.household_no:
            raise ValueError("除票の写しは個人ごとに交付します (atena_nos を指定)")
        if self.applicant_kind == "third_party" and not self.applicant_name:
            raise ValueError("第三者請求には請求者の氏名が必要です")
        return self
