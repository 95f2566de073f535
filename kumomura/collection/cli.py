"""`kumomura collection ...`: 延滞金, an addressee's account, payment files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from kumomura.collection import (
    arrears,
    certificate,
    debit,
    demands,
    payments,
    plans,
    refunds,
    service,
    slips,
    write_offs,
)
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
    run_job_here,
)

app = typer.Typer(no_args_is_help=True,
                  help="収納管理: 延滞金, accounts, payment files, 口座振替.")


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


@app.command("import-store")
def import_store(tenant: TenantOpt, file: Annotated[Path, typer.Argument(exists=True)],
                 on: OnOpt = None) -> None:
    """Take a コンビニ収納 速報 or 確報 file (120-byte records): held, or paid, reported (JSON)."""
    day = parse_date(on) if on else date.today()
    with open_db() as db, db.tenant_tx(tenant) as conn:
        report = payments.import_store_file(conn, audit_context("コンビニ収納の消込"), file.name,
                                            file.read_bytes(), day)
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))


@app.command("refund")
def refund(tenant: TenantOpt, atena: Annotated[str, typer.Option("--atena")],
           on: OnOpt = None,
           preview: Annotated[bool, typer.Option(help="計算だけ (記録しない)")] = False) -> None:
    """還付・充当 of a person's 過誤納金 on the 支出決定日, with 還付加算金 (JSON)."""
    day = parse_date(on) if on else date.today()
    with open_db() as db, db.tenant_tx(tenant) as conn:
        found = refunds.decide(conn, audit_context("過誤納金の還付"), ("person", atena), day,
                               preview=preview)
    print(json.dumps(found, ensure_ascii=False, indent=2))


@app.command("debit-enrol")
def debit_enrol(
    tenant: TenantOpt, atena: Annotated[str, typer.Option("--atena")],
    bank: Annotated[str, typer.Option(help="金融機関コード (4桁)")],
    branch: Annotated[str, typer.Option(help="支店コード (3桁)")],
    account: Annotated[str, typer.Option(help="口座番号 (7桁)")],
    holder: Annotated[str, typer.Option(help="口座名義 (カナ)")],
    starts: Annotated[str, typer.Option("--from", help="この日以後の納期限から (YYYY-MM-DD)")],
    levy: Annotated[str, typer.Option()] = "inhabitant_tax",
    account_type: Annotated[int, typer.Option("--type", help="1 普通, 2 当座, 9 その他")] = 1,
) -> None:
    """口座振替の申込 of a person for a levy."""
    with open_db() as db, db.tenant_tx(tenant) as conn:
        debit.enrol(conn, audit_context("口座振替の申込"), atena_no=atena, levy=levy,
                    bank_code=bank, branch_code=branch, account_type=account_type,
                    account_no=account, holder=holder, starts_on=parse_date(starts, "from"))
    console.print(f"口座振替を登録しました: {atena} ({levy}, {starts} から)")


@app.command("debit-request")
def debit_request(tenant: TenantOpt, on: Annotated[str, typer.Option("--on", help="引落日")],
                  out: Annotated[Path, typer.Option(help="the 全銀協 file to write")],
                  levy: Annotated[str, typer.Option()] = "inhabitant_tax") -> None:
    """The 全銀協 口座振替依頼 file of an 引落日 (the 納期限)."""
    with open_db() as db, db.tenant_tx(tenant) as conn:
        content = debit.request(conn, audit_context("口座振替依頼"), levy,
                                parse_date(on, "on"))
    out.write_bytes(content)
    records = content.count(b"\r\n") - 3
    console.print(f"{out}: {records:,}件")


@app.command("debit-results")
def debit_results(tenant: TenantOpt, file: Annotated[Path, typer.Argument(exists=True)]) -> None:
    """Take the bank's 振替結果 file: the debited paid, the rest left owed (JSON)."""
    with open_db() as db, db.tenant_tx(tenant) as conn:
        report = debit.take_results(conn, audit_context("口座振替結果"), file.name,
                                    file.read_bytes())
    print(json.dumps(report, ensure_ascii=False, indent=2))


