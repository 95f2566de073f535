"""The 調定 this levy publishes for collection: 普通徴収 in four installments per person,
特別徴収 per employer and month (June to May), each with its 納期限 and 納付番号.

特別徴収: the employer pays what it withheld in a month by the 10th of the next month
(地方税法第321条の5第1項), moved past closed days; one 納付書 a month covers all its
employees, so their lines share the 納付番号. Lines come in groups (``GROUP`` lines an
event) so that no event's payload grows with the size of the batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from kumomura.inhabitant_tax.calculation import due_dates
from kumomura.inhabitant_tax.params import InhabitantTaxParameters
from kumomura.inhabitant_tax.tables import income_returns
from kumomura.platform.core.business_days import next_open_day
from kumomura.platform.levies import ChargeLine, Payer, payment_number

GROUP = 500


def special_due_date(fiscal_year: int, month: int) -> date:
    """The 納期限 of 特別徴収 month ``month`` (1 = June): the 10th of the next month."""
    calendar_month = (5 + month) % 12 + 1  # June (1) is paid in July, May (12) in June
    year = fiscal_year + (1 if month >= 7 else 0)
    return next_open_day(date(year, calendar_month, 10))


def charge_lines(rows: pl.DataFrame, tenant: InhabitantTaxParameters,
                 fiscal_year: int, *, with_zero: bool = False) -> list[ChargeLine]:
    """The installments of assessed rows (``atena_no``, ``employer_no``,
    ``special_collection``, ``ordinary_1..4``, ``special_1..12``). A zero installment is
    no charge, but a 更正 names it too (``with_zero``): one charged before goes to zero."""
    ordinary_due = due_dates(tenant, fiscal_year)
    special_due = [special_due_date(fiscal_year, m) for m in range(1, 13)]
    lines = []
    for row in rows.iter_rows(named=True):
        employer = row["employer_no"] if row["special_collection"] else None
        if employer:
            for m in range(1, 13):
                if with_zero or row[f"special_{m}"] > 0:
                    lines.append(ChargeLine(
                        payer_kind="employer", payer_no=employer, atena_no=row["atena_no"],
                        installment=m, label=f"{(m + 4) % 12 + 1}月分",
                        due_date=special_due[m - 1], amount=row[f"special_{m}"],
                        payment_no=payment_number("inhabitant_tax_special", fiscal_year,
                                                  employer, m)))
        else:
            for i in range(1, 5):
                if with_zero or row[f"ordinary_{i}"] > 0:
                    lines.append(ChargeLine(
                        payer_kind="person", payer_no=row["atena_no"],
                        atena_no=row["atena_no"], installment=i, label=f"第{i}期",
                        due_date=ordinary_due[i - 1], amount=row[f"ordinary_{i}"],
                        payment_no=payment_number("inhabitant_tax", fiscal_year,
                                                  row["atena_no"], i)))
    return lines


def correction_lines(rows: pl.DataFrame, before: Mapping[Any, Any] | None,
                     tenant: InhabitantTaxParameters, fiscal_year: int) -> list[ChargeLine]:
    """A 更正's lines: the new installments, zeros among them, and a zero for each
    installment the assessment before it had and this one has not (moved from 特別徴収
    to 普通徴収, or to another employer), so collection drops those charges."""
    lines = charge_lines(rows, tenant, fiscal_year, with_zero=True)
    if before is None:
        return lines
    had = charge_lines(pl.DataFrame([{k: before[k] for k in (
        "atena_no", "employer_no", "special_collection",
        *(f"ordinary_{i}" for i in range(1, 5)), *(f"special_{m}" for m in range(1, 13)))}]),
        tenant, fiscal_year, with_zero=True)
    now = {(ln.payer_kind, ln.payer_no, ln.installment) for ln in lines}
    return lines + [ln.model_copy(update={"amount": 0}) for ln in had
                    if (ln.payer_kind, ln.payer_no, ln.installment) not in now]


def in_groups(lines: list[ChargeLine]) -> Iterator[list[ChargeLine]]:
    for start in range(0, len(lines), GROUP):
        yield lines[start:start + GROUP]


def employer_names(conn: Connection, fiscal_year: int, numbers: list[str]) -> dict[str, str]:
    """The names the 給与支払報告書 of the year's income gave these employers."""
    r = income_returns.c
    names: dict[str, str] = {}
    for start in range(0, len(numbers), 500):
        names |= {no: name for no, name in conn.execute(
            select(r.employer_no, func.max(r.employer_name)).where(
                r.income_year == fiscal_year - 1, r.employer_no.in_(numbers[start:start + 500]))
            .group_by(r.employer_no)).all() if name}
    return names


def employer_payers(conn: Connection, fiscal_year: int, lines: list[ChargeLine]) -> list[Payer]:
    """The employers these lines name, for collection's letters to them."""
    numbers = sorted({ln.payer_no for ln in lines if ln.payer_kind == "employer"})
    names = employer_names(conn, fiscal_year, numbers) if numbers else {}
    return [Payer(payer_no=no, name=names[no][:200]) for no in numbers if no in names]
