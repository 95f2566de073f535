"""Japanese identifiers and text at the edges: local government codes, era dates."""

from __future__ import annotations

import re

_LG_WEIGHTS = (6, 5, 4, 3, 2)


class LgCodeError(ValueError):
    """A local government code that is malformed or fails its check digit."""


def lg_check_digit(first_five: str) -> int:
    """Check digit of 全国地方公共団体コード (総務省 告示): weights 6..2, modulus 11,
    and the units digit of 11 minus the remainder."""
    total = sum(int(d) * w for d, w in zip(first_five, _LG_WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def validate_lg_code(code: str) -> str:
    """Return the 6-digit code if valid, else raise LgCodeError saying what is wrong."""
    if not re.fullmatch(r"[0-9]{6}", code or ""):
        raise LgCodeError(f"lg_code {code!r}: must be exactly 6 digits (e.g. 062022)")
    prefecture = int(code[:2])
    if not 1 <= prefecture <= 47:
        raise LgCodeError(f"lg_code {code}: prefecture part {code[:2]} is not 01-47")
    expected = lg_check_digit(code[:5])
    if int(code[5]) != expected:
        raise LgCodeError(
            f"lg_code {code}: check digit is {code[5]}, expected {expected} for {code[:5]}"
        )
    return code
