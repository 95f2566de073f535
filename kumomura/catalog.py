"""The standard package's modules, and the plugins installed beside it.

``MODULES`` is the standard package: module objects, in the order their menus appear.
Plugins (customizations kept outside the standard package) are found through the
``kumomura.modules`` entry point group; each municipality turns a plugin on through its
option. Nothing registers by being imported: ``install`` does, once, at each entry point.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import TypeVar

from kumomura.collection import module as collection
from kumomura.costs import module as costs
from kumomura.inhabitant_tax import module as inhabitant_tax
from kumomura.platform import installation
from kumomura.platform.modules import BusinessModule, Extension
from kumomura.residents import module as residents
from kumomura.seal_registration import module as seal_registration

MODULES: tuple[BusinessModule, ...] = (
    residents.MODULE, seal_registration.MODULE, inhabitant_tax.MODULE, collection.MODULE,
    costs.MODULE)

T = TypeVar("T")
PLUGIN_GROUP = "kumomura.modules"
EXTENSION_GROUP = "kumomura.extensions"


@cache
def _loaded(group: str, kind: type[T]) -> tuple[T, ...]:
    """The objects a group's entry points name, each checked to be a ``kind``; read once
    per process (the CLI mounts plugins' groups and then installs them)."""
    found = []
    for point in sorted(entry_points(group=group), key=lambda p: p.name):
        value = point.load()
        if not isinstance(value, kind):
            raise TypeError(f"entry point {point.name} ({point.value}) is not a "
                            f"{kind.__name__}")
        found.append(value)
    return tuple(found)


def plugins() -> list[BusinessModule]:
    """Modules of installed plugin packages (their ``kumomura.modules`` entry points)."""
    return list(_loaded(PLUGIN_GROUP, BusinessModule))


def extensions() -> list[Extension]:
    """Extensions of installed packages that add no module (``kumomura.extensions``)."""
    return list(_loaded(EXTENSION_GROUP, Extension))


def install() -> list[BusinessModule]:
    """Install the standard modules and every plugin found; idempotent."""
    return installation.install([*MODULES, *plugins()], extensions())
