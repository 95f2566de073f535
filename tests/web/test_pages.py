"""Staff pages through HTTP: login, sessions that end, the counter's forms with errors
beside the fields, and another municipality's staff kept out."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from kumomura.platform import audit
from kumomura.platform.core.config import get_settings
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.identity.auth import Scope, users_of
from kumomura.platform.identity.tables import login_throttle, web_sessions
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.resilience import backup
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import TenantState, get_tenant, set_state
from tests.pages import PW, StaffBrowser, _login, _user


def test_sessions_end_at_logout_and_when_idle(client: TestClient, db: Database) -> None:
    _login(client)
    assert client.get("/").status_code == 200
    client.post("/logout")
    assert client.get("/", follow_redirects=False).status_code == 303
    _login(client)
    with db.platform_tx() as conn:
        conn.execute(update(web_sessions).values(last_seen_at=utcnow() - timedelta(hours=1)))
    idle = client.get("/", follow_redirects=False)
    assert idle.status_code == 303
    assert "notice=idle" in idle.headers["location"]
    assert "一定時間操作がなかった" in client.get(idle.headers["location"]).text


def test_parameters_and_the_console(client: TestClient, db: Database) -> None:
    _user(db, "it", ["municipal_it"])
    _user(db, "sec", ["secretariat"], code=None, scope=Scope.CONSORTIUM)
    _login(client, "it")
    page = client.get("/t/062022/params")
    assert "idle_timeout_minutes" in page.text
    changed = client.post("/t/062022/params", data={
        "module": "inhabitant_tax", "name": "prefectural_per_capita", "value": "2000",
        "effective_from": "2024-04-01", "reason": "やまがた緑環境税"}, follow_redirects=True)
    assert "inhabitant_tax.prefectural_per_capita を変更しました" in changed.text
    assert "<strong>2000</strong>" in changed.text
    refused = client.post("/t/062022/params", data={
        "module": "inhabitant_tax", "name": "grade", "value": "7",
        "effective_from": "2024-04-01"}, follow_redirects=True)
    assert "変更できません" in refused.text
    assert client.get("/console").status_code == 403
    client.post("/logout")
    _login(client, "sec")
    console = client.get("/console")
    assert "米沢市" in console.text
    assert "長井市" in console.text
    diff = client.get("/console/params")
    assert "inhabitant_tax.prefectural_per_capita" in diff.text
    assert client.get("/t/062022/residents").status_code == 404  # no personal data


def _next_code(secret: str) -> str:
    """The app's next code: the one that confirmed the enrolment does not log in."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def _secret(page: str) -> str:
    return page.split('name="secret" value="')[1].split('"')[0]


