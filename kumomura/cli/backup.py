"""`kumomura backup ...`: per-municipality backups, their check, and restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kumomura.platform.clikit import audit_context, console, err, open_db, progress
from kumomura.platform.core.config import backup_keys, get_settings
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.resilience import backup
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
          tenant: Annotated[str | None, typer.Option("--tenant", "-t")] = None) -> None:
    table = Table("団体", "作成日時 (UTC)", "ファイル", "大きさ", "経過 (時間)")
    for info in backup.listing(target, tenant):
        table.add_row(info.lg_code, info.created_at[:19], info.path.name, f"{info.size:,}",
                      f"{backup.age(info):.1f}")
    console.print(table)


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
    """Put a municipality back as it was in the backup (one transaction)."""
    with open_db() as db:
        result = backup.restore(db, tenant, file, key_dir=backup_keys(get_settings()),
                                report_dir=report)
    if not result.written:
        err.print(result.summary())
        raise typer.Exit(2)
    console.print(f"{tenant}: restored from {file.name}")


@app.command("drill")
def drill(target: TargetOpt,
          tenant: Annotated[str | None, typer.Option("--tenant", "-t")] = None) -> None:
    """Restore each municipality's latest backup into a scratch deployment, compare it
    with the backup's manifest, and record the drill with its restore time."""
    with open_db() as db:
        results = backup.drill(db, target, key_dir=backup_keys(get_settings()),
                               ctx=audit_context("バックアップ訓練"),
                               lg_codes=[tenant] if tenant else None)
    table = Table("団体", "バックアップ", "復元 (秒)", "結果", "内容")
    for r in results:
        table.add_row(str(r["lg_code"]), str(r["backup_file"]), f"{r['restore_seconds']}",
                      "OK" if r["result"] == "ok" else "[red]失敗[/red]", str(r["detail"])[:60])
    console.print(table)
    if any(r["result"] != "ok" for r in results):
        raise typer.Exit(1)


@app.command("fetch")
def fetch(source: Annotated[str, typer.Option("--from", help="postgresql://...")], name: str,
          into: Annotated[Path, typer.Option("--to")]) -> None:
    """A backup from the second data center back into a directory (to verify or restore)."""
    from kumomura.platform.resilience import backup_remote

    path = backup_remote.fetch(source, name, into)
    console.print(f"{path}")
