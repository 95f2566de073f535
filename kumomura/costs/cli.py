"""`kumomura costs ...`: the secretariat's cost sharing from the command line."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated

import typer

from kumomura.costs import service
from kumomura.costs.forms import report_pdf
from kumomura.costs.rules import Member, Weights
from kumomura.costs.service import member_label
from kumomura.platform.clikit import (
    Column,
    Format,
    FormatOpt,
    TenantOpt,
    actor,
    console,
    open_db,
    parse_date,
    print_rows,
)
from kumomura.platform.core.errors import InvalidInput

app = typer.Typer(no_args_is_help=True,
                  help="割り勘: cost items, weights, standalone costs, allocation, reports.")
YearOpt = Annotated[int, typer.Option("--year", "-y", help="年度 (fiscal year)")]


@app.command("items")
def items(source: Annotated[Path, typer.Argument(help="CSV of cost items")]) -> None:
    """Load cost items (all or none; each problem names its line and column)."""
    parsed = service.parse_items(source.read_text(encoding="utf-8"))
    with open_db() as db:
        count = service.store_items(db, parsed, actor=actor())
    console.print(f"{count} 費目を登録しました")


@app.command("weights")
def weights(code: str, equal: Annotated[str, typer.Option()],
            population: Annotated[str, typer.Option()], year: YearOpt,
            usage: Annotated[str, typer.Option()] = "0",
            metric: Annotated[str | None, typer.Option()] = None,
            reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Change an item's weights from a fiscal year (the history is kept)."""
    w = Weights(Fraction(Decimal(equal)), Fraction(Decimal(population)),
                Fraction(Decimal(usage)), metric)
    with open_db() as db:
        service.set_weights(db, code, w, from_year=year, actor=actor(), reason=reason)
    console.print(f"{code}: {year}年度から 均等 {equal} / 人口 {population} / 利用 {usage}")


@app.command("standalone")
def standalone(tenant: TenantOpt, year: YearOpt, amount: int,
               basis: Annotated[str, typer.Option(help="根拠")] = "発注前年間経費") -> None:
    """A member's standalone cost for a year (what it would pay alone)."""
    with open_db() as db:
        service.set_standalone(db, tenant, year, amount, basis=basis, actor=actor())
    console.print(f"{tenant} {year}年度 発注前年間経費 {amount:,}円")


