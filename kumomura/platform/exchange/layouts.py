"""Standard layouts (標準レイアウト): every tenant table as a documented file, for data
migration in (データ移行) and for leaving (exit), in the same format both ways.

A layout is declared from its table: each column becomes a field with its type, length
and whether it is required, and the module adds what the table cannot say: the Japanese
label of each field, allowed values, and references to other layouts. The files are CSV,
UTF-8 with a header, one row per record in key order, so an export is byte-for-byte
repeatable. Values are written one way and read many ways (see ``parse``).
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from kumomura.platform.core.japanese import parse_era_date
from kumomura.platform.core.timeutil import as_utc

FORMAT_VERSION = "1"
JST = ZoneInfo("Asia/Tokyo")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str  # text | integer | date | datetime | boolean | json | binary
    length: int | None
    required: bool
    allowed: tuple[str, ...] | None = None
    references: str | None = None  # "<layout>.<field>"


@dataclass(frozen=True)
class Layout:
    """One file: its name, the table behind it, its fields and its version."""

    name: str
    title: str
    module: str
    version: str
    table: Table
    fields: tuple[Field, ...]

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.primary_key.columns)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


_REGISTRY: dict[str, Layout] = {}
NOT_EXPORTED: dict[str, str] = {}
"""Tenant tables that are deliberately no layout, with the reason (the coverage test
accepts only these)."""


def register(layout: Layout) -> None:
    """Make a layout part of export, import and backup (``installation.install``)."""
    _REGISTRY[layout.name] = layout


def not_exported(table: str, reason: str) -> None:
    NOT_EXPORTED[table] = reason


def _type_of(column: Column[Any]) -> tuple[str, int | None]:
    kind = column.type
    if isinstance(kind, Boolean):
        return "boolean", None
    if isinstance(kind, Integer):
        return "integer", None
    if isinstance(kind, DateTime):
        return "datetime", None
    if isinstance(kind, Date):
        return "date", None
    if isinstance(kind, JSON):
        return "json", None
    if isinstance(kind, LargeBinary):
        return "binary", None
    if isinstance(kind, String | Text):
        return "text", getattr(kind, "length", None)
    raise TypeError(f"{column.table.name}.{column.name}: no layout type for {kind!r}")


def declare(table: Table, *, module: str, title: str, labels: Mapping[str, str],
            version: str = "1.0", allowed: Mapping[str, tuple[str, ...]] | None = None,
            references: Mapping[str, str] | None = None) -> Layout:
    """The layout of a tenant table, for its module's manifest. Every column needs a
    Japanese label, so the documentation is never incomplete."""
    missing = [c.name for c in table.columns if c.name not in labels]
    extra = sorted(set(labels) - {c.name for c in table.columns})
    if missing or extra:
        raise ValueError(f"layout {table.name}: labels missing for {missing}, "
                         f"unknown {extra}")
    fields = []
    for column in table.columns:
        kind, length = _type_of(column)
        fields.append(Field(
            name=column.name, label=labels[column.name], type=kind, length=length,
            required=not column.nullable,
            allowed=(allowed or {}).get(column.name),
            references=(references or {}).get(column.name)))
    return Layout(name=table.name, title=title, module=module, version=version, table=table,
                  fields=tuple(fields))


def all_layouts() -> list[Layout]:
    """Every layout, in the order tables can be loaded (referenced tables first)."""
    from kumomura.platform.storage.db import tenant_metadata

    order = {t.name: i for i, t in enumerate(tenant_metadata.sorted_tables)}
    return sorted(_REGISTRY.values(), key=lambda lay: (order.get(lay.name, 0), lay.name))


def get(name: str) -> Layout:
    return _REGISTRY[name]


# -- values: written one way ------------------------------------------------------------


def format_value(field: Field, value: Any) -> str:
    """The one written form of a value: ISO dates, UTC timestamps with microseconds,
    1/0, compact JSON with sorted keys, base64; empty for none."""
    if value is None:
        return ""
    if field.type == "boolean":
        return "1" if value else "0"
    if field.type == "datetime":
        return str(as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    if field.type == "date":
        return str(value.isoformat())
    if field.type == "json":
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if field.type == "binary":
        return base64.b64encode(value).decode("ascii")
    return str(value)


# -- values: read as they arrive --------------------------------------------------------


class BadValue(ValueError):
    """A value that cannot be what its field says; the message is for the report."""


_TRUE = {"1", "true", "t", "yes", "y", "有", "○"}
_FALSE = {"0", "false", "f", "no", "n", "無", ""}


def _date(text: str) -> date:
    if len(text) == 10 and text[4] == "-":  # the written form, the common case
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    folded = unicodedata.normalize("NFKC", text).strip()
    if re.fullmatch(r"[0-9]{8}", folded):
        folded = f"{folded[:4]}-{folded[4:6]}-{folded[6:]}"
    if re.fullmatch(r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}", folded):
        try:
            return date(*map(int, re.split(r"[-/.]", folded)))
        except ValueError:
            raise BadValue(f"ありえない日付です: {text!r}") from None
    try:
        return parse_era_date(folded)
    except ValueError:
        raise BadValue(f"日付として読めません: {text!r}") from None


def parse(field: Field, raw: str) -> Any:
    """A value as it arrives (full-width digits, era dates, 1/0 or true/false) into its
    stored form; empty means none. Raises BadValue saying what is wrong."""
    if raw == "":
        if field.required:
            raise BadValue("必須項目が空です")
        return None
    if field.type == "text":
        if field.length is not None and len(raw) > field.length:
            raise BadValue(f"{field.length}文字を超えています ({len(raw)}文字)")
        if field.allowed is not None and raw not in field.allowed:
            raise BadValue(f"「{raw}」は使えない値です (使える値: {'、'.join(field.allowed)})")
        return raw
    if field.type == "integer":
        folded = unicodedata.normalize("NFKC", raw).replace(",", "").strip()
        if not re.fullmatch(r"[+-]?[0-9]+", folded):
            raise BadValue(f"整数ではありません: {raw!r}")
        return int(folded)
    if field.type == "date":
        return _date(raw)
    if field.type == "datetime":
        try:
            value = datetime.fromisoformat(unicodedata.normalize("NFKC", raw).strip())
        except ValueError:
            raise BadValue(f"日時として読めません: {raw!r}") from None
        # A time without its zone is Japan's, as old systems wrote them.
        return value if value.tzinfo else value.replace(tzinfo=JST)
    if field.type == "boolean":
        folded = unicodedata.normalize("NFKC", raw).strip().lower()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        raise BadValue(f"真偽値 (1/0) ではありません: {raw!r}")
    if field.type == "json":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BadValue(f"JSON として読めません: {exc.msg}") from None
    if field.type == "binary":
        try:
            return base64.b64decode(raw, validate=True)
        except ValueError:
            raise BadValue("base64 として読めません") from None
    raise AssertionError(field.type)
