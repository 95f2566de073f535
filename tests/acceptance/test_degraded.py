"""縮退運用: the municipal package opens at the town hall as a local counter that reads and
issues certificates in a series of its own; their log comes back into the cloud once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kumomura.platform import audit, installation, params
from kumomura.platform.core.config import Settings, get_settings
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.resilience import degraded
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.residents import offline
from kumomura.residents.tables import certificate_issues
from kumomura.web.app import create_app
from tests.pages import MOVE_IN, StaffBrowser
from tests.residents.factories import CTX, family

CODE = "062022"


@pytest.fixture
def town_hall(db: Database, yonezawa: Tenant, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, str, Database]]:
    with db.tenant_tx(CODE) as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=CTX, reason="設定")
        atena_no = ch.move_in(conn, CTX, family()).atena_nos[0]
    keys = tmp_path / "keys"
    info = degraded.package(db, CODE, tmp_path / "packages", key_dir=keys, ctx=CTX,
                            layouts=installation.offline_layouts())
    local = Database(None, tmp_path / "town-hall")
    password = degraded.open_local(local, info.path, key_dir=keys, username="counter")
    monkeypatch.setenv("KUMOMURA_DEGRADED", "1")
    get_settings.cache_clear()
    app = create_app(settings=Settings(database_url=None, data_dir=tmp_path / "town-hall",
                                       degraded=True), db=local)
    with StaffBrowser(app) as client:
        r = client.post("/login", data={"username": "counter", "password": password},
                        follow_redirects=False)
        assert r.status_code == 303
        yield client, atena_no, local
    monkeypatch.delenv("KUMOMURA_DEGRADED")
    get_settings.cache_clear()
    local.dispose()


def test_the_town_hall_reads_and_issues_and_the_cloud_gets_the_log(
        town_hall: tuple[TestClient, str, Database], db: Database) -> None:
    client, atena_no, local = town_hall
    record = client.get(f"/t/{CODE}/residents/{atena_no}")
    assert record.status_code == 200
    assert "縮退運用中" in record.text
    assert "山田 太郎" in record.text
    assert client.post(f"/t/{CODE}/residents/move-in", data=MOVE_IN).status_code == 403
    pdf = client.post(f"/t/{CODE}/residents/{atena_no}/certificate", data={
        "kind": "copy", "scope": "person", "applicant_kind": "self", "purpose": "就職"})
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["x-issue-no"] == "D2026-000001"

    log = offline.issuance_log(local, CODE)
    assert [r["issue_no"] for r in log] == ["D2026-000001"]
    assert offline.bring_back(db, CODE, log, CTX) == 1
    assert offline.bring_back(db, CODE, log, CTX) == 0  # a second time changes nothing
    with db.tenant_tx(CODE) as conn:
        issued = conn.execute(select(certificate_issues.c.issue_no)).scalars().all()
    assert "D2026-000001" in issued
    actions = [e["action"] for e in audit.entries(db, CODE, atena_no=atena_no)]
    assert "residents.certificate_issued_degraded" in actions
    assert audit.verify(db, CODE).ok  # the chain holds with the entries brought back


def test_only_a_municipal_package_opens(db: Database, yonezawa: Tenant,
                                        tmp_path: Path) -> None:
    from kumomura.platform.resilience import backup

    info = backup.run(db, CODE, tmp_path / "b", key_dir=tmp_path / "k", ctx=CTX)
    with pytest.raises(InvalidInput) as refused:
        degraded.open_local(Database(None, tmp_path / "local"), info.path,
                            key_dir=tmp_path / "k", username="counter")
    assert refused.value.field == "package"