@app.command("demands")
def demands_command(tenant: TenantOpt,
                    due: Annotated[str, typer.Option(help="納期限 (YYYY-MM-DD)")],
                    on: Annotated[str, typer.Option("--on", help="発付日 (納期限後20日以内)")],
                    ) -> None:
    """督促状 for the charges of a 納期限 still unpaid: a job writing PDF files and their
    index (under data_dir/demands/CODE/), run here with its progress."""
    with open_db() as db:
        job_id = demands.start(db, tenant, parse_date(due, "due"), parse_date(on, "on"),
                               actor=audit_context().actor)
        console.print(f"job {job_id}: {run_job_here(db, job_id, '督促状')}")


@app.command("slip")
def slip_command(tenant: TenantOpt, atena: Annotated[str, typer.Option("--atena")],
                 out: Annotated[Path, typer.Option(help="the PDF to write")],
                 year: Annotated[int | None, typer.Option(min=1989, max=2200)] = None,
                 on: OnOpt = None) -> None:
    """A person's 納付書 of a year (default: the latest), with the convenience-store
    barcode where the municipality has a 収納企業コード."""
    from kumomura.platform.tenancy.tenants import get_tenant

    day = parse_date(on) if on else date.today()
    with open_db() as db:
        found = get_tenant(db, tenant)
        with db.tenant_tx(tenant) as conn:
            pdf = slips.issue(conn, audit_context("納付書の発行"), atena, year, day,
                              municipality=found.name, prefecture=found.prefecture)
    out.write_bytes(pdf)
    console.print(f"{out}: {len(pdf):,} bytes")


@app.command("arrears")
def arrears_command(tenant: TenantOpt, on: OnOpt = None,
                    levy: Annotated[str | None, typer.Option()] = None,
                    fmt: FormatOpt = Format.TABLE) -> None:
    """滞納者: every payer with 本税 unpaid past its 納期限, oldest first, with aging."""
    day = parse_date(on) if on else date.today()
    with open_db() as db, db.tenant_tx(tenant) as conn:
        rows = arrears.arrears(conn, audit_context("滞納整理"), day, levy=levy)
    print_rows(rows, [Column("payer_no", "納付者"), Column("levy", "税目"),
                      Column("oldest_due", "最古の納期限"), Column("charges", "件数"),
                      Column("unpaid", "未納額"),
                      *(Column(label, label) for _, label in arrears.BUCKETS)], fmt)


@app.command("certificate")
def certificate_command(tenant: TenantOpt, atena: Annotated[str, typer.Option("--atena")],
                        purpose: Annotated[str, typer.Option(help="請求の目的")],
                        out: Annotated[Path, typer.Option(help="the PDF to write")],
                        on: OnOpt = None) -> None:
    """納税証明書 (完納証明): refused, naming what is owed, while anything due is unpaid."""
    from kumomura.platform.tenancy.tenants import get_tenant

    day = parse_date(on) if on else date.today()
    with open_db() as db:
        found = get_tenant(db, tenant)
        with db.tenant_tx(tenant) as conn:
            pdf = certificate.paid_in_full(conn, audit_context(purpose), atena, day,
                                           purpose=purpose, municipality=found.name,
                                           prefecture=found.prefecture)
    out.write_bytes(pdf)
    console.print(f"{out}: {len(pdf):,} bytes")


@app.command("arrears-list")
def arrears_list(tenant: TenantOpt, on: OnOpt = None,
                 levy: Annotated[str | None, typer.Option()] = None) -> None:
    """滞納者一覧 as a job: CSV files with names, addresses, aging, 分納誓約 and 執行停止
    (under data_dir/arrears/CODE/), run here with its progress."""
    day = parse_date(on) if on else date.today()
    with open_db() as db:
        job_id = arrears.start_list(db, tenant, day, levy=levy, actor=audit_context().actor)
        console.print(f"job {job_id}: {run_job_here(db, job_id, '滞納者一覧')}")


