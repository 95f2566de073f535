"""The amount the town's ordinance (出生祝金支給条例) sets. There is no national value:
until the town sets it, a birth cannot be put on the list (the event waits as a dead
letter naming this parameter, and is replayed once it is set)."""

from __future__ import annotations

from pydantic import Field

from kumomura.platform import params

MODULE = "birth_gift"
OPTION = "birth_gift"


class BirthGiftParameters(params.Parameters):
    amount: int = Field(ge=0, le=10_000_000, description="出生祝金 1人あたりの支給額 (円)")


PARAMS = params.declare(MODULE, BirthGiftParameters, {1967: BirthGiftParameters(amount=0)})
