import pytest
from hypothesis import given
from hypothesis import strategies as st

from kumomura.platform.core.japanese import (
    LgCodeError,
    era_year,
    lg_check_digit,
    validate_lg_code,
)

OKITAMA = ["062022", "062090", "062138", "063819", "063827", "064025", "064033", "064017"]


@pytest.mark.parametrize("code", [*OKITAMA, "131016", "011002", "472018"])
def test_published_codes_pass(code: str) -> None:
    assert validate_lg_code(code) == code


@given(st.from_regex(r"(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{3}", fullmatch=True),
       st.integers(1, 9))
def test_any_other_check_digit_is_refused(first_five: str, shift: int) -> None:
    good = first_five + str(lg_check_digit(first_five))
    assert validate_lg_code(good) == good
    wrong = first_five + str((lg_check_digit(first_five) + shift) % 10)
    with pytest.raises(LgCodeError, match="check digit"):
        validate_lg_code(wrong)


@pytest.mark.parametrize(("code", "message"), [
    ("62022", "6 digits"), ("0620222", "6 digits"), ("06202a", "6 digits"),
    ("482015", "prefecture part 48"), ("002003", "prefecture part 00"),
])
def test_malformed_codes_name_the_problem(code: str, message: str) -> None:
    with pytest.raises(LgCodeError, match=message):
        validate_lg_code(code)


def test_the_era_year_of_a_day_first_years_as_gannen() -> None:
    from datetime import date

    assert era_year(date(2026, 4, 1)) == "令和8年"
    assert era_year(date(2019, 4, 1)) == "平成31年"  # 2019年度 began in 平成
    assert era_year(date(2019, 5, 1)) == "令和元年"
