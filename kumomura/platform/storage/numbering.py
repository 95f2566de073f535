"""Numbers a municipality issues: addressee and household numbers, certificate numbers.

Each series is a row in the tenant's ``counters`` table, taken under a row lock. Register
numbers (宛名番号, 世帯番号) are taken in the caller's transaction: a number is issued only
if the change that uses it commits, and a committed number is never issued again (a
cancelled entry keeps its number). Certificate numbers are taken apart, in a short
transaction of their own, so the counter is not held while the certificate renders: a
number whose issue then fails is never issued again and stays a gap (欠番) in the
issue history.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, Integer, String, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite

from kumomura.platform.storage.db import tenant_metadata

counters = Table(
    "counters",
    tenant_metadata,
    Column("series", String(64), primary_key=True),
    Column("last_value", Integer, nullable=False),
)

_M11_WEIGHTS = (2, 3, 4, 5, 6, 7)


def m11_check_digit(serial: str) -> int:
    """Modulus 11, weights 2 to 7 from the lowest digit (住民記録システム標準仕様書
    1.1.13 宛名番号・世帯番号). A remainder of 0 gives 0, as the spec says; a remainder of
    1 would give 10, and gives 0 as well, as for the 個人番号 (番号法施行令 第8条)."""
    total = sum(int(d) * _M11_WEIGHTS[i % 6] for i, d in enumerate(reversed(serial)))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def with_check_digit(serial: int, width: int) -> str:
    """A serial padded to ``width - 1`` digits followed by its check digit."""
    body = str(serial).zfill(width - 1)
    if len(body) != width - 1:
        raise OverflowError(f"serial {serial} does not fit in {width - 1} digits")
    return body + str(m11_check_digit(body))


def is_valid_check_digit(number: str, width: int) -> bool:
    return (len(number) == width and number.isdigit()
            and int(number[-1]) == m11_check_digit(number[:-1]))


def next_value(conn: Connection, series: str) -> int:
    """The next value of a series (1 for a new series), locked until the transaction ends.
    A new series is created with ON CONFLICT DO NOTHING, so two first takers cannot clash."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(dialect_insert(counters).values(series=series, last_value=0)
                 .on_conflict_do_nothing(index_elements=["series"]))
    last = conn.execute(
        select(counters.c.last_value).where(counters.c.series == series).with_for_update()
    ).scalar_one()
    value = int(last) + 1
    conn.execute(update(counters).where(counters.c.series == series).values(last_value=value))
    return value


def next_value_apart(conn: Connection, series: str) -> int:
    """The next value, taken and committed in a transaction of its own beside the
    caller's (PostgreSQL, over the municipality's side pool): the series' row is locked
    for that moment only. On SQLite, where one writer holds the whole file anyway, in
    the caller's transaction."""
    options = conn.get_execution_options()
    side = options.get("side_engine")
    if side is None:
        return next_value(conn, series)
    with side.begin() as own:
        return next_value(own.execution_options(
            schema_translate_map=options["schema_translate_map"]), series)
