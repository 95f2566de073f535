"""Import (データ移行): files in the standard layouts into a tenant, all or nothing.

Everything is read and checked before anything is written: encoding, shape (columns,
ragged rows, truncated files), each value against its field, duplicate keys, references
between files, then the modules' own invariants on the loaded data inside the
transaction. Every problem is reported with file, line, column and reason. Nothing is
written while a problem remains, unless the operator asks to set the bad rows aside
(quarantine), which are then listed. The write replaces the tenant's tables in one
transaction, so importing the same files twice gives the same data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
from psycopg.types.json import Json
from sqlalchemy import Connection, delete, insert, text
from sqlalchemy.exc import DBAPIError

from kumomura.platform.audit import has_entries
from kumomura.platform.core import sealed
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.config import backup_keys, get_settings
from kumomura.platform.core.errors import InvalidInput, NotFound
from kumomura.platform.core.sealed import municipality_key
from kumomura.platform.exchange.exports import MANIFEST
from kumomura.platform.exchange.layouts import BadValue, Field, Layout, all_layouts, get, parse
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database, tenant_schema
from kumomura.platform.storage.frames import continue_sequences, write_frame
from kumomura.platform.storage.logins import REPLACE_FUNCTION
from kumomura.platform.tenancy.tenants import REPLACEABLE, STATE_NAMES, get_tenant

REPORT = "import_report.csv"
FIXED_WIDTH = "fixed_width.json"
_CHECKS: dict[str, tuple[Callable[[Connection], list[str]], ...]] = {}


def register_checks(module: str, checks: tuple[Callable[[Connection], list[str]], ...]) -> None:
    """A module's invariants over its loaded tables (e.g. one householder per household),
    run inside the import transaction; any problem rolls the import back."""
    _CHECKS[module] = checks


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: str
    reason: str


@dataclass
class ImportResult:
    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    quarantined: list[Problem] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    """Layouts without a file: their tables are left as they are."""
    kept: list[str] = field(default_factory=list)
    """Audit files left out: the municipality's own log has entries and is kept."""
    written: bool = False
    current: str = ""  # the file being read or written

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [f"{name}: {n} 行" for name, n in self.rows.items()]
        if self.kept:
            lines.append(f"アクセスログは記録があるため取り込まず現在のまま: "
                         f"{', '.join(self.kept)}")
        if self.absent:
            lines.append(f"ファイルなし (取り込まず, 現在のまま): {', '.join(self.absent)}")
        lines.append(f"問題: {len(self.problems)} 件, 隔離: {len(self.quarantined)} 件, "
                     f"書込み: {'済' if self.written else 'なし'}")
        return "\n".join(lines)


def _decode(data: bytes, name: str, encoding: str | None,
            problems: list[Problem]) -> str | None:
    """UTF-8 (with or without BOM) or Shift_JIS (cp932), as stated or detected."""
    tried = [encoding] if encoding else ["utf-8-sig", "cp932"]
    for candidate in tried:
        try:
            return data.decode(candidate)
        except UnicodeDecodeError as exc:
            last = exc
            if candidate == "utf-8-sig" and not data[: exc.start].isascii():
                break  # UTF-8 up to a bad byte: a damaged UTF-8 file, not Shift_JIS
        except LookupError:
            problems.append(Problem(name, 0, "", f"文字コード {candidate!r} を知りません "
                                                 "(utf-8 か cp932)"))
            return None
    line = data[: last.start].count(b"\n") + 1
    problems.append(Problem(name, line, "", f"文字コードが {'/'.join(tried)} ではありません "
                                            f"({last.start} バイト目)"))
    return None


