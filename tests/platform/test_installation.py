"""Installing modules: what the manifests declare reaches the registries, and what they
forget or get wrong stops the start with a message naming it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Column, Connection, Integer, Table

from kumomura import catalog
from kumomura.platform import installation, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.modules import BusinessModule, Extension
from kumomura.platform.storage.db import Database, tenant_metadata
from kumomura.platform.tenancy.tenants import Tenant
from tests.conftest import NAGAI, make_tenant

CTX = AuditContext(actor="test")


def _note(_conn: Connection, atena_no: str) -> list[str]:
    return [f"見守り対象 ({atena_no})"]


NOTE = Extension("residents.record_notes", "watch_list", _note, option_title="見守り (町独自)")


@pytest.fixture
def standalone() -> Iterator[Extension]:
    """An extension installed without a module (as from ``kumomura.extensions``)."""
    installation.install([], [NOTE])
    yield NOTE
    installation._EXTENSIONS.pop((NOTE.point, NOTE.option))
    catalog.install()  # the options group without it again


def test_an_extension_alone_declares_its_option_and_works_where_it_is_on(
        db: Database, yonezawa: Tenant, standalone: Extension) -> None:
    make_tenant(db, NAGAI)
    assert "watch_list" in {o.name for o in installation.options()}
    with db.tenant_tx("062022") as conn:
        params.set_value(conn, "options", "watch_list", True, effective_from=date(2026, 4, 1),
                         ctx=CTX, reason="要綱")
        here = installation.extensions(conn, "residents.record_notes", date(2026, 6, 1))
        before = installation.extensions(conn, "residents.record_notes", date(2026, 3, 31))
    with db.tenant_tx("062090") as conn:
        elsewhere = installation.extensions(conn, "residents.record_notes", date(2026, 6, 1))
    assert _note in here
    assert _note not in before
    assert _note not in elsewhere


def test_an_extension_on_a_point_nobody_declares_is_refused() -> None:
    stray = Extension("residents.nowhere", "stray", _note, option_title="迷子")
    with pytest.raises(ValueError, match=r"extension point 'residents.nowhere'"):
        installation.install([], [stray])
    installation._EXTENSIONS.pop((stray.point, stray.option))


def test_a_table_no_manifest_lists_stops_the_start() -> None:
    forgotten = Table("forgotten", tenant_metadata, Column("id", Integer, primary_key=True))
    try:
        with pytest.raises(ValueError, match=r"module lists: tenant\.forgotten"):
            catalog.install()
    finally:
        tenant_metadata.remove(forgotten)
    catalog.install()


def test_two_modules_with_one_code_are_refused() -> None:
    twin = BusinessModule(code="residents", name="住民記録 (複製)", package="elsewhere")
    with pytest.raises(ValueError, match="two modules with the code 'residents'"):
        installation.install([twin])


def test_nothing_registers_by_being_imported() -> None:
    """Importing every manifest (in a fresh process) fills no registry; installing does."""
    import subprocess
    import sys

    code = ("from kumomura import catalog\n"
            "from kumomura.platform import events, params\n"
            "from kumomura.platform.exchange import layouts\n"
            "from kumomura.platform.jobs import queue\n"
            "print(len(params.declared_modules()), len(events.subscribers()),"
            " len(layouts.all_layouts()), len(queue.kinds()))\n"
            "catalog.install()\n"
            "print(len(params.declared_modules()) > 3, len(events.subscribers()) > 1,"
            " len(layouts.all_layouts()) > 10, len(queue.kinds()) > 2)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "0 0 0 0"
    assert out[1] == "True True True True"
