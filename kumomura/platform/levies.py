"""What a levy tells collection (収納管理): its charges (調定), in one shape for every levy,
so that collection keeps one account per addressee across all of them.

A levy module publishes a ``<levy>.charged`` event (its own type, built on
:class:`ChargesEvent`) carrying :class:`ChargeLine` s: whose tax, who pays it (the person,
or for 特別徴収 the employer), which installment (期別), when it is due and how much, and
the 納付番号 that payment files name it by. A line replaces what collection holds for the
same levy, year, payer, subject and installment: a 更正 publishes the new amounts and
collection records the difference as an 増額 or 減額 調定.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kumomura.platform.events import DomainEvent

PayerKind = Literal["person", "employer"]


class ChargeLine(BaseModel):
    """One installment of one person's levy, as its levy assessed it."""

    model_config = ConfigDict(frozen=True)
    payer_kind: PayerKind
    payer_no: str = Field(min_length=1, max_length=20,
                          description="宛名番号, or the employer's 特別徴収義務者指定番号")
    atena_no: str = Field(min_length=1, max_length=15, description="whose tax it is")
    installment: int = Field(ge=1, le=12, description="期別 (特別徴収: 1 = June)")
    label: str = Field(max_length=20, description="第1期, 6月分, ...")
    due_date: date
    amount: int = Field(ge=0, le=10**12)
    payment_no: str = Field(min_length=1, max_length=32)


class Payer(BaseModel):
    """A payer the levy knows more of than a number (an employer: its name, and its
    address where the levy has it), for collection's letters to them."""

    model_config = ConfigDict(frozen=True)
    payer_kind: PayerKind = "employer"
    payer_no: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=200)
    postal_code: str | None = Field(default=None, max_length=8)
    address: str | None = Field(default=None, max_length=200)


class ChargesEvent(DomainEvent):
    """The charges of a levy's year, or of one 更正, with the payers its lines name
    where the levy knows them (the employers of its 特別徴収)."""

    fiscal_year: int = Field(ge=1989, le=2200)
    reason: Literal["initial", "correction"]
    lines: list[ChargeLine]
    payers: list[Payer] = Field(default_factory=list)


LEVY_CODES = {"inhabitant_tax": "01", "inhabitant_tax_special": "02", "nhi": "03",
              "care_insurance": "04", "elderly_medical": "05"}
"""The two digits that open a levy's 納付番号."""


def check_digit(digits: str) -> str:
    """Modulus 10, weights 3 and 1 from the right (the GS1 rule the barcode uses too)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def payment_number(levy: str, fiscal_year: int, payer_no: str, installment: int) -> str:
    """A 納付書's 納付番号: levy, year, payer, installment and a check digit; the same
    installment of the same payer always gets the same number. An employer's 納付書 of a
    month covers all its employees' 特別徴収, so their charges share it. Only the payer
    number's digits are used (a letter prefix some systems give does not scan)."""
    digits = "".join(ch for ch in payer_no if ch.isdigit())
    if not digits:
        raise ValueError(f"納付番号にできない番号です: {payer_no!r}")
    body = f"{LEVY_CODES[levy]}{fiscal_year % 100:02d}{digits:0>15}{installment:02d}"
    return body + check_digit(body)
