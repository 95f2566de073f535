"""Japanese identifiers and text at the edges: local government codes, era dates, kana."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import jaconv

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


# -- kana and text keys for search ------------------------------------------------------

_SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_SEPARATORS = re.compile(r"[\s・,、.。]")
_KANA_ONLY = re.compile(r"[ァ-ヺー]+")


def kana_key(text: str) -> str:
    """The form a kana reading is searched by: full-width katakana, no small kana, no
    spaces, so that ﾔﾏﾀﾞ, やまだ and ヤマダ, or キャ and キヤ, find the same person."""
    folded = jaconv.hira2kata(unicodedata.normalize("NFKC", text))
    return _SEPARATORS.sub("", folded).translate(_SMALL_TO_LARGE)


def kana_display(text: str) -> str:
    """A reading as printed: full-width katakana, spacing and small kana kept."""
    return jaconv.hira2kata(unicodedata.normalize("NFKC", text))


def is_kana(text: str) -> bool:
    """True if the text is a kana reading (katakana, hiragana or half-width, spaces)."""
    return bool(_KANA_ONLY.fullmatch(kana_key(text)))


def text_key(text: str) -> str:
    """Search form of a name or an address: NFKC (full/half width folded), no spaces."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """[low, high) of the keys that start with ``prefix`` in code-point order, so that a
    prefix search is a range scan on a binary-collated index on every database."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


# -- Japanese era (和暦) ----------------------------------------------------------------


@dataclass(frozen=True)
class Era:
    name: str
    letter: str
    starts: date


ERAS = (
    Era("令和", "R", date(2019, 5, 1)),
    Era("平成", "H", date(1989, 1, 8)),
    Era("昭和", "S", date(1926, 12, 25)),
    Era("大正", "T", date(1912, 7, 30)),
    Era("明治", "M", date(1873, 1, 1)),
)
"""Newest first. 明治 from 1873-01-01, when the Gregorian calendar was adopted (明治6年
太政官布告第337号): earlier dates are lunar and no living person has one."""


def era_of(day: date) -> tuple[Era, int]:
    for era in ERAS:
        if day >= era.starts:
            return era, day.year - era.starts.year + 1
    raise ValueError(f"{day.isoformat()} is before 明治6年 (1873-01-01)")


def era_date(day: date) -> str:
    """令和8年11月24日; the first year of an era is 元年, as on official documents."""
    era, year = era_of(day)
    shown = "元" if year == 1 else str(year)
    return f"{era.name}{shown}年{day.month}月{day.day}日"


def era_year(day: date) -> str:
    """The era and year a day falls in (令和8年); a fiscal year's is that of its 1 April."""
    era, year = era_of(day)
    return f"{era.name}{'元' if year == 1 else year}年"


_ERA_TEXT = re.compile(
    r"(?P<era>明治|大正|昭和|平成|令和|[MTSHR])\s*(?P<y>元|\d{1,2})\s*[年.\-/]\s*"
    r"(?P<m>\d{1,2})\s*[月.\-/]\s*(?P<d>\d{1,2})\s*日?")


def parse_era_date(text: str) -> date:
    """Parse 令和7年4月1日, R07.04.01, H1.1.8 (and full-width digits) into a date.
    A date past its era's end (平成31年5月1日) is accepted, as old systems wrote them."""
    folded = unicodedata.normalize("NFKC", text).strip().upper()
    m = _ERA_TEXT.fullmatch(folded)
    if m is None:
        raise ValueError(f"{text!r} is not an era date (e.g. 令和7年4月1日 or R07.04.01)")
    era = next(e for e in ERAS if m["era"] in (e.name, e.letter))
    year = 1 if m["y"] == "元" else int(m["y"])
    day = date(era.starts.year + year - 1, int(m["m"]), int(m["d"]))
    if day < era.starts:
        raise ValueError(f"{text!r}: {era.name} starts on {era.starts.isoformat()}")
    return day
