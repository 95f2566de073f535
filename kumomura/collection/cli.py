"""`kumomura collection ...`: 延滞金, an addressee's account, payment files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from kumomura.collection import payments, service
from kumomura.collection.late_fee import late_fee
from kumomura.platform.clikit import (
    Column,
    Format,
    FormatOpt,
    OnOpt,
    TenantOpt,
    audit_context,
    console,
    open_db,
    parse_date,
    print_rows,
)

app = typer.Typer(no_args_is_help=True, help="収納管理: 延滞金, accounts, payment files.")


@app.command("late-fee")
def late_fee_command(
    amount: Annotated[int, typer.Option(help="本税 (円)", min=0)],
    due: Annotated[str, typer.Option(help="納期限 (YYYY-MM-DD)")],
    paid: Annotated[str, typer.Option(help="納付日 (YYYY-MM-DD)")],
) -> None:
    """The 延滞金 of a tax paid late, with each term (rate, days, amount), as JSON."""
    fee = late_fee(amount, parse_date(due, "due"), [(parse_date(paid, "paid"), amount)]
                   if amount else [])
    print(json.dumps({"amount": amount, "due": due, "paid": paid, **fee.as_dict()},
                     ensure_ascii=False, indent=2))


@app.command("account")
def account(tenant: TenantOpt, atena: Annotated[str, typer.Option("--atena")],
            on: OnOpt = None, fmt: FormatOpt = Format.TABLE) -> None:
    """An addressee's charges of every levy, payments, balance and 延滞金 to date."""
    day = parse_date(on) if on else date.today()
    with open_db() as db, db.tenant_tx(tenant) as conn:
        found = service.account(conn, audit_context("納付状況の確認"), atena, day)
    if fmt == Format.JSON:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return
    print_rows(found["charges"], [
        Column("levy", "税目"), Column("fiscal_year", "年度"), Column("label", "期別"),
        Column("due_date", "納期限"), Column("amount", "調定額"), Column("paid", "収納額"),
        Column("balance", "未納額"), Column("late_fee_due", "延滞金")], fmt)
    if fmt == Format.TABLE:
        console.print(f"未納 {found['balance']:,}円 延滞金 {found['late_fee_due']:,}円 "
                      f"({found['on']} 現在)")


@app.command("import-payments")
def import_payments(tenant: TenantOpt, file: Annotated[Path, typer.Argument(exists=True)],
                    channel: Annotated[str, typer.Option(help="bank | counter")] = "bank",
                    ) -> None:
    """Take a payment CSV (納付番号, 納付日, 納付額, 宛名番号): match, apply, report (JSON)."""
    with open_db() as db, db.tenant_tx(tenant) as conn:
        report = payments.import_file(conn, audit_context("収納消込"), file.name,
                                      file.read_bytes(), channel=channel)
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
