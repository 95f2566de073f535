from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import Field, model_validator

from kumomura.platform import audit, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput, NotFound
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from tests.conftest import NAGAI, make_tenant


class CertificateParams(params.Parameters):
    """A module's parameters, as a business module would declare them."""

    fee_yen: int = Field(ge=0, le=10_000)
    mayor_name: str = Field(min_length=1)
    rate: Decimal = Field(ge=0, le=Decimal("0.2"))
    max_copies: int = Field(ge=1)
    min_copies: int = Field(ge=1)

    @model_validator(mode="after")
    def _copies_in_order(self) -> "CertificateParams":
        if self.min_copies > self.max_copies:
            raise ValueError("min_copies must not exceed max_copies")
        return self


NATIONAL = {
    2024: CertificateParams(fee_yen=300, mayor_name="未設定", rate=Decimal("0.06"),
                            max_copies=10, min_copies=1),
    2026: CertificateParams(fee_yen=350, mayor_name="未設定", rate=Decimal("0.06"),
                            max_copies=10, min_copies=1),
}


@pytest.fixture(autouse=True)
def declared() -> None:
    params.register(params.declare("test_certs", CertificateParams, NATIONAL))


def _set(db: Database, name: str, value: Any, on: date, code: str = "062022") -> Any:
    with db.tenant_tx(code) as conn:
        return params.set_value(conn, "test_certs", name, value, effective_from=on,
                                ctx=AuditContext(actor="it@062022"), reason="条例改正")


def _get(db: Database, on: date, code: str = "062022") -> CertificateParams:
    values = params.get(db, code, "test_certs", on)
    assert isinstance(values, CertificateParams)
    return values


def test_national_defaults_follow_the_fiscal_year(db: Database, yonezawa: Tenant) -> None:
    assert _get(db, date(2026, 3, 31)).fee_yen == 300  # 令和7年度
    assert _get(db, date(2026, 4, 1)).fee_yen == 350   # 令和8年度
    with pytest.raises(InvalidInput, match="no national values before fiscal year 2024"):
        _get(db, date(2024, 3, 31))


def test_override_applies_from_its_effective_date(db: Database, yonezawa: Tenant) -> None:
    _set(db, "fee_yen", 200, date(2025, 4, 1))
    _set(db, "fee_yen", "250", date(2025, 10, 1))  # text from a form or the CLI
    assert _get(db, date(2025, 3, 31)).fee_yen == 300
    assert _get(db, date(2025, 4, 1)).fee_yen == 200
    assert _get(db, date(2025, 9, 30)).fee_yen == 200
    assert _get(db, date(2025, 10, 1)).fee_yen == 250
    assert _get(db, date(2026, 4, 1)).fee_yen == 250  # overrides outlive a new national set


def test_a_later_correction_for_the_same_date_wins_and_history_keeps_both(
    db: Database, yonezawa: Tenant
) -> None:
    _set(db, "mayor_name", "上杉 鷹山", date(2025, 4, 1))
    _set(db, "mayor_name", "上杉 治憲", date(2025, 4, 1))
    assert _get(db, date(2025, 5, 1)).mayor_name == "上杉 治憲"
    history = params.history(db, "062022", "test_certs", "mayor_name")
    assert [c.value for c in history] == ["上杉 鷹山", "上杉 治憲"]
    assert all(c.changed_by == "it@062022" and c.reason == "条例改正" for c in history)


def test_reset_returns_to_the_national_value(db: Database, yonezawa: Tenant) -> None:
    _set(db, "fee_yen", 200, date(2025, 4, 1))
    with db.tenant_tx("062022") as conn:
        params.reset_value(conn, "test_certs", "fee_yen", effective_from=date(2026, 4, 1),
                           ctx=AuditContext(actor="it"))
    assert _get(db, date(2026, 3, 1)).fee_yen == 200
    assert _get(db, date(2026, 4, 1)).fee_yen == 350


@pytest.mark.parametrize(("name", "value", "message"), [
    ("fee_yen", -1, "fee_yen: 0 以上にしてください"),
    ("fee_yen", "abc", "fee_yen: 整数で入力してください"),
    ("rate", "0.5", "rate: 0.2 以下にしてください"),
    ("mayor_name", "", "mayor_name: 入力してください"),
    ("min_copies", 20, "min_copies must not exceed max_copies"),
    ("colour", "red", "test_certs.colour: そのようなパラメータはありません"),
])
def test_invalid_values_are_refused_naming_field_and_rule(
    db: Database, yonezawa: Tenant, name: str, value: Any, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        _set(db, name, value, date(2025, 4, 1))
    assert info.value.field == name
    assert params.history(db, "062022", "test_certs") == []


def test_a_change_that_breaks_a_later_override_is_refused(db: Database, yonezawa: Tenant
                                                          ) -> None:
    _set(db, "min_copies", 5, date(2025, 10, 1))
    with pytest.raises(InvalidInput, match="in force from 2025-10-01"):
        _set(db, "max_copies", 3, date(2025, 4, 1))
    assert [c.name for c in params.history(db, "062022", "test_certs")] == ["min_copies"]


def test_exact_decimal_survives_storage(db: Database, yonezawa: Tenant) -> None:
    _set(db, "rate", "0.0625", date(2025, 4, 1))
    assert _get(db, date(2025, 4, 2)).rate == Decimal("0.0625")


def test_diff_lists_each_departure_per_tenant(db: Database, yonezawa: Tenant) -> None:
    make_tenant(db, NAGAI)
    _set(db, "fee_yen", 200, date(2025, 4, 1))
    _set(db, "fee_yen", 300, date(2025, 4, 1), code="062090")  # equal to national: no diff
    _set(db, "mayor_name", "長井 太郎", date(2025, 4, 1), code="062090")
    found = params.diff(db, ["062022", "062090"], date(2025, 6, 1), ["test_certs"])
    assert [(d.lg_code, d.name, d.national, d.value) for d in found] == [
        ("062022", "fee_yen", 300, 200), ("062090", "mayor_name", "未設定", "長井 太郎")]
    assert params.diff(db, ["062022", "062090"], date(2025, 3, 1), ["test_certs"]) == []


def test_tenants_overrides_stay_in_their_own_schema(db: Database, yonezawa: Tenant) -> None:
    make_tenant(db, NAGAI)
    _set(db, "fee_yen", 100, date(2025, 4, 1))
    assert _get(db, date(2025, 5, 1), code="062090").fee_yen == 300


def test_unknown_module(db: Database, yonezawa: Tenant) -> None:
    with pytest.raises(NotFound, match="'nope' declares no parameters"):
        params.get(db, "062022", "nope", date(2025, 4, 1))


def test_every_change_is_audited_in_its_transaction(db: Database, yonezawa: Tenant) -> None:
    _set(db, "fee_yen", 200, date(2025, 4, 1))
    with pytest.raises(InvalidInput):
        _set(db, "fee_yen", -5, date(2025, 4, 1))
    with db.tenant_tx("062022") as conn:
        params.reset_value(conn, "test_certs", "fee_yen", effective_from=date(2026, 4, 1),
                           ctx=AuditContext(actor="it"))
    entries = audit.entries(db, "062022")
    assert [(e["action"], e["actor"], e["detail"]["value"]) for e in entries] == [
        ("params.reset", "it", None), ("params.set", "it@062022", 200)]
    assert audit.verify(db, "062022").ok