def test_own_second_factor_confirmed_by_password_and_code(client: TestClient) -> None:
    _login(client)
    assert "未設定" in client.get("/account").text
    form = client.get("/account/totp").text
    assert "<svg" in form  # the QR code, inline
    secret = _secret(form)
    wrong = client.post("/account/totp", data={"secret": secret, "password": "nope",
                                               "code": "000000"})
    assert wrong.status_code == 422
    assert 'id="password-error"' in wrong.text
    assert 'id="code-error"' in wrong.text
    assert _secret(wrong.text) == secret  # the same secret to try again with
    bad_secret = client.post("/account/totp", data={
        "secret": "not base32 at all!", "password": PW, "code": "123456"})
    assert bad_secret.status_code == 422
    assert 'id="code-error"' in bad_secret.text
    done = client.post("/account/totp", follow_redirects=False, data={
        "secret": secret, "password": PW, "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 303
    assert "設定済み" in client.get("/account").text
    client.post("/logout")
    assert client.post("/login", data={"username": "clerk", "password": PW}).status_code == 401
    ok = client.post("/login", follow_redirects=False, data={
        "username": "clerk", "password": PW, "totp": _next_code(secret)})
    assert ok.status_code == 303


def test_it_lead_resets_a_second_factor_its_owner_enrols_again(client: TestClient,
                                                                db: Database) -> None:
    """The IT lead only forgets a second factor (never holds one for someone else); the
    clerk enrols the next one with their own password. Another town's IT lead cannot."""
    _user(db, "it", ["municipal_it"])
    _user(db, "nagai_it", ["municipal_it"], code="062090")
    _login(client)
    secret = _secret(client.get("/account/totp").text)
    assert client.post("/account/totp", follow_redirects=False, data={
        "secret": secret, "password": PW, "code": pyotp.TOTP(secret).now()}).status_code == 303
    client.post("/logout")
    _login(client, "it")
    listing = client.get("/t/062022/users").text
    assert "clerk" in listing
    assert "nagai_it" not in listing
    assert client.get("/t/062022/users/clerk/totp").status_code == 404  # no enrolling others
    client.post("/logout")
    _login(client, "nagai_it")
    assert client.post("/t/062022/users/clerk/totp/reset").status_code == 404
    assert client.post("/t/062090/users/clerk/totp/reset").status_code == 404
    client.post("/logout")
    _login(client, "it")
    reset = client.post("/t/062022/users/clerk/totp/reset", follow_redirects=False)
    assert reset.status_code == 303
    assert "clerk の二要素認証をリセットしました" in client.get(reset.headers["location"]).text
    client.post("/logout")
    _login(client)  # no second factor now: the password alone (the town requires none)
    assert "未設定" in client.get("/account").text


def test_it_lead_adds_resets_and_suspends_users(client: TestClient, db: Database) -> None:
    """The municipal IT lead: a user added (errors beside the fields, nothing stored on a
    refusal), a password reset, a suspension that also ends the user's open session."""
    _user(db, "it", ["municipal_it"])
    _user(db, "nagai_clerk", ["counter_clerk"], code="062090")
    _login(client, "it")
    refused = client.post("/t/062022/users", data={"username": "new clerk", "password": "short"})
    assert refused.status_code == 422
    assert 'id="username-error"' in refused.text
    assert 'id="password-error"' in refused.text
    assert "役割を1つ以上選んでください" in refused.text  # all three named at once
    assert "new clerk" not in [u["username"] for u in users_of(db, "062022")]
    added = client.post("/t/062022/users", follow_redirects=False, data={
        "username": "clerk2", "display_name": "窓口 二郎", "password": PW,
        "roles": ["counter_clerk"]})
    assert added.status_code == 303, added.text
    listing = client.get(added.headers["location"]).text
    assert "利用者 clerk2 を登録しました" in listing
    assert "counter_clerk" in listing
    short = client.post("/t/062022/users/clerk2/password", data={"password": "short"})
    assert short.status_code == 422
    assert "パスワードは10文字以上にしてください" in short.text
    assert client.post("/t/062022/users/clerk2/password", follow_redirects=False,
                       data={"password": "another long passphrase"}).status_code == 303
    assert client.post("/t/062022/users/nagai_clerk/password",
                       data={"password": "another long passphrase"}).status_code == 404
    itself = client.post("/t/062022/users/it/active", data={"active": "false"})
    assert itself.status_code == 422

    clerk = StaffBrowser(client.app)
    assert clerk.post("/login", follow_redirects=False, data={
        "username": "clerk2", "password": "another long passphrase"}).status_code == 303
    assert clerk.get("/").status_code == 200
    assert client.post("/t/062022/users/clerk2/active", follow_redirects=False,
                       data={"active": "false"}).status_code == 303
    assert clerk.get("/", follow_redirects=False).status_code == 303  # back to the login
    assert clerk.post("/login", data={"username": "clerk2",
                                      "password": "another long passphrase"}).status_code == 401
    assert client.post("/t/062022/users/clerk2/active", follow_redirects=False,
                       data={"active": "true"}).status_code == 303
    assert clerk.get("/", follow_redirects=False).status_code == 303  # ended, not paused
    slash = client.post("/t/062022/users", data={"username": "a/b", "password": PW,
                                                 "roles": ["counter_clerk"]})
    assert slash.status_code == 422
    assert 'id="username-error"' in slash.text
    actions = [e["action"] for e in audit.entries(db, "062022")]
    for action in ("platform.user_created", "platform.password_reset",
                   "platform.user_suspended", "platform.user_resumed"):
        assert action in actions, action


def test_the_operator_cannot_administer_a_municipalitys_staff(client: TestClient,
                                                              db: Database) -> None:
    """The operator holds the platform's admin right, not a municipality's: its users page
    (and through it a way to personal data) is a 404, as for anyone outside."""
    _user(db, "op", ["operator"], code=None, scope=Scope.OPERATOR)
    _login(client, "op")
    assert client.get("/t/062022/users").status_code == 404
    assert client.post("/t/062022/users", data={
        "username": "spy", "password": PW, "roles": ["tax_officer"]}).status_code == 404
    assert client.post("/t/062022/users/clerk/password",
                       data={"password": "another long passphrase"}).status_code == 404


def test_it_lead_changes_roles_from_the_next_request(client: TestClient,
                                                      db: Database) -> None:
    _user(db, "it", ["municipal_it"])
    _user(db, "nagai_clerk", ["counter_clerk"], code="062090")
    clerk = StaffBrowser(client.app)
    assert clerk.post("/login", follow_redirects=False,
                      data={"username": "clerk", "password": PW}).status_code == 303
    assert clerk.get("/t/062022/tax").status_code == 403
    _login(client, "it")
    changed = client.post("/t/062022/users/clerk/roles", follow_redirects=False,
                          data={"roles": ["counter_clerk", "tax_officer"]})
    assert changed.status_code == 303
    assert clerk.get("/t/062022/tax").status_code == 200  # the open session, next request
    none = client.post("/t/062022/users/clerk/roles", data={})
    assert none.status_code == 422
    assert "役割を1つ以上選んでください" in none.text
    wrong = client.post("/t/062022/users/clerk/roles", data={"roles": ["secretariat"]})
    assert wrong.status_code == 422
    for roles in (["counter_clerk"], ["municipal_it", "registry_editor"]):
        own = client.post("/t/062022/users/it/roles", data={"roles": roles})
        assert own.status_code == 422  # nobody grants (or drops) their own roles
        assert "自分の役割は変更できません" in own.text
    assert users_of(db, "062022")[[u["username"] for u in users_of(db, "062022")]
                                  .index("it")]["roles"] == ["municipal_it"]
    assert client.post("/t/062022/users/nagai_clerk/roles",
                       data={"roles": ["tax_officer"]}).status_code == 404


def test_replacing_a_second_factor_needs_the_current_one(client: TestClient,
                                                         db: Database) -> None:
    _login(client)
    first = _secret(client.get("/account/totp").text)
    assert client.post("/account/totp", follow_redirects=False, data={
        "secret": first, "password": PW, "code": pyotp.TOTP(first).now()}).status_code == 303
    form = client.get("/account/totp").text
    assert 'id="current_code"' in form
    second = _secret(form)
    without = client.post("/account/totp", data={
        "secret": second, "password": PW, "code": pyotp.TOTP(second).now()})
    assert without.status_code == 422
    assert 'id="current_code-error"' in without.text
    assert client.post("/account/totp", follow_redirects=False, data={
        "secret": second, "password": PW, "code": pyotp.TOTP(second).now(),
        "current_code": pyotp.TOTP(first).now()}).status_code == 303
    # Wrong passwords here count as failed logins: beyond the free ones, the name waits.
    for _ in range(get_settings().login_free_failures + 1):
        client.post("/account/totp", data={"secret": second, "password": "wrong",
                                           "code": "000000"})
    with db.platform_tx() as conn:
        assert conn.execute(select(login_throttle.c.blocked_until).where(
            login_throttle.c.key == "account:clerk")).scalar() is not None


def test_a_restore_from_the_page_takes_two_of_the_municipalitys_staff(
        client: TestClient, db: Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    target, keys = tmp_path / "second-site", tmp_path / "keys"
    monkeypatch.setenv("KUMOMURA_BACKUP_TARGET", str(target))
    monkeypatch.setenv("KUMOMURA_BACKUP_KEY_DIR", str(keys))
    get_settings.cache_clear()
    set_state(db, "062022", TenantState.LIVE, actor="test", reason="本稼働")
    info = backup.run(db, "062022", target, key_dir=keys, ctx=audit.AuditContext(actor="t"))
    _user(db, "it", ["municipal_it"])
    _user(db, "it2", ["municipal_it"])
    _login(client, "it")
    page = client.get("/t/062022/restores").text
    assert info.path.name in page
    assert "要求はありません" in page
    asked = client.post("/t/062022/restores", data={
        "backup": info.path.name, "reason": "誤った一括異動の取消し"}, follow_redirects=True)
    assert "別の担当者が承認します" in asked.text
    assert "承認して復元" not in asked.text  # not for the one who asked
    found = re.search(r"復元の要求 (\d+) を受け付けました", asked.text)
    assert found is not None
    request_id = int(found.group(1))
    alone = client.post(f"/t/062022/restores/{request_id}/approve", follow_redirects=True)
    assert "承認できません: 復元は要求した人とは別の人が承認します" in alone.text
    client.post("/logout")
    _login(client, "it2")
    assert "承認して復元" in client.get("/t/062022/restores").text
    started = client.post(f"/t/062022/restores/{request_id}/approve", follow_redirects=False)
    assert started.status_code == 303
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    if db.is_postgres:  # what a worker does with the deferred chunk
        jobs.run_in_process(db, job_id)
    assert jobs.get_job(db, job_id).status == "done"
    assert "完了" in client.get("/t/062022/restores").text
    assert get_tenant(db, "062022").state == TenantState.LIVE


def test_security_headers_on_pages_the_api_and_static_files(client: TestClient) -> None:
    login = client.get("/login")
    policy = login.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    script = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "unsafe-inline" not in script
    for response in (login, client.get("/api/v1/t/062022/residents")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/app.css").headers.get("cache-control", "")


def test_no_template_runs_inline_script() -> None:
    """The pages' content policy refuses inline script: a template that has some would
    silently stop working in the browser."""
    import kumomura

    inline = re.compile(r"<script(?![^>]*\ssrc=)|\son[a-z]+\s*=", re.IGNORECASE)
    found = [f"{path.relative_to(Path(kumomura.__file__).parent)}:{n}"
             for path in Path(kumomura.__file__).parent.rglob("*.html")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if inline.search(line)]
    assert found == []


def test_the_login_page_says_only_its_own_notices(client: TestClient) -> None:
    for query in ("message=偽の警告:%20電話してください", "notice=<b>偽の警告</b>"):
        page = client.get(f"/login?{query}").text
        assert "偽の警告" not in page
    assert "ログアウトしました" in client.get("/login?notice=logged_out").text


def test_numbers_beyond_a_column_name_nothing(client: TestClient, db: Database) -> None:
    """Path numbers past what PostgreSQL's integer holds were a 500 (the database
    refused the query); now they are what they are: nothing, 404."""
    from kumomura.platform.identity import tokens

    _user(db, "all", ["registry_editor", "tax_officer", "municipal_it"])
    bearer = {"Authorization": f"Bearer {tokens.issue(db, 'all', 'test')}"}
    big = "3000000000"
    api = "/api/v1/t/062022"
    for method, path in (
            ("GET", f"{api}/jobs/{big}"), ("GET", f"{api}/residents/changes/{big}"),
            ("POST", f"{api}/residents/protection-orders/1099511627776/extend"),
            ("GET", f"{api}/inhabitant-tax/assessments/{big}/000000000000019"),
            ("GET", f"{api}/inhabitant-tax/jobs/{big}/problems"),
            ("GET", f"{api}/imports/{big}/report"), ("POST", f"{api}/restores/{big}/approve")):
        r = client.request(method, path, headers=bearer)
        assert r.status_code == 404, (path, r.status_code, r.text)
    _login(client, "all")
    for path in (f"/t/062022/jobs/{big}", f"/t/062022/tax/notices/{big}",
                 f"/t/062022/imports/{big}/report"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"{api}/jobs/0", headers=bearer).status_code == 404


def test_a_nul_character_is_refused_naming_its_field(client: TestClient, db: Database) -> None:
    """No text column takes a NUL (PostgreSQL refused the query: a 500)."""
    from kumomura.platform.identity import tokens
    from kumomura.residents import changes
    from tests.residents.factories import CTX, family

    with db.tenant_tx("062022") as conn:
        atena_no = changes.move_in(conn, CTX, family()).atena_nos[0]
    _user(db, "editor", ["registry_editor"])
    bearer = {"Authorization": f"Bearer {tokens.issue(db, 'editor', 'test')}"}
    api = "/api/v1/t/062022/residents"
    r = client.post(f"{api}/protection-orders", headers=bearer, json={
        "atena_no": atena_no, "starts_on": "2026-07-01", "reason": "申\u0000出"})
    assert (r.status_code, r.json()["field"]) == (422, "body.reason")
    _login(client, "editor")
    page = client.post(f"/t/062022/residents/{atena_no}/protection",
                       data={"reason": "a\x00b"})
    assert page.status_code == 422
    r = client.get("/api/v1/t/062022/jobs?kind=a%00b", headers=bearer)
    assert (r.status_code, r.json()["field"]) == (422, "query.kind")
    assert client.get(f"{api}?kana=%E3%83%A4", headers=bearer).status_code == 200


def test_staff_get_a_japanese_error_page_the_api_a_problem(client: TestClient,
                                                           db: Database) -> None:
    _login(client)
    for path in ("/t/062022/no-such-page", "/t/062022/jobs/3000000000"):
        page = client.get(path)
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "見つかりません" in page.text
        assert page.headers["x-request-id"] in page.text
    api = client.get("/api/v1/no-such-route")
    assert (api.status_code, api.headers["content-type"]) == (404, "application/problem+json")
