"""出生祝金 (birth_gift): a town's own birth-celebration payment, kept outside the
standard package and turned on per municipality with the option ``birth_gift``.

tables.py (the gifts), params.py (the ordinance's amount), service.py (on a birth, the
payment, the record's note), layout.py, ui.py and templates/ (the town's page),
migrations/ (branch ``birth_gift``).
"""

from __future__ import annotations

from pathlib import Path

from kumomura.platform.modules import BusinessModule, Extension, MenuItem, Option
from kumomura.residents.events import Born
from kumomura_birth_gift import layout, service, tables, ui
from kumomura_birth_gift.params import MODULE as CODE
from kumomura_birth_gift.params import OPTION, PARAMS

HERE = Path(__file__).parent

MODULE = BusinessModule(
    code=CODE,
    name="出生祝金 (町独自)",
    package=__package__ or "kumomura_birth_gift",
    standard=False,
    tables=(tables.birth_gifts,),
    params=PARAMS,
    handlers={Born: service.on_born},
    layouts=layout.LAYOUTS,
    migrations=HERE / "migrations",
    pages=ui.ui,
    templates=HERE / "templates",
    menu=(MenuItem("/t/{lg}/birth-gifts", "出生祝金", module=ui.PERMISSION_MODULE,
                   option=OPTION),),
    options=(Option(OPTION, "出生祝金 (町独自の出生祝金を支給する)"),),
    extensions=(Extension("residents.record_notes", OPTION, service.record_note),),
)