@app.command("plan")
def plan_command(tenant: TenantOpt, atena: Annotated[str, typer.Option("--atena")],
                 monthly: Annotated[int, typer.Option(help="毎月の納付額 (円)", min=1)],
                 first: Annotated[str, typer.Option(help="初回の納付日 (YYYY-MM-DD)")],
                 on: OnOpt = None, note: Annotated[str, typer.Option()] = "") -> None:
    """分納誓約 of a person for all they owe past its 納期限: the schedule (JSON)."""
    day = parse_date(on) if on else date.today()
    with open_db() as db, db.tenant_tx(tenant) as conn:
        found = plans.make(conn, audit_context("分納誓約"), ("person", atena), day,
                           parse_date(first, "first"), monthly, note=note)
    print(json.dumps(found, ensure_ascii=False, indent=2))


@app.command("plans")
def plans_command(tenant: TenantOpt, on: OnOpt = None,
                  state: Annotated[str | None, typer.Option(
                      help="active | breached | completed | cancelled")] = None,
                  fmt: FormatOpt = Format.TABLE) -> None:
    """分納誓約 with their state on the day (``--state breached``: the ones to follow up)."""
    day = parse_date(on) if on else date.today()
    with open_db() as db, db.tenant_tx(tenant) as conn:
        rows = plans.all_plans(conn, audit_context("分納誓約の管理"), day, state=state)
    print_rows([{k: v for k, v in r.items() if k != "schedule"} for r in rows], [
        Column("plan_id", "誓約番号"), Column("payer_no", "納付者"), Column("made_on", "誓約日"),
        Column("total", "誓約額"), Column("asked_to_date", "予定額累計"),
        Column("paid_since", "納付額累計"), Column("state", "状態"),
        Column("first_missed", "不履行の予定日")], fmt)


@app.command("stay")
def stay_command(tenant: TenantOpt, atena: Annotated[str, typer.Option("--atena")],
                 ground: Annotated[int, typer.Option(help="第15条の7第1項の号 (1〜3)")],
                 reason: Annotated[str, typer.Option(help="停止の理由 (調査の結果)")],
                 on: OnOpt = None,
                 at_once: Annotated[bool, typer.Option(help="即時消滅 (第5項、第1号のみ)")] = False,
                 ) -> None:
    """滞納処分の執行停止 of a person's arrears due before the day."""
    day = parse_date(on) if on else date.today()
    with open_db() as db, db.tenant_tx(tenant) as conn:
        stay_id = write_offs.stay(conn, audit_context("執行停止"), ("person", atena), day,
                                  ground, at_once=at_once, reason=reason)
    console.print(f"執行停止 {stay_id}: {atena} ({day} から、{write_offs.GROUNDS[ground]})")


@app.command("write-off")
def write_off_command(tenant: TenantOpt, on: OnOpt = None,
                      preview: Annotated[bool, typer.Option(help="一覧だけ (記録しない)")] = False,
                      fmt: FormatOpt = Format.TABLE) -> None:
    """不納欠損 of every charge extinguished by the day (時効 or 執行停止), with its ground."""
    day = parse_date(on) if on else date.today()
    with open_db() as db, db.tenant_tx(tenant) as conn:
        rows = write_offs.write_off(conn, audit_context("不納欠損"), day, preview=preview)
    print_rows(rows, [Column("payer_no", "納付者"), Column("levy", "税目"),
                      Column("fiscal_year", "年度"), Column("label", "期別"),
                      Column("due_date", "納期限"), Column("ground_name", "事由"),
                      Column("extinguished_on", "消滅日"), Column("tax", "本税"),
                      Column("late_fee", "延滞金")], fmt)


@app.command("employer")
def employer_command(tenant: TenantOpt,
                     number: Annotated[str, typer.Option("--no", help="特別徴収義務者指定番号")],
                     name: Annotated[str | None, typer.Option(help="名称")] = None,
                     postal: Annotated[str | None, typer.Option(help="郵便番号")] = None,
                     address: Annotated[str | None, typer.Option(help="所在地")] = None) -> None:
    """特別徴収義務者 as the letters to it need: its name, postal code and address."""
    with open_db() as db, db.tenant_tx(tenant) as conn:
        service.set_employer(conn, audit_context("特別徴収義務者の登録"), number, name=name,
                             postal_code=postal, address=address)
    console.print(f"特別徴収義務者 {number} を記録しました")
