"""`kumomura residents ...`: the registry for operators, with the same use cases as the API.

Changes take the same JSON documents as the API (a file, or ``-`` for stdin), so a
notification can be prepared, checked and replayed exactly.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from pydantic import BaseModel

from kumomura.platform.clikit import (
    Column,
    Format,
    FormatOpt,
    TenantOpt,
    audit_context,
    console,
    load_json,
    open_db,
    print_rows,
)
from kumomura.platform.core.errors import FieldProblem, invalid
from kumomura.platform.tenancy.profile import office_of
from kumomura.residents import certificates, service
from kumomura.residents import changes as ch
from kumomura.residents.models import (
    Birth,
    Cancellation,
    CertificateRequest,
    Correction,
    Death,
    HouseholdChange,
    MoveIn,
    MoveOut,
    ProtectionOrderIn,
    Relocation,
)

app = typer.Typer(no_args_is_help=True, help="住民記録: search, records, changes, certificates.")

PurposeOpt = Annotated[str, typer.Option("--purpose", help="why the record is looked at")]
JsonArg = Annotated[str, typer.Argument(help="JSON file, or - for stdin")]

CHANGES: dict[str, type[BaseModel]] = {
    "move-in": MoveIn, "birth": Birth, "move-out": MoveOut, "relocation": Relocation,
    "death": Death, "household": HouseholdChange, "correction": Correction,
    "cancellation": Cancellation,
}


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value, ensure_ascii=False, default=str))


@app.command("search")
def search(tenant: TenantOpt, purpose: PurposeOpt = "窓口照会",
           kana: str | None = None, name: str | None = None, birth: str | None = None,
           address: str | None = None, atena: str | None = None,
           household: str | None = None, removed: bool = False,
           fmt: FormatOpt = Format.TABLE) -> None:
    """Find residents (kana, name and address by prefix)."""
    criteria = service.SearchCriteria(
        kana=kana, name=name, birth_date=date.fromisoformat(birth) if birth else None,
        address=address, atena_no=atena, household_no=household, include_removed=removed)
    with open_db() as db, db.tenant_tx(tenant) as conn:
        rows = service.search(conn, audit_context(purpose), criteria)
    if fmt is Format.TABLE:
        rows = [{**r, "status": "住民" if r["status"] == "resident"
                 else f"除票 {r['removal_reason']}"} for r in rows]
    print_rows(rows, [Column("atena_no", "宛名番号"), Column("name", "氏名"),
                      Column("kana", "フリガナ"), Column("birth_date", "生年月日"),
                      Column("relationship", "続柄"), Column("address_town", "住所"),
                      Column("status", "状態")], fmt)
    if fmt is Format.TABLE:
        console.print(f"{len(rows)} 件")


@app.command("show")
def show(tenant: TenantOpt, atena_no: str, purpose: PurposeOpt = "窓口照会",
         fmt: FormatOpt = Format.TABLE) -> None:
    """A person's record with its history and household (audited); as JSON or CSV, the
    record's versions."""
    with open_db() as db, db.tenant_tx(tenant) as conn:
        view = service.record(conn, audit_context(purpose), atena_no)
    columns = [Column("version_no", "版"), Column("change_type", "異動"),
               Column("valid_from", "異動日"), Column("notified_on", "届出日"),
               Column("address_town", "住所"), Column("relationship", "続柄"),
               Column("status", "状態")]
    if fmt is not Format.TABLE:
        print_rows(view["history"], columns, fmt)
        return
    cur = view["current"]
    console.print(f"[bold]{cur['name']}[/bold] ({cur['kana']})  宛名番号 {cur['atena_no']}  "
                  f"世帯 {cur['household_no']}  {cur['relationship']}  "
                  f"{'住民' if cur['status'] == 'resident' else '除票'}")
    print_rows(view["history"], columns)
    for order in view["protection_orders"]:
        console.print(f"[red]支援措置[/red] {order['starts_on']} 〜 {order['ends_on']}")


@app.command("household")
def household(tenant: TenantOpt, household_no: str, purpose: PurposeOpt = "窓口照会",
              fmt: FormatOpt = Format.TABLE) -> None:
    """A household's living members, householder first."""
    with open_db() as db, db.tenant_tx(tenant) as conn:
        house = service.household(conn, household_no, ctx=audit_context(purpose))
    print_rows(house["members"], [Column("atena_no", "宛名番号"), Column("name", "氏名"),
                                  Column("relationship", "続柄"),
                                  Column("birth_date", "生年月日")], fmt)


@app.command("change")
def change(kind: Annotated[str, typer.Argument(help=", ".join(CHANGES))], tenant: TenantOpt,
           source: JsonArg) -> None:
    """Enter a change (異動) from its JSON document; prints the result."""
    if kind not in CHANGES:
        raise invalid([FieldProblem("kind", f"{kind!r}: one of {', '.join(CHANGES)}")])
    req = load_json(CHANGES[kind], source)
    ctx = audit_context()
    with open_db() as db:
        office = office_of(db, tenant)
        with db.tenant_tx(tenant) as conn:
            result = ch.apply(conn, ctx, office, cast(ch.Notification, req))
    for warning in result.warnings:
        console.print(f"[yellow]注意:[/yellow] {warning}")
    _print_json(asdict(result))


@app.command("certificate")
def certificate(tenant: TenantOpt, source: JsonArg,
                out: Annotated[Path, typer.Option("--out", help="where to write the PDF")],
                override: Annotated[bool, typer.Option(
                    help="allow issuing past a protection order (needs override_reason)")]
                = False) -> None:
    """Issue a certificate from its request document and write the PDF."""
    req = load_json(CertificateRequest, source)
    with open_db() as db:
        office = office_of(db, tenant)
        with db.tenant_tx(tenant) as conn:
            issued = certificates.issue(conn, audit_context(req.purpose), office, req,
                                        may_override=override)
    out.write_bytes(issued.pdf)
    console.print(f"発行番号 {issued.issue_no}  手数料 {issued.fee}円  → {out}")


@app.command("protect")
def protect(tenant: TenantOpt, source: JsonArg) -> None:
    """Record a protection order (支援措置) from its JSON document."""
    req = load_json(ProtectionOrderIn, source)
    with open_db() as db, db.tenant_tx(tenant) as conn:
        order = service.add_protection(conn, audit_context(), req)
    console.print(f"支援措置 {order['id']}: {order['starts_on']} 〜 {order['ends_on']}")
