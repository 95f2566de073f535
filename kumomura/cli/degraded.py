"""`kumomura degraded ...` and `kumomura backup municipal`: the town hall's copy and the
counter that runs from it while the cloud is out of reach."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from kumomura.platform import installation
from kumomura.platform.clikit import TenantOpt, audit_context, console, open_db
from kumomura.platform.core.config import Settings, backup_keys, get_settings
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.resilience import degraded
from kumomura.platform.storage.db import Database

app = typer.Typer(no_args_is_help=True, help="縮退運用: the town hall's local counter.")


def package(tenant: TenantOpt, target: Annotated[Path, typer.Option("--to")]) -> None:
    """The municipal package a town hall keeps on site (encrypted with its key)."""
    with open_db() as db:
        info = degraded.package(db, tenant, target, key_dir=backup_keys(get_settings()),
                                ctx=audit_context("団体保管用パッケージ"),
                                layouts=installation.offline_layouts())
    console.print(f"{info.path} ({info.size:,} bytes)")


def _local(data_dir: Path) -> Database:
    return Database(None, data_dir)


@app.command("serve")
def serve(package_file: Annotated[Path, typer.Option("--package")],
          key_dir: Annotated[Path, typer.Option("--key-dir", help="the municipality's key")],
          data_dir: Annotated[Path, typer.Option(help="local data")] = Path("degraded-data"),
          user: Annotated[str, typer.Option(help="local counter user")] = "counter",
          port: int = 8100, no_serve: Annotated[bool, typer.Option("--no-serve")] = False,
          ) -> None:
    """Set up the local copy from the package and serve the counter, read-only but for
    certificates (numbered D...)."""
    import uvicorn

    local = _local(data_dir)
    password = degraded.open_local(local, package_file, key_dir=key_dir, username=user)
    console.print(f"縮退運用: http://127.0.0.1:{port}/  user {user}  password {password}")
    if no_serve:
        return
    os.environ["KUMOMURA_DEGRADED"] = "1"
    from kumomura.platform.core.config import get_settings as settings_of
    from kumomura.web.app import create_app

    settings_of.cache_clear()
    settings = Settings(database_url=None, data_dir=data_dir, degraded=True)
    uvicorn.run(create_app(settings=settings, db=local), host="127.0.0.1", port=port)


@app.command("log")
def log(data_dir: Annotated[Path, typer.Option()], tenant: TenantOpt,
        out: Annotated[Path, typer.Option()]) -> None:
    """The certificates issued in degraded operation, to bring back to the cloud (by the
    module that issued them)."""
    local = _local(data_dir)
    logs = {m.code: m.offline.issuance_log(local, tenant) for m in installation.installed()
            if m.offline is not None and m.offline.issuance_log is not None}
    out.write_text(json.dumps(logs, ensure_ascii=False, indent=1), encoding="utf-8")
    console.print(f"{sum(map(len, logs.values()))} 件 → {out}")


@app.command("bring-back")
def bring_back(tenant: TenantOpt, source: Path) -> None:
    """Record in the cloud the certificates issued at the town hall (safe to repeat)."""
    logs = json.loads(source.read_text(encoding="utf-8"))
    added = total = 0
    with open_db() as db:
        for code, rows in logs.items():
            hooks = installation.module(code).offline
            if hooks is None or hooks.bring_back is None:
                raise InvalidInput(f"{code} は縮退運用の記録を持ちません", field=code)
            added += hooks.bring_back(db, tenant, rows, audit_context("縮退運用の記録の取込み"))
            total += len(rows)
    console.print(f"{added} 件を記録しました ({total - added} 件は記録済み)")
