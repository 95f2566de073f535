"""`kumomura seals ...`: seal registration for operators."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from kumomura.platform.clikit import (
    Column,
    Format,
    FormatOpt,
    TenantOpt,
    audit_context,
    console,
    load_json,
    open_db,
    parse_date,
    print_rows,
)
from kumomura.platform.tenancy.profile import office_of
from kumomura.seal_registration import service
from kumomura.seal_registration.models import AbolishIn, SealCertificateRequest, SealRegistrationIn

app = typer.Typer(no_args_is_help=True, help="印鑑登録: register, abolish, certify.")


@app.command("register")
def register(tenant: TenantOpt, source: Annotated[str, typer.Argument(help="JSON or -")]
             ) -> None:
    """Register a seal from its JSON document."""
    req = load_json(SealRegistrationIn, source)
    with open_db() as db, db.tenant_tx(tenant) as conn:
        row = service.register(conn, audit_context(), req)
    console.print(f"登録番号 {row['registration_no']} ({row['atena_no']})")


@app.command("list")
def list_(tenant: TenantOpt, atena_no: str, fmt: FormatOpt = Format.TABLE) -> None:
    """A person's registrations, active and abolished."""
    with open_db() as db, db.tenant_tx(tenant) as conn:
        rows = service.of_person(conn, atena_no, ctx=audit_context("印鑑登録照会"))
    print_rows(rows, [Column("registration_no", "登録番号"), Column("registered_on", "登録日"),
                      Column("status", "状態"), Column("abolished_on", "廃止日"),
                      Column("abolish_reason", "理由")], fmt)


@app.command("abolish")
def abolish(tenant: TenantOpt, registration_no: str,
            reason: Annotated[str, typer.Option(help="廃止の理由")],
            on: Annotated[str | None, typer.Option(help="廃止日")] = None) -> None:
    with open_db() as db, db.tenant_tx(tenant) as conn:
        service.abolish(conn, audit_context(), registration_no,
                        AbolishIn(abolished_on=parse_date(on, "on"), reason=reason))
    console.print(f"登録番号 {registration_no} を廃止しました")


@app.command("certificate")
def certificate(tenant: TenantOpt, registration_no: str,
                purpose: Annotated[str, typer.Option(help="請求の目的")],
                out: Annotated[Path, typer.Option(help="where to write the PDF")]) -> None:
    """Issue a seal certificate (印鑑登録証明書)."""
    with open_db() as db:
        office = office_of(db, tenant)
        with db.tenant_tx(tenant) as conn:
            issue_no, fee, pdf = service.issue_certificate(
                conn, audit_context(purpose), office, registration_no,
                SealCertificateRequest(purpose=purpose), today=date.today())
    out.write_bytes(pdf)
    console.print(f"発行番号 {issue_no}  手数料 {fee}円  → {out}")
