"""Installing modules: the one place where manifests fill the platform's registries.

The entry points (the web app, the CLI, the tests, the benchmarks) install the catalog's
modules once at start; spawned processes install the same ones from their references.
Installing is idempotent. Every table on the shared metadata must be claimed by exactly
one installed manifest, so a module that forgets to list a table fails at start rather
than being left out of migrations, export and backup.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from pydantic import Field, create_model
from sqlalchemy import Connection

from kumomura.platform import events, params
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.errors import NotFound
from kumomura.platform.exchange import imports, layouts
from kumomura.platform.exchange.layouts import Layout
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.manifest import PLATFORM
from kumomura.platform.modules import BusinessModule, Extension, OfflineHooks, Option
from kumomura.platform.storage import migrate
from kumomura.platform.storage.db import platform_metadata, tenant_metadata

OPTIONS_MODULE = "options"
"""The parameter group of the options: one boolean per declared option, effective-dated
and audited like every parameter."""

_INSTALLED: dict[str, BusinessModule] = {}
_EXTENSIONS: dict[tuple[str, str], Extension] = {}
"""Extensions installed on their own (not in a module's manifest), by point and option."""


def install(modules: Iterable[BusinessModule],
            extensions: Iterable[Extension] = ()) -> list[BusinessModule]:
    """Install the platform, the given modules and extensions; return the modules."""
    for extension in extensions:
        _EXTENSIONS[(extension.point, extension.option)] = extension
    for module in (PLATFORM, *modules):
        known = _INSTALLED.get(module.code)
        if known is module:
            continue
        if known is not None:
            raise ValueError(f"two modules with the code {module.code!r}: "
                             f"{known.package} and {module.package}")
        _register(module)
        _INSTALLED[module.code] = module
    _check_tables_claimed()
    _check_extensions()
    _declare_options()
    return installed()


def _register(module: BusinessModule) -> None:
    if module.params is not None:
        params.register(module.params)
    for layout in module.layouts:
        layouts.register(layout)
    for table, reason in module.not_exported.items():
        layouts.not_exported(table, reason)
    for kind in module.jobs:
        jobs.register(kind)
    if module.handlers:
        events.subscribe_typed(module.code, module.handlers)
    if module.import_checks:
        imports.register_checks(module.code, module.import_checks)
    if module.migrations is not None:
        migrate.add_versions("tenant", module.migrations)
    if module.platform_migrations is not None:
        migrate.add_versions("platform", module.platform_migrations)


def _check_tables_claimed() -> None:
    claimed: dict[str, str] = {}
    for module in _INSTALLED.values():
        for table in module.tables:
            if table.fullname in claimed:
                raise ValueError(f"table {table.fullname} is claimed by {claimed[table.fullname]}"
                                 f" and {module.code}")
            claimed[table.fullname] = module.code
    unclaimed = sorted({*tenant_metadata.tables, *platform_metadata.tables} - set(claimed))
    if unclaimed:
        raise ValueError(f"tables no installed module lists: {', '.join(unclaimed)}")


def _check_extensions() -> None:
    """Each extension sits on a declared point and is switched by a declared option."""
    points = {p.name for m in _INSTALLED.values() for p in m.extension_points}
    names = {o.name for o in options()}
    for owner, ext in _all_extensions():
        if ext.point not in points:
            raise ValueError(f"{owner}: no installed module declares the extension point "
                             f"{ext.point!r} (declared: {', '.join(sorted(points))})")
        if ext.option not in names:
            raise ValueError(f"{owner}: extension at {ext.point} names the undeclared "
                             f"option {ext.option!r}")


def _all_extensions() -> list[tuple[str, Extension]]:
    """Every extension with who brings it (a module's code, or the extension's option)."""
    return ([(m.code, e) for m in _INSTALLED.values() for e in m.extensions]
            + [(e.option, e) for e in _EXTENSIONS.values()])


def _declare_options() -> None:
    """The options parameter group: every installed module's options, off by default."""
    declared = {o.name: o for o in options()}
    fields: dict[str, Any] = {name: (bool, Field(default=False, description=o.title))
                              for name, o in sorted(declared.items())}
    model = create_model("OptionParameters", __base__=params.Parameters, **fields)
    params.register(params.declare(OPTIONS_MODULE, model, {1967: model()}))


def installed() -> list[BusinessModule]:
    """The installed modules, the platform first, then in installation order."""
    return list(_INSTALLED.values())


def business_modules() -> list[BusinessModule]:
    return [m for m in _INSTALLED.values() if m.code != PLATFORM_MODULE]


def module(code: str) -> BusinessModule:
    try:
        return _INSTALLED[code]
    except KeyError:
        raise NotFound(f"module {code!r} is not installed (installed: "
                       f"{', '.join(_INSTALLED)})", field="module") from None


def installed_refs() -> tuple[str, ...]:
    """What a spawned process installs to be configured as this one."""
    return tuple(m.ref for m in business_modules())


def install_refs(refs: Sequence[str]) -> list[BusinessModule]:
    """Install modules named by their manifest's reference (``package.module:MODULE``)."""
    found = []
    for ref in refs:
        path, _, name = ref.partition(":")
        found.append(getattr(importlib.import_module(path), name))
    return install(found)


def options() -> list[Option]:
    """Every declared option: the modules' and those of extensions installed alone."""
    return ([o for m in _INSTALLED.values() for o in m.options]
            + [Option(e.option, e.option_title) for e in _EXTENSIONS.values()
               if e.option_title is not None])


def option_on(conn: Connection, name: str, on: date) -> bool:
    """Whether the municipality has an option turned on, on a date."""
    values = params.values_on(conn, OPTIONS_MODULE, on)
    return bool(getattr(values, name))


def extensions(conn: Connection, point: str, on: date) -> list[Callable[..., Any]]:
    """The functions plugins add at an extension point, for a municipality that has their
    option on; the module at that point calls each."""
    found = [e for _owner, e in _all_extensions() if e.point == point]
    return [e.function for e in found if option_on(conn, e.option, on)]


def standard_layouts() -> list[Layout]:
    """The standard package's layouts (docs/layouts.md); a plugin documents its own."""
    return [lay for m in _INSTALLED.values() if m.standard for lay in m.layouts]


def offline_layouts() -> frozenset[str]:
    """What the town hall's municipal package holds: every module's offline layouts."""
    return frozenset().union(*(m.offline.layouts for m in _INSTALLED.values() if m.offline))


def offline_hooks() -> list[OfflineHooks]:
    """The modules that issue certificates offline and bring them back."""
    return [m.offline for m in _INSTALLED.values()
            if m.offline is not None and m.offline.issuance_log is not None]