@app.command("guarantee")
def guarantee(year: YearOpt, percent: Annotated[str, typer.Argument(help="% or none")],
              reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Require every member to save at least this much (or `none`)."""
    value = None if percent == "none" else Decimal(percent)
    with open_db() as db:
        service.set_guarantee(db, year, value, actor=actor(), reason=reason)
    console.print(f"{year}年度 削減率の保証: {percent}")


@app.command("meter")
def meter(year: YearOpt, fmt: FormatOpt = Format.TABLE) -> None:
    """Measure each member's usage of the year (residents, certificates, notices)."""
    with open_db() as db:
        measured = service.meter(db, year)
    print_rows([{"lg_code": code, **v} for code, v in measured.items()],
               [Column("lg_code", "団体"), Column("residents", "住民", yen=True),
                Column("certificates", "証明書", yen=True),
                Column("notices", "通知書", yen=True),
                Column("api_calls", "API呼出し", yen=True)], fmt)


def _print(s: dict[str, object], fmt: Format) -> None:
    rows = s["rows"]
    assert isinstance(rows, list)
    shown = [{"lg_code": r["lg_code"], "name": member_label(r), "standalone": r["standalone"],
              "charge": r["charge"], "saving": r["saving"], "rate": r["rate"],
              "share": r["share"], "adjustment": r["adjustment"]} for r in rows]
    shown.append({"lg_code": None, "name": "合計", "standalone": s["standalone_total"],
                  "charge": s["total"], "saving": s["saving_total"], "rate": s["rate_total"],
                  "share": s["share_total"], "adjustment": None})
    columns = [Column("name", "団体名"), Column("standalone", "発注前年間経費", yen=True),
               Column("charge", "発注後年間経費", yen=True),
               Column("saving", "削減額", yen=True), Column("rate", "削減率(%)"),
               Column("share", "構成割合(%)"), Column("adjustment", "保証調整", yen=True)]
    print_rows(shown, columns if fmt is Format.TABLE else [Column("lg_code", ""), *columns],
               fmt)
    if fmt is Format.TABLE and s["guarantee"] is not None and not s["feasible"]:
        console.print(f"[red]削減率 {s['guarantee']}% の保証はどの按分でも満たせません。"
                      f"満たせる最大は {s['best_guarantee']}% です[/red]")


@app.command("allocate")
def allocate(year: YearOpt,
             guarantee: Annotated[str | None, typer.Option(help="% (this run only)")] = None,
             fmt: FormatOpt = Format.TABLE) -> None:
    """Split the year's bill and show the table the consortia publish."""
    with open_db() as db:
        inputs = service.inputs(db, year)
    if guarantee is not None:
        inputs = service.apply_change(inputs, service.Change(
            guarantee=Fraction(Decimal(guarantee)) / 100))
    _print(service.summary(service.run(inputs)), fmt)


def _member(spec: str) -> Member:
    try:
        code, name, population, go_live, alone = spec.split(":")
        day = parse_date(go_live, "add")
        return Member(code, name, int(population), {"residents": day, "inhabitant_tax": day},
                      standalone=int(alone) if alone else None)
    except ValueError:
        raise InvalidInput("--add は 団体コード:団体名:人口:稼働日:発注前年間経費 です",
                           field="add") from None


def _weights(spec: str) -> tuple[str, Weights]:
    try:
        code, values = spec.split("=")
        equal, population, usage = (Fraction(Decimal(v)) for v in values.split(","))
    except ValueError:
        raise InvalidInput("--weight は 費目=均等,人口,利用 です (例 R01=0.5,0.5,0)",
                           field="weight") from None
    return code, Weights(equal, population, usage)


def _amount(spec: str) -> tuple[str, int]:
    code, _, value = spec.partition("=")
    if not value.isdigit():
        raise InvalidInput("--amount は 費目=金額 です (例 R01=28000000)", field="amount")
    return code, int(value)


@app.command("what-if")
def what_if(year: YearOpt,
            add: Annotated[list[str] | None, typer.Option(help="CODE:NAME:POP:GOLIVE:ALONE")]
            = None,
            remove: Annotated[list[str] | None, typer.Option()] = None,
            weight: Annotated[list[str] | None, typer.Option(help="ITEM=equal,pop,usage")]
            = None,
            amount: Annotated[list[str] | None, typer.Option(help="ITEM=yen")] = None,
            fmt: FormatOpt = Format.TABLE) -> None:
    """Each member's charge before and after a change: members joining or leaving
    (割り勘効果), other weights, other amounts."""
    change = service.Change(add=tuple(_member(a) for a in add or []),
                            remove=tuple(remove or []),
                            weights=tuple(_weights(w) for w in weight or []),
                            amounts=tuple(_amount(a) for a in amount or []))
    with open_db() as db:
        result = service.what_if(service.inputs(db, year), change)
    print_rows(result["members"], [Column("name", "団体"), Column("before", "変更前", yen=True),
                                   Column("after", "変更後", yen=True),
                                   Column("difference", "差", yen=True)], fmt)


@app.command("report")
def report(year: YearOpt, out: Annotated[Path, typer.Option(help="directory")],
           consortium: Annotated[str, typer.Option(help="名称")] = "置賜自治体クラウド",
           ) -> None:
    """Write the table as CSV and PDF."""
    with open_db() as db:
        s = service.summary(service.run(service.inputs(db, year)))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"costs-{year}.csv").write_text(service.report_csv(s), encoding="utf-8")
    (out / f"costs-{year}.pdf").write_bytes(report_pdf(s, consortium))
    console.print(f"costs-{year}.csv, costs-{year}.pdf → {out}")
