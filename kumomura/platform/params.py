"""Typed, effective-dated parameters: national defaults per fiscal year, tenant overrides.

A module declares its parameters once as a pydantic model and gives the national values
per fiscal year (年度). A tenant overrides a single field from an effective date; every
change is kept with who, when and why, in the tenant's own schema, so that a tenant's
configuration travels with its data. Reading returns the whole model as in force on a
date, validated as a whole: an override can never produce a combination the model rejects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
)

from kumomura.platform.audit import AuditContext, record
from kumomura.platform.core.errors import InvalidInput, NotFound
from kumomura.platform.core.messages import japanese
from kumomura.platform.core.timeutil import Timestamp, utcnow
from kumomura.platform.storage.db import Database, tenant_metadata

param_changes = Table(
    "param_changes",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("module", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("value", JSON),
    Column("is_reset", Boolean, nullable=False, default=False),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", Timestamp(), nullable=False),
    Column("reason", Text),
    Index("ix_param_changes_lookup", "module", "name", "effective_from"),
)


class Parameters(BaseModel):
    """Base of every module's parameter model: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def fiscal_year(on: date) -> int:
    """年度: April to March, named by the calendar year in which it starts."""
    return on.year if on.month >= 4 else on.year - 1


@dataclass(frozen=True)
class ParamDeclaration:
    module: str
    model: type[Parameters]
    national: Mapping[int, Parameters]
    """Fiscal year from which each national set applies; the latest not after a date wins."""

    def national_for(self, on: date) -> Parameters:
        year = fiscal_year(on)
        years = [y for y in self.national if y <= year]
        if not years:
            first = min(self.national)
            raise InvalidInput(
                f"{self.module}: no national values before fiscal year {first} "
                f"(asked for {on.isoformat()}, fiscal year {year})", field="on")
        return self.national[max(years)]

    def field_names(self) -> list[str]:
        return list(self.model.model_fields)


_REGISTRY: dict[str, ParamDeclaration] = {}


def declare(module: str, model: type[Parameters],
            national: Mapping[int, Parameters]) -> ParamDeclaration:
    """A module's parameters with their national values, checked; its manifest names the
    declaration and installing the module registers it."""
    if not national:
        raise ValueError(f"{module}: national defaults are required")
    for year, values in national.items():
        if not isinstance(values, model):
            raise TypeError(f"{module}: national values for {year} are not a {model.__name__}")
    return ParamDeclaration(module, model, dict(national))


def register(decl: ParamDeclaration) -> None:
    """Make a declaration readable and settable (``installation.install`` calls this)."""
    _REGISTRY[decl.module] = decl


def declaration(module: str) -> ParamDeclaration:
    try:
        return _REGISTRY[module]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise NotFound(f"module {module!r} declares no parameters (known: {known})",
                       field="module") from None


def declared_modules() -> list[str]:
    return sorted(_REGISTRY)


def _error_message(module: str, name: str, exc: ValidationError) -> str:
    rules = "; ".join(japanese(e) for e in exc.errors())
    return f"{module}.{name}: {rules}"


def _overrides_in_force(conn: Connection, module: str, on: date) -> dict[str, Any]:
    """Each field's latest change with an effective date not after ``on``; resets drop out."""
    rows = conn.execute(
        select(param_changes.c.name, param_changes.c.value, param_changes.c.is_reset)
        .where(param_changes.c.module == module)
        .where(param_changes.c.effective_from <= on)
        .order_by(param_changes.c.effective_from, param_changes.c.id)
    ).all()
    latest: dict[str, tuple[Any, bool]] = {}
    for name, value, is_reset in rows:
        latest[name] = (value, bool(is_reset))
    return {name: value for name, (value, reset) in latest.items() if not reset}


def _combine(decl: ParamDeclaration, on: date, overrides: dict[str, Any]) -> Parameters:
    base = decl.national_for(on).model_dump(mode="json")
    base.update(overrides)
    return decl.model.model_validate(base)


def values_on(conn: Connection, module: str, on: date) -> Parameters:
    """The parameters in force on a date, in an open tenant transaction."""
    decl = declaration(module)
    return _combine(decl, on, _overrides_in_force(conn, module, on))


def get(db: Database, lg_code: str, module: str, on: date) -> Parameters:
    with db.tenant_tx(lg_code) as conn:
        return values_on(conn, module, on)


