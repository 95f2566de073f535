"""The standard package's modules, and the plugins installed beside it.

``MODULES`` is the standard package: module objects, in the order their menus appear.
Plugins (customizations kept outside the standard package) are found through the
``kumomura.modules`` entry point group; each municipality turns a plugin on through its
option. Nothing registers by being imported: ``install`` does, once, at each entry point.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from kumomura.costs import module as costs
from kumomura.inhabitant_tax import module as inhabitant_tax
from kumomura.platform import installation
from kumomura.platform.modules import BusinessModule, Extension
from kumomura.residents import module as residents
from kumomura.seal_registration import module as seal_registration

MODULES: tuple[BusinessModule, ...] = (
    residents.MODULE, seal_registration.MODULE, inhabitant_tax.MODULE, costs.MODULE)

PLUGIN_GROUP = "kumomura.modules"
EXTENSION_GROUP = "kumomura.extensions"


def plugins() -> list[BusinessModule]:
    """Modules of installed plugin packages (their ``kumomura.modules`` entry points)."""
    found = []
    for point in sorted(entry_points(group=PLUGIN_GROUP), key=lambda p: p.name):
        module = point.load()
        if not isinstance(module, BusinessModule):
            raise TypeError(f"entry point {point.name} ({point.value}) is not a BusinessModule")
        found.append(module)
    return found


def extensions() -> list[Extension]:
    """Extensions of installed packages that add no module (``kumomura.extensions``)."""
    found = []
    for point in sorted(entry_points(group=EXTENSION_GROUP), key=lambda p: p.name):
        extension = point.load()
        if not isinstance(extension, Extension):
            raise TypeError(f"entry point {point.name} ({point.value}) is not an Extension")
        found.append(extension)
    return found


def install() -> list[BusinessModule]:
    """Install the standard modules and every plugin found; idempotent."""
    return installation.install([*MODULES, *plugins()], extensions())
