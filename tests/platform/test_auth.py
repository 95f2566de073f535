from datetime import date, timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from kumomura.platform import audit, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.config import get_settings
from kumomura.platform.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from kumomura.platform.core.timeutil import as_utc, utcnow
from kumomura.platform.identity import auth, second_factor, throttle, tokens, trail
from kumomura.platform.identity.auth import Permission, Scope
from kumomura.platform.identity.tables import api_tokens, login_throttle
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


def _failures(db: Database) -> dict[str, int]:
    with db.platform_tx() as conn:
        return dict(conn.execute(select(login_throttle.c.key, login_throttle.c.failures)).all())


def _time_passes(db: Database, seconds: int = 3600) -> None:
    """The wait runs out: its end moved an hour into the past (or, with a negative
    ``seconds``, still running after this slow machine's next step)."""
    with db.platform_tx() as conn:
        conn.execute(update(login_throttle).where(login_throttle.c.blocked_until.is_not(None))
                     .values(blocked_until=utcnow() - timedelta(seconds=seconds)))


def _waits(db: Database, key: str) -> bool:
    """Whether the key was given a wait (however short, and whether or not it ran out)."""
    with db.platform_tx() as conn:
        return conn.execute(select(login_throttle.c.blocked_until).where(
            login_throttle.c.key == key)).scalar() is not None


