"""`kumomura backup ...`: per-municipality backups, their check, and restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kumomura.platform.clikit import (
    Column,
    Format,
    FormatOpt,
    audit_context,
    console,
    err,
    open_db,
    print_rows,
    progress,
)
from kumomura.platform.core.config import backup_keys, get_settings
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.resilience import backup, restores
from kumomura.platform.tenancy.tenants import list_tenants

app = typer.Typer(no_args_is_help=True,
                  help="Backups per municipality: run, list, verify, restore.")
TargetOpt = Annotated[str, typer.Option(
    "--to", help="backup directory, or postgresql://... of the second data center")]


@app.command("run")
def run(target: TargetOpt, tenant: Annotated[str | None, typer.Option("--tenant", "-t")] = None,
        all_: Annotated[bool, typer.Option("--all", help="every municipality")] = False,
        keep: Annotated[int, typer.Option(help="generations kept per municipality")] = 7,
        ) -> None:
    """Back up one municipality (or all), encrypted with its own key."""
    if bool(tenant) == all_:
        raise InvalidInput("--tenant か --all のどちらかを指定してください", field="tenant")
    keys = backup_keys(get_settings())
    with open_db() as db:
        codes = [tenant] if tenant else [t.lg_code for t in list_tenants(db, include_left=False)]
        with progress() as bar:
            task = bar.add_task("backup", total=len(codes))
            for code in codes:
                info = backup.run(db, code, target, key_dir=keys, keep=keep,
                                  ctx=audit_context("バックアップ"))
                bar.advance(task)
                console.print(f"{code}: {info.path.name} ({info.size:,} bytes)")


@app.command("list")
def list_(target: TargetOpt,
          tenant: Annotated[str | None, typer.Option("--tenant", "-t")] = None,
          fmt: FormatOpt = Format.TABLE) -> None:
    """The backups kept, newest last, with their age (what an RPO is measured in)."""
    rows = [{"lg_code": info.lg_code, "created_at": info.created_at[:19],
             "file": info.path.name, "size": info.size, "hours": round(backup.age(info), 1)}
            for info in backup.listing(target, tenant)]
    print_rows(rows, [Column("lg_code", "団体"), Column("created_at", "作成日時 (UTC)"),
                      Column("file", "ファイル"), Column("size", "大きさ", yen=True),
                      Column("hours", "経過 (時間)")], fmt)


@app.command("verify")
def verify(file: Path) -> None:
    """Decrypt and check every file of a backup against its manifest."""
    result = backup.verify(file, key_dir=backup_keys(get_settings()))
    rows = result["rows"]
    assert isinstance(rows, dict)
    console.print(f"{result['lg_code']} {result['created_at']}: OK, "
                  f"{sum(rows.values()):,} rows in {len(rows)} tables")


@app.command("restore")
def restore(file: Path, tenant: Annotated[str, typer.Option("--tenant", "-t")],
            report: Annotated[Path | None, typer.Option(help="report directory")] = None,
            ) -> None:
    """Put a municipality that is still onboarding back as it was in the backup (one
    transaction). A live one is restored through request-restore and approve-restore."""
    with open_db() as db:
        result = backup.restore(db, tenant, file, key_dir=backup_keys(get_settings()),
                                report_dir=report)
    if not result.written:
        err.print(result.summary())
        raise typer.Exit(2)
    console.print(f"{tenant}: restored from {file.name}")


@app.command("request-restore")
def request_restore(file: Path, tenant: Annotated[str, typer.Option("--tenant", "-t")],
                    reason: Annotated[str, typer.Option(help="why (kept in its log)")],
                    ) -> None:
    """Ask for the restore of a live municipality; a different person approves it."""
    with open_db() as db:
        request_id = restores.request(db, tenant, file, reason=reason,
                                      ctx=audit_context("復元の要求"))
    console.print(f"復元の要求 {request_id}: 別の担当者が `kumomura backup approve-restore "
                  f"{request_id}` で承認します")


@app.command("approve-restore")
def approve_restore(
    request_id: Annotated[int, typer.Argument()],
    report: Annotated[Path | None, typer.Option(help="report directory")] = None,
) -> None:
    """Approve a restore someone else asked for, and carry it out."""
    ctx = audit_context("復元の承認")
    with open_db() as db:
        found = restores.approve(db, request_id, ctx=ctx)
        result = restores.run(db, request_id, key_dir=backup_keys(get_settings()), ctx=ctx,
                              report_dir=report)
    if not result.written:
        err.print(result.summary())
        raise typer.Exit(2)
    console.print(f"{found.lg_code}: restored from {Path(found.backup_file).name} "
                  f"(asked by {found.requested_by}, approved by {found.approved_by})")


@app.command("drill")
def drill(target: TargetOpt,
          tenant: Annotated[str | None, typer.Option("--tenant", "-t")] = None,
          fmt: FormatOpt = Format.TABLE) -> None:
    """Restore each municipality's latest backup into a scratch deployment, compare it
    with the backup's manifest, and record the drill with its restore time."""
    with open_db() as db:
        results = backup.drill(db, target, key_dir=backup_keys(get_settings()),
                               ctx=audit_context("バックアップ訓練"),
                               lg_codes=[tenant] if tenant else None)
    shown = [{**r, "result": "OK" if r["result"] == "ok" else "失敗",
              "detail": str(r["detail"])} for r in results] if fmt is Format.TABLE else results
    print_rows(shown, [Column("lg_code", "団体"), Column("backup_file", "バックアップ"),
                       Column("restore_seconds", "復元 (秒)"), Column("result", "結果"),
                       Column("detail", "内容")], fmt)
    if any(r["result"] != "ok" for r in results):
        raise typer.Exit(1)


@app.command("fetch")
def fetch(source: Annotated[str, typer.Option("--from", help="postgresql://...")], name: str,
          into: Annotated[Path, typer.Option("--to")]) -> None:
    """A backup from the second data center back into a directory (to verify or restore)."""
    from kumomura.platform.resilience import backup_remote

    path = backup_remote.fetch(source, name, into)
    console.print(f"{path}")
