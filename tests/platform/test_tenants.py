from datetime import date

import pytest
from sqlalchemy import select

from kumomura.platform.core.errors import Conflict, InvalidInput, NotFound
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy import tenants as svc
from kumomura.platform.tenancy.tenants import Tenant, TenantState, tenants
from tests.conftest import NAGAI, make_tenant


def test_add_creates_onboarding_tenant_with_storage(db: Database) -> None:
    t = make_tenant(db)
    assert (t.lg_code, t.name, t.state, t.population) == ("062022", "米沢市", "onboarding", 90990)
    with db.tenant_tx("062022") as conn:  # its schema exists and is migrated
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    assert [x.lg_code for x in svc.list_tenants(db)] == ["062022"]


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"code": "062023"}, "lg_code", "check digit is 3, expected 2"),
    ({"code": "ABCDEF"}, "lg_code", "6 digits"),
    ({"prefecture": "東京都"}, "prefecture", "which is in 山形県"),
    ({"prefecture": "山形"}, "prefecture", "not a prefecture name"),
    ({"population": 0}, "population", "positive"),
    ({"name": "  "}, "name", "empty"),
])
def test_bad_input_names_the_field_and_stores_nothing(
    db: Database, kwargs: dict[str, object], field: str, message: str
) -> None:
    args = {"code": "062022", "name": "米沢市", "prefecture": "山形県", "population": 1,
            "actor": "t"} | kwargs
    with pytest.raises(InvalidInput, match=message) as info:
        svc.add_tenant(db, **args)  # type: ignore[arg-type]
    assert info.value.field == field
    assert svc.list_tenants(db) == []


def test_duplicate_is_refused(db: Database, yonezawa: Tenant) -> None:
    with pytest.raises(Conflict, match="062022 already exists"):
        make_tenant(db)
    assert len(svc.list_tenants(db)) == 1


def test_failed_provisioning_leaves_nothing(db: Database, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    import kumomura.platform.storage.logins as logins
    import kumomura.platform.storage.migrate as migrate

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    if db.is_postgres:  # the schema's tables made, its login's grants fail
        monkeypatch.setattr(logins, "grant_tenant", broken)
    else:
        monkeypatch.setattr(migrate, "_sqlite_upgrade_file", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        make_tenant(db)
    with db.platform_tx() as conn:
        assert conn.execute(select(tenants)).first() is None
    if db.is_postgres:
        with db.platform_tx() as conn:
            assert conn.exec_driver_sql(
                "SELECT 1 FROM pg_namespace WHERE nspname = 't_062022'").first() is None
            assert conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s",
                                        {"r": db.tenant_role("062022")}).first() is None
    else:
        assert not db.tenant_file("062022").exists()
    monkeypatch.undo()
    assert make_tenant(db).lg_code == "062022"  # and a retry succeeds


def test_lifecycle_and_history(db: Database, yonezawa: Tenant) -> None:
    svc.set_state(db, "062022", TenantState.LIVE, actor="sec", reason="本稼働")
    svc.set_state(db, "062022", TenantState.SUSPENDED, actor="op", reason="回線障害")
    with pytest.raises(Conflict, match="cannot go from suspended to onboarding"):
        svc.set_state(db, "062022", TenantState.ONBOARDING, actor="op", reason="x")
    svc.set_state(db, "062022", TenantState.LIVE, actor="op", reason="復旧")
    history = svc.state_history(db, "062022")
    assert [(h["from_state"], h["to_state"]) for h in history] == [
        (None, "onboarding"), ("onboarding", "live"), ("live", "suspended"),
        ("suspended", "live")]
    assert history[2]["reason"] == "回線障害"


def test_staggered_go_live(db: Database, yonezawa: Tenant) -> None:
    make_tenant(db, NAGAI)
    svc.set_go_live(db, "062022", "residents", date(2026, 1, 4))
    svc.set_go_live(db, "062022", "inhabitant_tax", date(2026, 6, 1))
    svc.set_go_live(db, "062090", "residents", date(2026, 10, 1))
    svc.set_go_live(db, "062022", "inhabitant_tax", date(2026, 7, 1))  # moved
    svc.set_state(db, "062022", TenantState.LIVE, actor="sec", reason="go")
    t = svc.get_tenant(db, "062022")
    assert t.go_live == {"residents": date(2026, 1, 4), "inhabitant_tax": date(2026, 7, 1)}
    assert t.is_live_for("residents", date(2026, 1, 4))
    assert not t.is_live_for("inhabitant_tax", date(2026, 6, 30))
    assert not svc.get_tenant(db, "062090").is_live_for("residents", date(2026, 12, 1))
    with pytest.raises(InvalidInput, match="not a standard business") as info:
        svc.set_go_live(db, "062022", "casino", date(2026, 1, 1))
    assert info.value.field == "business"


def test_unknown_tenant(db: Database) -> None:
    with pytest.raises(NotFound, match="062022 does not exist"):
        svc.get_tenant(db, "062022")
    with pytest.raises(InvalidInput, match="check digit"):
        svc.get_tenant(db, "062021")