def test_failures_beyond_the_free_ones_make_the_name_wait_never_lock_it(
        db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    free = get_settings().login_free_failures
    for _ in range(free):
        with pytest.raises(Unauthenticated):
            auth.authenticate(db, "clerk1", "wrong password!")
    assert auth.authenticate(db, "clerk1", PW).username == "clerk1"  # still free: in
    assert _failures(db) == {}  # a success forgets the name's failures
    for _ in range(free + 1):
        with pytest.raises(Unauthenticated):
            auth.authenticate(db, "clerk1", "wrong password!")
    _time_passes(db, -3600)
    with pytest.raises(Unauthenticated) as refused:  # waiting: even the right password
        auth.authenticate(db, "clerk1", PW)
    assert refused.value.message == auth.LOGIN_FAILED
    assert _failures(db) == {"account:clerk1": free + 1}  # the refusal did not count
    _time_passes(db)
    assert auth.authenticate(db, "clerk1", PW).username == "clerk1"
    actions = [e["action"] for e in audit.entries(db, "062022")]
    assert actions.count("auth.login_failed") == 2 * free + 1
    assert actions.count("auth.login_throttled") == 1
    assert actions.count("auth.login") == 2


def test_the_wait_doubles_from_a_second_to_the_maximum() -> None:
    free = get_settings().login_free_failures
    waits = [throttle.delay(free + k, free) for k in range(0, 14)]
    assert waits[0] is None
    assert [w.total_seconds() for w in waits[1:5] if w] == [1, 2, 4, 8]
    assert waits[-1] == timedelta(seconds=get_settings().login_max_delay_seconds)


def test_an_unknown_or_suspended_name_fails_like_a_wrong_password(
        db: Database, yonezawa: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same words, and the same work (one password hash checked), whether the name
    exists, is suspended, is made to wait or merely typed the wrong password."""
    _clerk(db)
    _clerk(db, "clerk2")
    auth.set_active(db, "clerk2", False)
    checks: list[str] = []
    real = auth.password_matches

    def counted(password_hash: str, password: str) -> bool:
        checks.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "password_matches", counted)
    answers = []
    for name, password in (("clerk1", "wrong password!"), ("nobody", PW), ("clerk2", PW)):
        checks.clear()
        with pytest.raises(Unauthenticated) as failed:
            auth.authenticate(db, name, password)
        answers.append(failed.value.message)
        assert checks == [password], name
    assert set(answers) == {auth.LOGIN_FAILED}
    free = get_settings().login_free_failures
    for name in ("clerk1", "nobody"):  # the unknown name is made to wait alike
        for _ in range(free):
            with pytest.raises(Unauthenticated):
                auth.authenticate(db, name, "wrong password!")
        assert _waits(db, f"account:{name}"), name
    _time_passes(db, -3600)
    checks.clear()
    with pytest.raises(Unauthenticated, match=auth.LOGIN_FAILED):
        auth.authenticate(db, "clerk1", PW)
    assert len(checks) == 1  # waiting costs the same check (against no one's hash)
    names = {e["username"] for e in trail.platform_events(db)}
    assert names == {"nobody"}  # the municipality's staff are in its own trail


def test_one_address_trying_many_names_waits(db: Database, yonezawa: Tenant,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUMOMURA_LOGIN_FREE_FAILURES", "1")
    get_settings.cache_clear()
    for i in range(throttle.ADDRESS_FACTOR + 1):
        with pytest.raises(Unauthenticated):
            auth.authenticate(db, f"guess{i}", "password",
                              attempt=throttle.Attempt(f"guess{i}", "192.0.2.7"))
    assert _waits(db, "address:192.0.2.7")
    _time_passes(db, -3600)
    with db.platform_tx() as conn:
        assert throttle.blocked(conn, throttle.Attempt("someone", "192.0.2.7"))
        assert not throttle.blocked(conn, throttle.Attempt("someone", "192.0.2.8"))


def test_the_it_lead_lifts_a_wait_of_the_municipalitys_users_only(
        db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    for _ in range(get_settings().login_free_failures + 1):
        with pytest.raises(Unauthenticated):
            auth.authenticate(db, "clerk1", "wrong password!")
    _time_passes(db, -3600)
    assert [u["waiting"] for u in auth.users_of(db, "062022")] == [True]
    with pytest.raises(NotFound):
        auth.lift_wait(db, "clerk1", lg_code="062090")
    assert auth.lift_wait(db, "clerk1", lg_code="062022")
    assert auth.authenticate(db, "clerk1", PW).username == "clerk1"


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
    token = tokens.issue(db, "clerk1", "住基連携")
    assert tokens.principal_from(db, token).lg_code == "062022"
    with pytest.raises(Unauthenticated):
        tokens.principal_from(db, token + "x")
    assert tokens.revoke_all(db, "clerk1") == 1
    with pytest.raises(Unauthenticated):
        tokens.principal_from(db, token)


def _expiry(db: Database, token: str) -> timedelta:
    with db.platform_tx() as conn:
        row = conn.execute(select(api_tokens.c.created_at, api_tokens.c.expires_at).where(
            api_tokens.c.token_hash == auth.token_hash(token))).one()
    return as_utc(row.expires_at) - as_utc(row.created_at)


def test_a_token_does_only_what_it_names_and_its_user_still_may(
        db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    token = tokens.issue(db, "clerk1", "照会", scopes=tokens.parse_scopes(["residents:view"]))
    held = tokens.principal_from(db, token)
    assert held.can("residents", Permission.VIEW)
    assert not held.can("residents", Permission.EDIT)  # the clerk may; the token may not
    assert not held.can("seal_registration", Permission.VIEW)
    assert _expiry(db, token) == timedelta(days=90)
    for beyond in (["inhabitant_tax:view"], ["residents:admin"]):
        with pytest.raises(InvalidInput, match="役割にない権限") as refused:
            tokens.issue(db, "clerk1", "x", scopes=tokens.parse_scopes(beyond))
        assert refused.value.field == "scopes"
    with pytest.raises(InvalidInput) as bad:
        tokens.parse_scopes(["residents"])
    assert bad.value.field == "scopes"
    with pytest.raises(InvalidInput) as long:
        tokens.issue(db, "clerk1", "x", days=366)
    assert long.value.field == "days"
    auth.set_roles(db, "clerk1", ["tax_officer"])  # residents:view only, of the registry
    assert tokens.principal_from(db, token).can("residents", Permission.VIEW)
    wider = tokens.issue(db, "clerk1", "全部")  # what the user may do now, fixed at that
    auth.set_roles(db, "clerk1", ["counter_clerk", "tax_officer"])
    assert not tokens.principal_from(db, wider).can("residents", Permission.EDIT)
    auth.set_roles(db, "clerk1", ["linkage_client"])
    assert not tokens.principal_from(db, token).grants  # the role went: so did the scope


def test_a_new_password_or_a_suspension_revokes_the_users_tokens(
        db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    first = tokens.issue(db, "clerk1", "連携")
    auth.set_password(db, "clerk1", "another long passphrase")
    with pytest.raises(Unauthenticated):
        tokens.principal_from(db, first)
    second = tokens.issue(db, "clerk1", "連携")
    auth.set_active(db, "clerk1", False)
    auth.set_active(db, "clerk1", True)
    with pytest.raises(Unauthenticated):
        tokens.principal_from(db, second)


def test_a_personal_data_token_needs_the_second_factor_the_member_requires(
        db: Database, yonezawa: Tenant) -> None:
    _clerk(db)
    _clerk(db, "it1")
    auth.set_roles(db, "it1", ["municipal_it"])
    with db.tenant_tx("062022") as conn:
        params.set_value(conn, PLATFORM_MODULE, "mfa_required_for_personal_data", True,
                         effective_from=date(2024, 4, 1), ctx=AuditContext(actor="it"))
    with pytest.raises(InvalidInput) as refused:
        tokens.issue(db, "clerk1", "照会")
    assert refused.value.field == "totp_code"
    secret = pyotp.parse_uri(second_factor.enrol_unconfirmed(db, "clerk1")).secret
    with pytest.raises(InvalidInput):
        tokens.issue(db, "clerk1", "照会", totp_code="000000" if pyotp.TOTP(secret).now()
                     != "000000" else "111111")
    code = pyotp.TOTP(secret).now()
    assert tokens.issue(db, "clerk1", "照会", totp_code=code)
    with pytest.raises(InvalidInput):  # the code was used
        tokens.issue(db, "clerk1", "照会", totp_code=code)
    assert tokens.issue(db, "it1", "設定")  # no personal data: no second factor needed
    listed = tokens.of_municipality(db, "062022")
    assert [t["username"] for t in listed] == ["it1", "clerk1"]
    assert "token_hash" not in listed[0]
    with pytest.raises(NotFound):
        tokens.revoke(db, listed[0]["id"], lg_code="062090", by="nagai_it")
    tokens.revoke(db, listed[0]["id"], lg_code="062022", by="it1")
    assert tokens.of_municipality(db, "062022")[0]["revoked_by"] == "it1"
    actions = [e["action"] for e in audit.entries(db, "062022")]
    assert actions.count("auth.token_issued") == 2
    assert "auth.token_revoked" in actions


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
