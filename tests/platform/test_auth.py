from datetime import date

import pyotp
import pytest

from kumomura.platform import params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from kumomura.platform.identity import auth, second_factor
from kumomura.platform.identity.auth import Permission, Scope
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant

PW = "correct horse battery"


def _clerk(db: Database, name: str = "clerk1", code: str = "062022") -> int:
    return auth.create_user(db, username=name, password=PW, display_name="窓口 一郎",
                            scope=Scope.TENANT, lg_code=code, role_names=["counter_clerk"])


def test_roles_grant_permissions_per_module(db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    p = auth.authenticate(db, "clerk1", PW)
    assert p.can("residents", Permission.ISSUE)
    assert p.can("residents", Permission.VIEW)  # issue implies view
    assert not p.can("residents", Permission.ADMIN)
    assert not p.can("inhabitant_tax", Permission.VIEW)
    auth.require_tenant(p, "062022", "residents", Permission.VIEW)
    with pytest.raises(Forbidden, match="lacks edit on inhabitant_tax"):
        auth.require_tenant(p, "062022", "inhabitant_tax", Permission.EDIT)


def test_other_tenants_data_is_not_found_not_forbidden(db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    p = auth.authenticate(db, "clerk1", PW)
    with pytest.raises(NotFound, match="tenant 062090 does not exist"):
        auth.require_tenant(p, "062090", "residents", Permission.VIEW)
    auth.create_user(db, username="sec", password=PW, display_name="事務局",
                     scope=Scope.CONSORTIUM, lg_code=None, role_names=["secretariat"])
    sec = auth.principal_for(db, "sec")
    auth.require_platform(sec, Permission.VIEW)
    with pytest.raises(NotFound):  # the secretariat sees no personal data
        auth.require_tenant(sec, "062022", "residents", Permission.VIEW)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"password": "short"}, "password"),
    ({"username": "窓口"}, "username"),
    ({"role_names": ["nope"]}, "role"),
    ({"role_names": ["secretariat"]}, "role"),
    ({"lg_code": None}, "lg_code"),
])
def test_bad_users_are_refused_naming_the_field(db: Database, yonezawa: Tenant,
                                                kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"username": "u1", "password": PW, "display_name": "x",
                               "scope": Scope.TENANT, "lg_code": "062022",
                               "role_names": ["counter_clerk"]} | kwargs
    with pytest.raises(InvalidInput) as info:
        auth.create_user(db, **args)  # type: ignore[arg-type]
    assert info.value.field == field
    with pytest.raises(NotFound):
        auth.principal_for(db, "u1")


def test_duplicate_user(db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    with pytest.raises(Conflict, match="already exists"):
        _clerk(db)


def test_repeated_failures_lock_the_account(db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    for _ in range(5):
        with pytest.raises(Unauthenticated, match="正しくありません"):
            auth.authenticate(db, "clerk1", "wrong password!")
    with pytest.raises(Unauthenticated, match="ロック"):
        auth.authenticate(db, "clerk1", PW)
    with pytest.raises(Unauthenticated, match="正しくありません"):
        auth.authenticate(db, "nobody", PW)


def test_totp_second_factor(db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    uri = second_factor.enrol_unconfirmed(db, "clerk1")
    secret = pyotp.parse_uri(uri).secret
    with pytest.raises(Unauthenticated):
        auth.authenticate(db, "clerk1", PW)
    with pytest.raises(Unauthenticated):
        auth.authenticate(db, "clerk1", PW, "000000" if pyotp.TOTP(secret).now() != "000000"
                          else "111111")
    assert auth.authenticate(db, "clerk1", PW, pyotp.TOTP(secret).now()).username == "clerk1"


def test_tenant_parameter_can_require_mfa(db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    with db.tenant_tx("062022") as conn:
        params.set_value(conn, PLATFORM_MODULE, "mfa_required_for_personal_data", True,
                         effective_from=date(2024, 4, 1), ctx=AuditContext(actor="it"))
    with pytest.raises(Unauthenticated, match="二要素認証"):
        auth.authenticate(db, "clerk1", PW)


def test_api_tokens(db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    token = auth.issue_token(db, "clerk1", "住基連携")
    assert auth.principal_from_token(db, token).lg_code == "062022"
    with pytest.raises(Unauthenticated):
        auth.principal_from_token(db, token + "x")
    assert auth.revoke_tokens(db, "clerk1") == 1
    with pytest.raises(Unauthenticated):
        auth.principal_from_token(db, token)


def test_a_totp_code_logs_in_once(db: Database, yonezawa: Tenant,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A code seen over a shoulder, or replayed by a proxy, within its 30 seconds (and
    the minute of drift allowed around them) logs nobody in a second time."""
    import threading
    from datetime import UTC, datetime, timedelta

    _clerk(db)
    secret = pyotp.parse_uri(second_factor.enrol_unconfirmed(db, "clerk1")).secret
    totp = pyotp.TOTP(secret)
    now = datetime(2026, 12, 3, 3, 0, 10, tzinfo=UTC)
    monkeypatch.setattr(auth, "utcnow", lambda: now)
    code = totp.at(now)
    assert auth.authenticate(db, "clerk1", PW, code).username == "clerk1"
    for replay in (code, totp.at(now, counter_offset=-1)):  # again, or an older one
        with pytest.raises(Unauthenticated):
            auth.authenticate(db, "clerk1", PW, replay)
    now += timedelta(seconds=30)
    fresh = totp.at(now)
    outcomes: list[bool] = []

    def login() -> None:  # two at once with the same new code: one gets in
        try:
            auth.authenticate(db, "clerk1", PW, fresh)
            outcomes.append(True)
        except Unauthenticated:
            outcomes.append(False)

    both = [threading.Thread(target=login) for _ in range(2)]
    for t in both:
        t.start()
    for t in both:
        t.join(20)
    assert sorted(outcomes) == [False, True]
