"""The module contract: what a business module (業務) declares, in one manifest.

A module's ``module.py`` builds one ``BusinessModule`` naming everything it brings: its
tables, parameters, the events it publishes and the handlers it subscribes, its job
kinds, layouts and import checks, migrations, API router, pages and templates, CLI group,
menu entries, options, extension points and what the town hall's degraded mode needs of
it. Nothing registers by being imported: ``platform.installation.install`` reads the
manifests the catalog lists (and the plugins installed beside it) and fills the
platform's registries from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import typer
from fastapi import APIRouter
from sqlalchemy import Connection, Table

from kumomura.platform.audit import AuditContext
from kumomura.platform.core.businesses import CONSORTIUM_PARTS, PLATFORM_MODULE, validate_business
from kumomura.platform.events import DomainEvent, TypedHandler
from kumomura.platform.exchange.layouts import Layout
from kumomura.platform.jobs.queue import JobKind
from kumomura.platform.params import ParamDeclaration
from kumomura.platform.storage.db import Database

ImportCheck = Callable[[Connection], list[str]]
"""A module's invariants over its loaded tables, run inside the import transaction."""


@dataclass(frozen=True)
class MenuItem:
    """An entry of the staff's menu: shown to tenant staff holding ``permission`` on the
    module (or on ``module``, whose staff do the work), and, with ``option``, only where
    the municipality has it on. ``path`` may contain ``{lg}``, the user's municipality."""

    path: str
    label: str
    permission: str = "view"
    module: str | None = None
    option: str | None = None


@dataclass(frozen=True)
class Option:
    """A named switch (オプション) a municipality turns on with an effective date; code
    branches on declared options only, never on a municipality's code."""

    name: str
    title: str


@dataclass(frozen=True)
class ExtensionPoint:
    """A declared place where a plugin may add behaviour (an extra line on a notice, an
    extra check on a change). ``signature`` says in words what an extension receives and
    returns; the module calls ``installation.extensions(point, ...)``."""

    name: str
    signature: str


@dataclass(frozen=True)
class Extension:
    """A plugin's addition at a declared extension point, active where ``option`` is on.
    An extension installed on its own (entry point group ``kumomura.extensions``)
    declares its option with ``option_title``; one in a module's manifest uses the
    module's options."""

    point: str
    option: str
    function: Callable[..., Any]
    option_title: str | None = None


@dataclass(frozen=True)
class OfflineHooks:
    """What the town hall's degraded mode (縮退運用) needs of a module: which of its
    layouts go into the municipal package and, if it issues certificates offline, how
    to list them and bring them back into the cloud."""

    layouts: frozenset[str]
    issuance_log: Callable[[Database, str], list[dict[str, Any]]] | None = None
    bring_back: Callable[[Database, str, list[dict[str, Any]], AuditContext], int] | None = None


@dataclass(frozen=True)
class BusinessModule:
    """The whole manifest of a module. ``package`` is the dotted package whose
    ``module.py`` holds it (spawned processes install the same modules from it)."""

    code: str
    name: str
    package: str
    tables: tuple[Table, ...] = ()
    params: ParamDeclaration | None = None
    publishes: tuple[type[DomainEvent], ...] = ()
    handlers: Mapping[type[DomainEvent], TypedHandler[Any]] = field(default_factory=dict)
    jobs: tuple[JobKind, ...] = ()
    layouts: tuple[Layout, ...] = ()
    not_exported: Mapping[str, str] = field(default_factory=dict)
    """Tables deliberately without a layout, with the reason."""
    import_checks: tuple[ImportCheck, ...] = ()
    migrations: Path | None = None
    """Its Alembic revisions of the tenant schema (a branch labelled with its code)."""
    platform_migrations: Path | None = None
    """Its Alembic revisions of the control plane, if it keeps tables there."""
    router: APIRouter | None = None
    pages: APIRouter | None = None
    templates: Path | None = None
    cli: typer.Typer | None = None
    cli_name: str | None = None
    menu: tuple[MenuItem, ...] = ()
    options: tuple[Option, ...] = ()
    extension_points: tuple[ExtensionPoint, ...] = ()
    extensions: tuple[Extension, ...] = ()
    offline: OfflineHooks | None = None
    public: ModuleType | None = None
    """The read functions and dataclasses other modules may use (its ``public.py``)."""
    standard: bool = True
    """False for a plugin: a customization kept outside the standard package."""

    def __post_init__(self) -> None:
        if self.standard and self.code not in {PLATFORM_MODULE, *CONSORTIUM_PARTS}:
            validate_business(self.code)
        if self.params is not None and self.params.module != self.code:
            raise ValueError(f"{self.code}: its parameters are declared for "
                             f"{self.params.module!r}")
        for layout in self.layouts:
            if layout.module != self.code:
                raise ValueError(f"{self.code}: layout {layout.name} belongs to {layout.module}")
        for kind in self.jobs:
            if kind.module != self.code:
                raise ValueError(f"{self.code}: job kind {kind.name} belongs to {kind.module}")
        for event in self.publishes:
            if not event.name.startswith(f"{self.code}."):
                raise ValueError(f"{self.code}: publishes {event.name}, not one of its own")

    @property
    def ref(self) -> str:
        return f"{self.package}.module:MODULE"
