"""Due dates that fall on a closed day move to the next day the offices are open.

地方税法第20条の5第2項: a 期限 on a Saturday, Sunday, national holiday or a day of the
year-end break (行政機関の休日に関する法律第1条: 12月29日〜1月3日) becomes the next day
that is none of these. Every levy's notices use this.
"""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday


def is_closed(day: date) -> bool:
    year_end = (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)
    return day.weekday() >= 5 or year_end or jpholiday.is_holiday(day)


def next_open_day(day: date) -> date:
    """``day`` itself when the offices are open, else the first open day after it."""
    while is_closed(day):
        day += timedelta(days=1)
    return day