def parse_text_value(raw: Any) -> Any:
    """Values typed at a prompt arrive as text; JSON literals keep their type."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


@dataclass(frozen=True)
class Change:
    id: int
    module: str
    name: str
    effective_from: date
    value: Any
    is_reset: bool
    changed_by: str
    changed_at: datetime
    reason: str | None


def set_value(
    conn: Connection,
    module: str,
    name: str,
    raw_value: Any,
    *,
    effective_from: date,
    ctx: AuditContext,
    reason: str | None = None,
) -> Any:
    """Override one field from a date, audited in the same transaction. The value is
    checked against the field's rules and against the whole model on that date and on
    every later override's date."""
    decl = declaration(module)
    if name not in decl.model.model_fields:
        raise InvalidInput(f"{module}.{name}: そのようなパラメータはありません "
                           f"(項目: {', '.join(decl.field_names())})", field=name)
    # A text field takes its text as typed: "0117" is a bank code, not the number 117.
    candidate = raw_value if isinstance(raw_value, str) and \
        decl.model.model_fields[name].annotation is str else parse_text_value(raw_value)
    try:
        checked = _combine(decl, effective_from,
                           {**_overrides_in_force(conn, module, effective_from), name: candidate})
    except ValidationError as exc:
        raise InvalidInput(_error_message(module, name, exc), field=name) from exc
    stored = checked.model_dump(mode="json")[name]
    _store(conn, ctx, module, name, effective_from, stored, reason)
    _check_later_dates(conn, decl, name, effective_from)
    return stored


def _store(conn: Connection, ctx: AuditContext, module: str, name: str, effective_from: date,
           value: Any, reason: str | None, *, reset: bool = False) -> None:
    conn.execute(insert(param_changes).values(
        module=module, name=name, effective_from=effective_from, value=value, is_reset=reset,
        changed_by=ctx.actor, changed_at=utcnow(), reason=reason))
    record(conn, ctx, "params.reset" if reset else "params.set", detail={
        "module": module, "name": name, "value": value,
        "from": effective_from.isoformat(), "reason": reason})


def reset_value(conn: Connection, module: str, name: str, *, effective_from: date,
                ctx: AuditContext, reason: str | None = None) -> None:
    """Return a field to the national default from a date (kept in history like a change)."""
    decl = declaration(module)
    if name not in decl.model.model_fields:
        raise InvalidInput(f"{module}.{name}: そのようなパラメータはありません", field=name)
    _store(conn, ctx, module, name, effective_from, None, reason, reset=True)
    _check_later_dates(conn, decl, name, effective_from)


def _check_later_dates(conn: Connection, decl: ParamDeclaration, name: str, since: date) -> None:
    """A change can break a combination that a later-dated override relies on; refuse it
    (the caller's transaction rolls back, so nothing is stored)."""
    later = conn.execute(
        select(param_changes.c.effective_from).distinct()
        .where(param_changes.c.module == decl.module)
        .where(param_changes.c.effective_from > since)
    ).scalars().all()
    for on in later:
        try:
            _combine(decl, on, _overrides_in_force(conn, decl.module, on))
        except ValidationError as exc:
            raise InvalidInput(
                f"{_error_message(decl.module, name, exc)} (in force from {on.isoformat()})",
                field=name) from exc


def history(db: Database, lg_code: str, module: str, name: str | None = None) -> list[Change]:
    declaration(module)
    with db.tenant_tx(lg_code) as conn:
        q = select(param_changes).where(param_changes.c.module == module)
        if name is not None:
            q = q.where(param_changes.c.name == name)
        rows = conn.execute(q.order_by(param_changes.c.id)).mappings().all()
    return [Change(**dict(r)) for r in rows]


@dataclass(frozen=True)
class Departure:
    """One value in force in a tenant that is not the national default."""

    lg_code: str
    module: str
    name: str
    national: Any
    value: Any


def departures(conn: Connection, lg_code: str, on: date,
               modules: list[str] | None = None) -> list[Departure]:
    result: list[Departure] = []
    for module in modules or declared_modules():
        decl = declaration(module)
        national = decl.national_for(on).model_dump(mode="json")
        current = values_on(conn, module, on).model_dump(mode="json")
        result.extend(
            Departure(lg_code, module, field, national[field], current[field])
            for field in decl.field_names()
            if current[field] != national[field]
        )
    return result


def diff(db: Database, lg_codes: list[str], on: date,
         modules: list[str] | None = None) -> list[Departure]:
    """Across tenants, every value that departs from the national default on a date:
    the consortium's view of where its members are not standardized."""
    result: list[Departure] = []
    for code in lg_codes:
        with db.tenant_tx(code) as conn:
            result.extend(departures(conn, code, on, modules))
    return result