def _rows(text: str, name: str, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        problems.append(Problem(name, reader.line_num, "", f"CSV として読めません: {exc} "
                                                         "(途中で切れたファイル?)"))


@dataclass
class _Loaded:
    """A file's checked rows: as records (the row path), or as a typed frame (a file in
    the written form, checked by Polars), which stays a frame through the reference
    checks and the COPY unless a problem sends it back to records."""

    layout: Layout
    records: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    frame: pl.DataFrame | None = None

    def __len__(self) -> int:
        return self.frame.height if self.frame is not None else len(self.records)

    def as_records(self) -> None:
        """From a frame to records and line numbers (line 1 is the header)."""
        if self.frame is not None:
            self.records = self.frame.to_dicts()
            self.lines = list(range(2, len(self.records) + 2))
            self.frame = None

    def values(self, name: str) -> pl.Series:
        if self.frame is not None:
            return self.frame[name]
        return pl.Series(name, [r[name] for r in self.records])


def _csv_rows(path: Path, encoding: str | None,
              problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    text = _decode(path.read_bytes(), path.name, encoding, problems)
    if text is None:
        return
    if text and not text.endswith("\n"):
        problems.append(Problem(path.name, text.count("\n") + 1, "",
                                "最終行が改行で終わっていません (途中で切れたファイル?)"))
    yield from _rows(text, path.name, problems)


@dataclass(frozen=True)
class FixedWidth:
    """How an old host system wrote one layout: a file of fixed-length records, each field
    a number of bytes in the stated encoding, padded with spaces (fixed_width.json)."""

    file: str
    encoding: str
    fields: tuple[tuple[str, int], ...]

    @property
    def record_bytes(self) -> int:
        return sum(width for _, width in self.fields)


_PADDING = " \u3000"


def _fixed_rows(path: Path, spec: FixedWidth,
                problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """The profile's field names as a header, then each record cut into its fields."""
    yield 0, [name for name, _ in spec.fields]
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        problems.append(Problem(path.name, data.count(b"\n") + 1, "",
                                "最終行が改行で終わっていません (途中で切れたファイル?)"))
    for number, record in enumerate(data.splitlines(), start=1):
        if len(record) != spec.record_bytes:
            problems.append(Problem(path.name, number, "", f"レコード長が {len(record)} バイト"
                                                          f"です ({spec.record_bytes} のはず)"))
            continue
        row, at = [], 0
        for name, width in spec.fields:
            try:
                row.append(record[at:at + width].decode(spec.encoding).strip(_PADDING))
            except UnicodeDecodeError:
                problems.append(Problem(path.name, number, name,
                                        f"文字コードが {spec.encoding} ではありません "
                                        "(項目の途中で2バイト文字が切れている?)"))
                row = []
                break
            at += width
        if row:
            yield number, row


def _profiles(source: Path, problems: list[Problem]) -> dict[str, FixedWidth]:
    path = source / FIXED_WIDTH
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        profiles = {name: FixedWidth(file=spec["file"], encoding=spec.get("encoding", "cp932"),
                                     fields=tuple((f, int(w)) for f, w in spec["fields"]))
                    for name, spec in raw.items()}
        for name, spec in profiles.items():  # a file of this directory, nothing else
            if Path(spec.file).name != spec.file or spec.file in ("", ".", ".."):
                raise ValueError(f"{name}: file {spec.file!r} must be a file name in the "
                                 "import directory")
            "".encode(spec.encoding)
        return profiles
    except (ValueError, KeyError, TypeError, LookupError) as exc:
        problems.append(Problem(FIXED_WIDTH, 0, "", f"固定長の定義が読めません: {exc}"))
        return {}


def _read_layout(layout: Layout, rows: Iterator[tuple[int, list[str]]], file: str,
                 problems: list[Problem], quarantine: list[Problem] | None) -> _Loaded:
    loaded = _Loaded(layout)
    names = [f.name for f in layout.fields]
    labels = {f.label: f.name for f in layout.fields}
    columns: list[str] | None = None
    fields: list[Field | None] | None = None
    absent: dict[str, None] = {}
    key_names = layout.key
    seen: dict[tuple[Any, ...], int] = {}
    for line, row in rows:
        if columns is None:
            header = [labels.get(c, c) for c in row]
            matches = sum(1 for c in header if c in names)
            if matches == len(header) or matches >= max(2, len(header) // 2 + 1):
                for c in {c for c in header if header.count(c) > 1}:
                    problems.append(Problem(file, line, c, "同じ項目の列が2つあります"))
                unknown = [c for c in header if c not in names]
                for c in unknown:
                    problems.append(Problem(file, line, c, "このレイアウトにない項目です"))
                missing = [n for n in names if n not in header and layout.field(n).required]
                for n in missing:
                    problems.append(Problem(file, line, n, "必須項目の列がありません"))
                columns = header
                continue
            columns = names  # no header: the layout's order
        if len(row) != len(columns):
            problems.append(Problem(file, line, "", f"項目数が {len(row)} です "
                                                        f"({len(columns)} のはず)"))
            continue
        if fields is None:
            by_name = {f.name: f for f in layout.fields}
            fields = [by_name.get(c) for c in columns]
            absent = {n: None for n in names if n not in columns}  # left out: empty
        record: dict[str, Any] = dict(absent)
        bad: list[Problem] = []
        for f, raw in zip(fields, row, strict=True):
            if f is None:
                continue
            try:
                record[f.name] = parse(f, raw)
            except BadValue as exc:
                bad.append(Problem(file, line, f.name, str(exc)))
        key = tuple(record.get(k) for k in key_names)
        if not bad and key in seen:
            bad.append(Problem(file, line, ",".join(layout.key),
                               f"キーが {seen[key]} 行目と重複しています"))
        if bad:
            (quarantine if quarantine is not None else problems).extend(bad)
            continue
        seen[key] = line
        loaded.records.append(record)
        loaded.lines.append(line)
    return loaded


def _fast_type(field: Field) -> pl.Expr:
    """The written form of a field converted by Polars (null where it is not that form)."""
    column = pl.col(field.name)
    match field.type:
        case "integer":
            return column.cast(pl.Int64, strict=False)
        case "date":
            return column.str.to_date("%Y-%m-%d", strict=False)
        case "datetime":
            return column.str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us",
                                          time_zone="UTC", strict=False)
        case "boolean":
            return pl.when(column == "1").then(True).when(column == "0").then(False)
    return column


def _fast_read(layout: Layout, path: Path, encoding: str | None) -> _Loaded | None:
    """A file in the written form (UTF-8, the header of field names, canonical values)
    checked column by column with Polars. Any doubt returns None, and the file goes the
    row-by-row way, which names each problem with its line."""
    if encoding not in (None, "utf-8", "utf-8-sig"):
        return None
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    names = [f.name for f in layout.fields]
    if not data.endswith(b"\n") or data.split(b"\n", 1)[0] != ",".join(names).encode():
        return None
    # Only files without quoting, where a line is a record and its fields are its commas:
    # then Polars and the row path cannot disagree on shape, empties or line numbers.
    if b'"' in data or any(line.count(b",") != len(names) - 1
                           for line in data.split(b"\n")[:-1]):
        return None
    try:
        frame = pl.read_csv(data, infer_schema=False, has_header=True)
    except (pl.exceptions.PolarsError, UnicodeDecodeError):
        return None
    if frame.columns != names:
        return None
    typed = frame.select([_fast_type(f).alias(f.name) for f in layout.fields])
    for f in layout.fields:
        given, value = frame[f.name], typed[f.name]
        bad = given.is_not_null() & value.is_null()
        if f.required:
            bad = bad | given.is_null()
        if f.type == "text" and f.length is not None:
            bad = bad | (given.str.len_chars() > f.length)
        if f.allowed is not None:
            bad = bad | (given.is_not_null() & ~given.is_in(list(f.allowed)))
        if bad.any():
            return None
    if typed.select(layout.key).is_duplicated().any():
        return None
    if not any(f.type in ("json", "binary") for f in layout.fields):
        return _Loaded(layout, frame=typed)
    records = [dict(zip(names, row, strict=True)) for row in typed.iter_rows()]
    for f in layout.fields:  # JSON and base64 values are few; Python reads them
        if f.type in ("json", "binary"):
            for record in records:
                if record[f.name] is not None:
                    try:
                        record[f.name] = parse(f, record[f.name])
                    except BadValue:
                        return None
    return _Loaded(layout, records, list(range(2, len(records) + 2)))


def _check_references(item: _Loaded, known: dict[tuple[str, str], pl.Series],
                      problems: list[Problem], quarantine: list[Problem] | None) -> None:
    """Each reference against the values of the layout it names (loaded before this one,
    or this file itself); a bad row is reported, or set aside. Rows set aside take with
    them the rows of the same file that refer to them, until none is left dangling (rows
    of later files that refer to them are checked against what is kept)."""
    if item.frame is not None:
        if _frame_references_hold(item, known):
            return
        item.as_records()  # a dangling reference: the row path names each line
    while _dangling(item, known, problems, quarantine) and quarantine is not None:
        pass


def _frame_references_hold(item: _Loaded, known: dict[tuple[str, str], pl.Series]) -> bool:
    assert item.frame is not None
    for f in item.layout.fields:
        if f.references is None:
            continue
        target_layout, target_field = f.references.split(".")
        values = (item.frame[target_field] if target_layout == item.layout.name
                  else known.get((target_layout, target_field), pl.Series([], dtype=pl.String)))
        column = item.frame[f.name]
        if (column.is_not_null() & ~column.is_in(values.cast(column.dtype).implode())).any():
            return False
    return True


def _dangling(item: _Loaded, known: dict[tuple[str, str], pl.Series],
              problems: list[Problem], quarantine: list[Problem] | None) -> bool:
    """One pass over the references; whether a row was set aside."""
    removed = False
    for f in item.layout.fields:
        if f.references is None:
            continue
        target_layout, target_field = f.references.split(".")
        values = ({r[target_field] for r in item.records} if target_layout == item.layout.name
                  else set(known.get((target_layout, target_field), pl.Series()).to_list()))
        keep = []
        for record, line in zip(item.records, item.lines, strict=True):
            value = record.get(f.name)
            if value is not None and value not in values:
                problem = Problem(item.layout.file, line, f.name,
                                  f"{target_layout}.{target_field} に {value} がありません")
                (quarantine if quarantine is not None else problems).append(problem)
                removed = True
                continue
            keep.append((record, line))
        item.records = [r for r, _ in keep]
        item.lines = [n for _, n in keep]
    return removed


def _load_order(layouts: list[Layout]) -> list[Layout]:
    """Referenced layouts first: by foreign keys and by declared references."""
    by_name = {lay.name: lay for lay in layouts}
    needs: dict[str, set[str]] = {}
    for lay in layouts:
        targets = {f.references.split(".")[0] for f in lay.fields if f.references}
        targets |= {fk.column.table.name for fk in lay.table.foreign_keys}
        needs[lay.name] = {t for t in targets if t in by_name and t != lay.name}
    return [by_name[name] for name in TopologicalSorter(needs).static_order()]


def _copy_in(conn: Connection, lg_code: str, layout: Layout,
             records: list[dict[str, Any]]) -> None:
    """Checked rows into PostgreSQL with COPY (binary-safe, typed by psycopg)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    names = [f.name for f in layout.fields]
    wrap = [f.type == "json" for f in layout.fields]
    with raw.cursor() as cur, cur.copy(
            f'COPY "{tenant_schema(lg_code)}".{layout.table.name} ({", ".join(names)}) '
            "FROM STDIN") as copy:
        for record in records:
            copy.write_row([Json(record[n]) if j and record[n] is not None else record[n]
                            for n, j in zip(names, wrap, strict=True)])


def import_tenant(db: Database, lg_code: str, source: Path, *, dry_run: bool = False,
                  encoding: str | None = None, quarantine: bool = False,
                  report_dir: Path | None = None) -> ImportResult:
    """Check every file in ``source`` and, if all is well (or the bad rows are set aside
    with ``quarantine``), replace the tenant's tables with them in one transaction.

    Files are read one at a time in load order and written as they pass, inside the one
    transaction, so memory holds one file and the keys other files refer to; the first
    problem stops the writing (the rest is still checked for the report) and the
    transaction is rolled back."""
    result = ImportResult()
    layouts = {lay.file: lay for lay in all_layouts()}
    fixed = _profiles(source, result.problems)
    for path in sorted(source.glob("*.csv")):
        if path.name not in layouts and path.name != REPORT:
            result.problems.append(Problem(path.name, 0, "", "どのレイアウトのファイルでも"
                                                            "ありません"))
    check_manifest(source, lg_code, result.problems)
    present = [(lay, fixed.get(lay.name)) for lay in _load_order(all_layouts())
               if (source / (fixed[lay.name].file if lay.name in fixed else lay.file)).exists()]
    result.absent = sorted({lay.file for lay in all_layouts()} - {lay.file for lay, _ in present})
    if not dry_run:
        _may_replace(db, lg_code, result.problems)
    kept = _kept_audit(db, lg_code, [lay for lay, _spec in present])
    if kept:
        present = [(lay, spec) for lay, spec in present if lay.name not in kept]
        result.kept = sorted(f"{name}.csv" for name in kept)
    try:
        if dry_run or not result.ok:
            _check_files(None, db, lg_code, source, present, encoding, quarantine, result)
        else:
            with db.tenant_tx(lg_code) as conn:
                _empty(conn, db, lg_code, [lay for lay, _spec in present])
                _check_files(conn, db, lg_code, source, present, encoding, quarantine, result)
                if result.ok:
                    result.problems.extend(Problem("(登録後の検査)", 0, "", message)
                                           for checks in _CHECKS.values() for check in checks
                                           for message in check(conn))
                if not result.ok:
                    raise _RollBack
            result.written = True
    except _RollBack:
        pass
    except DBAPIError as exc:  # what the checks let through and the database refused
        first = str(exc.orig or exc).splitlines()[0]
        result.problems.append(Problem(result.current, 0, "", f"データベースが受け付けません: "
                                                              f"{first}"))
    finally:
        _report(result, report_dir or source)
    return result


AUDIT_LAYOUTS = ("audit_log", "audit_pending", "audit_head")
"""The audit trail: never replaced in a municipality whose log has entries."""


def _may_replace(db: Database, lg_code: str, problems: list[Problem]) -> None:
    """Nobody replaces a live municipality's data: its tables are replaced only while it
    is onboarding, or restoring after two people agreed."""
    tenant = get_tenant(db, lg_code)
    if tenant.state not in REPLACEABLE:
        problems.append(Problem("(取込み)", 0, "state", (
            f"{tenant.name} は{STATE_NAMES[tenant.state]}です。データの置換えは移行中か、"
            "承認された復元の間だけできます (確認だけなら dry run)")))


def _kept_audit(db: Database, lg_code: str, layouts: list[Layout]) -> set[str]:
    """The audit trail is never replaced once it has entries: its files are left out
    (and said so in the report), the municipality's own log kept as it is."""
    audit = {lay.name for lay in layouts if lay.name in AUDIT_LAYOUTS}
    if not audit:
        return set()
    with db.tenant_tx(lg_code) as conn:
        return audit if has_entries(conn) else set()


def check_manifest(source: Path, lg_code: str, problems: list[Problem]) -> None:
    """With an export's manifest beside the files: each file's layout version must be the
    current one, and its SHA-256 the one written (a changed or damaged file is refused)."""
    path = source / MANIFEST
    if not path.exists():
        return
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        entries = manifest["files"]
    except (ValueError, KeyError) as exc:
        problems.append(Problem(MANIFEST, 0, "", f"マニフェストが読めません: {exc}"))
        return
    if manifest.get("lg_code") != lg_code:  # personal data stays with its municipality
        problems.append(Problem(MANIFEST, 0, "lg_code", f"{manifest.get('lg_code')} のデータは "
                                                        f"{lg_code} に取り込めません"))
    for entry in entries:
        name = str(entry.get("file", ""))
        if Path(name).name != name or name.startswith("."):
            problems.append(Problem(MANIFEST, 0, "file", f"{name!r}: マニフェストは送られた"
                                                         "ファイルだけを名指しできます"))
            continue
        file = source / name
        try:
            current = get(entry.get("layout", "")).version
        except KeyError:
            problems.append(Problem(MANIFEST, 0, "", f"{name}: 知らないレイアウトです"))
            continue
        if entry.get("version") != current:
            problems.append(Problem(name, 0, "", f"レイアウトの版が {entry.get('version')} "
                                                 f"です (現在は {current})"))
        if not file.exists():
            problems.append(Problem(name, 0, "", "マニフェストにあるファイルがありません"))
        elif hashlib.sha256(file.read_bytes()).hexdigest() != entry.get("sha256"):
            problems.append(Problem(name, 0, "", "SHA-256 がマニフェストと一致しません "
                                                 "(書き換えか破損)"))


def _empty(conn: Connection, db: Database, lg_code: str, layouts: list[Layout]) -> None:
    """Clear the tables the files replace: one TRUNCATE when every layout is replaced
    (transactional on PostgreSQL, and far faster than deleting rows), else DELETE in
    dependency order.

    On PostgreSQL the municipality's login may not clear its append-only tables itself:
    the schema's replace function does it, after the database has checked the state."""
    names = [lay.table.name for lay in reversed(layouts)]
    if db.is_postgres:
        conn.execute(text(f'SELECT "{tenant_schema(lg_code)}".{REPLACE_FUNCTION}'
                          "(:tables, :whole)"),
                     {"tables": names, "whole": len(layouts) == len(all_layouts())})
        return
    for lay in reversed(layouts):
        conn.execute(delete(lay.table))


class _RollBack(Exception):
    """Ends the import's transaction without keeping anything."""


def _check_files(conn: Connection | None, db: Database, lg_code: str, source: Path,
                 present: list[tuple[Layout, FixedWidth | None]], encoding: str | None,
                 quarantine: bool, result: ImportResult) -> None:
    aside = result.quarantined if quarantine else None
    wanted = {tuple(f.references.split(".")) for lay, _ in present for f in lay.fields
              if f.references}
    known: dict[tuple[str, str], pl.Series] = {}
    for lay, spec in present:
        path = source / (spec.file if spec else lay.file)
        result.current = path.name
        item = None if spec else _fast_read(lay, path, encoding)
        if item is None:
            rows = (_fixed_rows(path, spec, result.problems) if spec
                    else _csv_rows(path, encoding, result.problems))
            item = _read_layout(lay, rows, path.name, result.problems, aside)
        _check_references(item, known, result.problems, aside)
        for target_layout, target_field in wanted:
            if target_layout == lay.name:
                known[(target_layout, target_field)] = item.values(target_field)
        result.rows[lay.name] = len(item)
        if conn is not None and result.ok and len(item):
            _write_layout(conn, db, lg_code, lay, item)


def _write_layout(conn: Connection, db: Database, lg_code: str, layout: Layout,
                  item: _Loaded) -> None:
    if not db.is_postgres:
        if item.frame is not None:
            item.as_records()
        for start in range(0, len(item.records), 5000):
            conn.execute(insert(layout.table), item.records[start:start + 5000])
        return
    # Into the indexed tables, over the municipality's own login: dropping the indexes
    # for a large load and building them after would take the owner's rights.
    if item.frame is not None:
        write_frame(conn, layout.table, item.frame)
    else:
        _copy_in(conn, lg_code, layout, item.records)
    continue_sequences(conn, layout.table)


def _report(result: ImportResult, report_dir: Path) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    with (report_dir / REPORT).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["区分", "ファイル", "行", "項目", "理由"])
        for kind, items in (("エラー", result.problems), ("隔離", result.quarantined)):
            for p in items:
                writer.writerow([kind, p.file, p.line, p.column, p.reason])
        for name in result.absent:
            writer.writerow(["ファイルなし", name, 0, "", "取り込みません (この表は現在のまま)"])
        for name in result.kept:
            writer.writerow(["取込みなし", name, 0, "", "アクセスログに記録があるため現在のまま"])


def upload_area(db: Database, lg_code: str) -> Path:
    """Where a municipality's uploaded import files live; an import job reads nothing else."""
    return db.data_dir / "imports" / lg_code


IMPORT_JOB_NAME = "platform.import"


def report_of(db: Database, lg_code: str, job: Any) -> Path:
    """The report of an import job of this municipality (NotFound until it is written)."""
    directory = Path(str(job.params.get("directory", "")))
    path = directory / REPORT
    if job.kind != IMPORT_JOB_NAME or not in_upload_area(db, lg_code, directory) \
            or not path.exists():
        raise NotFound(f"ジョブ {job.id} の取込み結果はまだありません", field="job_id")
    return path


def in_upload_area(db: Database, lg_code: str, directory: Path) -> bool:
    """Whether a directory lies in the municipality's own upload area (no other files)."""
    return directory.resolve().is_relative_to(upload_area(db, lg_code).resolve())


def new_upload(db: Database, lg_code: str) -> Path:
    """A fresh folder of the municipality's upload area for one upload."""
    path = upload_area(db, lg_code) / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def upload_key(lg_code: str) -> bytes:
    """The municipality's own key (its backups'), with which its uploads are kept."""
    return municipality_key(backup_keys(get_settings()), lg_code, create=True)


SEALED_SUFFIX = ".sealed"
"""An uploaded file at rest: encrypted with the municipality's key (``core.sealed``)."""


class _Limited:
    """A stream that stops a reader past ``limit`` bytes (the upload's size limit)."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self.source, self.left = source, limit

    def read(self, size: int = -1) -> bytes:
        block = self.source.read(size)
        self.left -= len(block)
        if self.left < 0:
            raise _TooLarge
        return block


class _TooLarge(Exception):
    pass


def save_upload(target: Path, filename: str, source: BinaryIO, *, limit: int,
                key: bytes) -> None:
    """One uploaded file streamed into ``target``, encrypted with the municipality's key
    (a megabyte at a time, never whole in memory); a file of a kind an import does not
    read, or larger than ``limit``, is refused by name and the whole upload removed, so
    nothing is left half-stored."""
    name = Path(filename).name
    if not (name.endswith((".csv", ".dat", ".txt")) or name in (FIXED_WIDTH, MANIFEST)):
        shutil.rmtree(target, ignore_errors=True)
        raise InvalidInput(f"{name!r}: CSV, 固定長 (.dat/.txt), {FIXED_WIDTH} か "
                           f"{MANIFEST} を送ってください", field="files")
    try:
        with (target / (name + SEALED_SUFFIX)).open("wb") as out:
            sealed.encrypt(_Limited(source, limit), out, key,  # type: ignore[arg-type]
                           {"upload": name})
    except _TooLarge:
        shutil.rmtree(target, ignore_errors=True)
        raise InvalidInput(f"{name}: {limit:,} バイトを超えるファイルは取り込めません",
                           field="files") from None


def _unseal_upload(directory: Path, key: bytes, into: Path) -> None:
    """The job's plaintext copy of the upload, in a folder removed when it ends."""
    for path in directory.glob(f"*{SEALED_SUFFIX}"):
        with (into / path.name.removesuffix(SEALED_SUFFIX)).open("wb") as out:
            for chunk in sealed.decrypt(path, key):
                out.write(chunk)


def _discard_files(directory: Path) -> None:
    """After the job, the uploaded personal data goes; the report stays for the IT lead."""
    for path in directory.iterdir():
        if path.name != REPORT and path.is_file():
            path.unlink()


def _import_job(db: Database, lg_code: str, params: dict[str, Any]) -> dict[str, Any]:
    directory = Path(str(params.get("directory", ""))).resolve()
    if not in_upload_area(db, lg_code, directory):
        raise InvalidInput("取込みジョブはこの団体がアップロードしたファイルだけを読みます",
                           field="directory")
    try:
        with tempfile.TemporaryDirectory(dir=directory.parent) as plain:
            _unseal_upload(directory, upload_key(lg_code), Path(plain))
            result = import_tenant(db, lg_code, Path(plain), report_dir=directory,
                                   dry_run=bool(params.get("dry_run")),
                                   encoding=params.get("encoding"),
                                   quarantine=bool(params.get("quarantine")))
    finally:
        _discard_files(directory)
    if not result.ok and not params.get("dry_run"):
        raise InvalidInput(f"取込みを中止しました: 問題 {len(result.problems)} 件 "
                           f"(報告: {REPORT})", field="files")
    return {"ok": result.ok, "written": result.written, "rows": result.rows,
            "problems": len(result.problems), "quarantined": len(result.quarantined),
            "first_problems": [f"{p.file}:{p.line} {p.column}: {p.reason}"
                               for p in result.problems[:10]]}


IMPORT_JOB = jobs.JobKind(
    name=IMPORT_JOB_NAME, title="データ移行 (標準レイアウトの取込み)", module=PLATFORM_MODULE,
    plan=lambda _conn, _params: 1, run_alone=_import_job)
