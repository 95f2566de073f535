"""Export (exit): every table a tenant owns, in its standard layout, from one snapshot.

The files are written in key order with one canonical form per value, so exporting the
same data twice, or after an import of an export, gives the same bytes. The manifest
lists each file's layout version, row count and SHA-256.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.exchange.layouts import FORMAT_VERSION, Layout, all_layouts, format_value
from kumomura.platform.storage.db import Database

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ExportedFile:
    layout: str
    file: str
    version: str
    rows: int
    sha256: str


class _HashingWriter:
    """A text sink that hashes what it writes (the checksum comes with the file)."""

    def __init__(self, path: Path) -> None:
        self.handle = path.open("w", encoding="utf-8", newline="")
        self.digest = hashlib.sha256()

    def write(self, text: str) -> int:
        self.digest.update(text.encode("utf-8"))
        return self.handle.write(text)

    def close(self) -> None:
        self.handle.close()


def _export_layout(conn: Any, layout: Layout, out_dir: Path) -> ExportedFile:
    sink = _HashingWriter(out_dir / layout.file)
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow([f.name for f in layout.fields])
    columns = [layout.table.c[f.name] for f in layout.fields]
    # Keys in code-point order on every database, so the bytes do not depend on a
    # cluster's collation.
    order = [layout.table.c[k].collate("C") if layout.field(k).type == "text"
             and conn.dialect.name == "postgresql" else layout.table.c[k]
             for k in layout.key]
    rows = 0
    try:
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(
            select(*columns).order_by(*order))
        for row in result:
            writer.writerow([format_value(f, v) for f, v in zip(layout.fields, row,
                                                                strict=True)])
            rows += 1
    finally:
        sink.close()
    return ExportedFile(layout.name, layout.file, layout.version, rows, sink.digest.hexdigest())


def export_tenant(db: Database, lg_code: str, out_dir: Path, *, ctx: AuditContext,
                  progress: Callable[[str], None] | None = None) -> list[ExportedFile]:
    """Write every layout's file and the manifest; audit the export afterwards (so the
    export holds the data as it was, not its own trace)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[ExportedFile] = []
    audit.seal(db, lg_code)  # the chain as far as it goes; later entries stay pending
    with db.tenant_tx(lg_code) as conn:
        if db.is_postgres:  # one consistent snapshot of every table
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for layout in all_layouts():
            files.append(_export_layout(conn, layout, out_dir))
            if progress is not None:
                progress(layout.name)
    manifest = {"format": FORMAT_VERSION, "lg_code": lg_code,
                "files": [f.__dict__ for f in files]}
    (out_dir / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8")
    with db.tenant_tx(lg_code) as conn:
        audit.record(conn, ctx, "platform.export", detail={
            "files": len(files), "rows": sum(f.rows for f in files)})
    return files
