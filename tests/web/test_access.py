"""Staff access attacked as an attacker would: forged form posts, cookies over plain
HTTP, words put in a page by a link, a login that tells which names exist, a second
factor someone else holds; and the trail every sign-in leaves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from kumomura.platform import audit, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.config import get_settings
from kumomura.platform.identity import auth, tokens
from kumomura.platform.identity.tables import users
from kumomura.platform.storage.db import Database
from tests.pages import PW, StaffBrowser, _login, _user
from tests.residents.test_api import MOVE_IN as API_MOVE_IN

LOGIN = {"username": "clerk", "password": PW, "next": "/"}


def _raw(client: TestClient) -> TestClient:
    """A browser on another site: the same app, no token of this one."""
    return TestClient(client.app, base_url="https://testserver")


def _token(client: TestClient) -> str:
    page = client.get("/login").text
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def test_a_form_posted_from_another_site_is_refused(client: StaffBrowser) -> None:
    other = _raw(client)
    forged = other.post("/login", data=LOGIN, follow_redirects=False)
    assert forged.status_code == 403
    assert "確認用の情報が一致しません" in forged.text  # a Japanese page, not a problem+json
    assert forged.headers["content-type"].startswith("text/html")
    token = _token(other)  # the hidden field of the page's own form, as a browser sends it
    assert other.post("/login", data={"csrf_token": token, **LOGIN},
                      follow_redirects=False).status_code == 303
    assert other.post("/login", data={"csrf_token": token, **LOGIN},
                      headers={"Origin": "https://evil.example"}).status_code == 403
    assert other.post("/t/062022/residents/move-in", data={"csrf_token": "x" * 43}
                      ).status_code == 403  # someone else's token
    assert other.post("/logout", data={"csrf_token": token, "next": "/"},
                      headers={"Referer": "https://testserver/"}, follow_redirects=False
                      ).status_code == 303


def test_an_upload_carries_the_token_in_its_first_part(client: StaffBrowser,
                                                       db: Database) -> None:
    _user(db, "it", ["municipal_it"])
    other = _raw(client)
    token = _token(other)
    assert other.post("/login", data={"csrf_token": token, "username": "it",
                                      "password": PW}, follow_redirects=False
                      ).status_code == 303
    files = {"file": ("residents.csv", b"atena_no\n", "text/csv")}
    without = other.post("/t/062022/imports", data={"layout": "residents"}, files=files)
    assert without.status_code == 403
    taken = other.post("/t/062022/imports", files=files,
                       data={"csrf_token": token, "layout": "residents"})
    assert taken.status_code != 403


def test_the_api_takes_its_bearer_token_without_a_form_token(client: StaffBrowser,
                                                             db: Database) -> None:
    _user(db, "it", ["municipal_it"])
    token = tokens.issue(db, "it", "連携")
    api = TestClient(client.app, base_url="https://testserver")
    answer = api.post("/api/v1/t/062022/restores", json={},
                      headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code not in (401, 403)  # refused for its input, not as forged


@pytest.mark.parametrize("secure", [True, False])
def test_the_session_cookie_is_secure_unless_the_deployment_says(
        client: StaffBrowser, monkeypatch: pytest.MonkeyPatch, secure: bool) -> None:
    monkeypatch.setenv("KUMOMURA_COOKIE_SECURE", "true" if secure else "false")
    get_settings.cache_clear()
    answer = client.post("/login", data=LOGIN, follow_redirects=False)
    cookie = next(v for k, v in answer.headers.multi_items()
                  if k == "set-cookie" and v.startswith("kumomura_session="))
    assert ("Secure" in cookie) is secure
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie


def test_no_link_puts_its_words_on_a_staff_page(client: StaffBrowser) -> None:
    words = "至急 03-0000-0000 へ電話してください"
    assert words not in client.get("/login", params={"message": words, "notice": words}).text
    _login(client)
    assert words not in client.get("/account", params={"message": words}).text
    assert "ログインしてください" in client.get("/login?notice=login").text  # the fixed set


def test_a_municipality_requiring_a_second_factor_has_its_owner_enrol_it(
        client: StaffBrowser, db: Database) -> None:
    """Right password, no second factor yet: the clerk enrols one at login with the
    password again; the enrolment's code does not log in, the next one does."""
    with db.tenant_tx("062022") as conn:
        params.set_value(conn, PLATFORM_MODULE, "mfa_required_for_personal_data", True,
                         effective_from=date(2024, 4, 1), ctx=AuditContext(actor="it"))
    page = client.post("/login", data=LOGIN)
    assert page.status_code == 200
    assert "二要素認証が必要です" in page.text
    assert "<svg" in page.text
    secret = page.text.split('name="secret" value="')[1].split('"')[0]
    wrong = client.post("/login/totp", data={"username": "clerk", "password": "not it",
                                             "secret": secret,
                                             "code": pyotp.TOTP(secret).now()})
    assert wrong.status_code == 401
    assert auth.LOGIN_FAILED in wrong.text
    nobody = client.post("/login/totp", data={"username": "nobody", "password": PW,
                                              "secret": secret,
                                              "code": pyotp.TOTP(secret).now()})
    assert nobody.status_code == 401  # a name that is nobody's: the login's one answer
    assert auth.LOGIN_FAILED in nobody.text
    code = pyotp.TOTP(secret).now()
    done = client.post("/login/totp", follow_redirects=False, data={
        "username": "clerk", "password": PW, "secret": secret, "code": code, "next": "/"})
    assert done.status_code == 303
    assert "二要素認証を登録しました" in client.get(done.headers["location"]).text
    with db.platform_tx() as conn:
        assert conn.execute(select(users.c.totp_secret).where(
            users.c.username == "clerk")).scalar() == secret
    assert client.post("/login", data={**LOGIN, "totp": code}).status_code == 401
    actions = [e["action"] for e in audit.entries(db, "062022")]
    assert "auth.login_needs_enrolment" in actions
    assert "auth.totp_enrolled" in actions


def test_every_sign_in_leaves_its_trail_in_the_municipalitys_audit(
        client: StaffBrowser, db: Database) -> None:
    client.post("/login", data={**LOGIN, "password": "wrong password"})
    _login(client)
    client.post("/logout")
    entries = [e for e in reversed(audit.entries(db, "062022"))  # oldest first
               if e["action"].startswith("auth.")]
    assert [e["action"] for e in entries] == ["auth.login_failed", "auth.login",
                                              "auth.logout"]
    assert all(e["client_addr"] and e["request_id"] for e in entries)
    assert entries[0]["detail"]["reason"] == "password"
    assert PW not in str(entries)
    assert "wrong password" not in str(entries)


def test_the_it_lead_lists_and_revokes_the_municipalitys_tokens(client: StaffBrowser,
                                                                db: Database) -> None:
    _user(db, "it", ["municipal_it"])
    _user(db, "nagai_it", ["municipal_it"], code="062090")
    token = tokens.issue(db, "clerk", "住基照会", scopes=tokens.parse_scopes(["residents:view"]))
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/t/062022/residents", params={"kana": "ﾔﾏ"},
                      headers=bearer).status_code == 200
    assert client.post("/api/v1/t/062022/residents/changes/move-in", json=API_MOVE_IN,
                       headers=bearer).status_code == 403  # the clerk may; the token not
    _login(client, "nagai_it")
    assert client.get("/t/062022/tokens").status_code == 404
    token_id = tokens.of_municipality(db, "062022")[0]["id"]
    assert client.post(f"/t/062022/tokens/{token_id}/revoke").status_code == 404
    assert client.post(f"/t/062090/tokens/{token_id}/revoke").status_code == 404
    client.post("/logout")
    _login(client, "it")
    listing = client.get("/t/062022/tokens").text
    assert "住基照会" in listing
    assert "residents:view" in listing
    assert token not in listing
    done = client.post(f"/t/062022/tokens/{token_id}/revoke", follow_redirects=False)
    assert done.status_code == 303
    assert "失効させました" in client.get(done.headers["location"]).text
    app: Any = client.app
    app.state.principals.entries.clear()  # the process's few seconds of trust
    assert client.get("/api/v1/t/062022/residents", params={"kana": "ﾔﾏ"},
                      headers=bearer).status_code == 401


def _unbounded(schemas: dict[str, Any], name: str, seen: set[str]) -> Iterator[str]:
    """The string fields of a request body (and the bodies inside it) with no maximum:
    neither a length, a pattern, a list of values nor a format bounds them."""
    if name in seen:
        return
    seen.add(name)
    for field, schema in schemas[name].get("properties", {}).items():
        options = schema.get("anyOf", [schema])
        if any(o.get("type") == "number" for o in options):
            continue  # a decimal, also given as text: bounded by its digits (max_digits)
        for option in options:
            inner = option.get("items", {}) if option.get("type") == "array" else option
            if "$ref" in inner:
                yield from _unbounded(schemas, inner["$ref"].split("/")[-1], seen)
            elif inner.get("type") == "string" and not any(k in inner for k in (
                    "maxLength", "pattern", "enum", "format", "const", "contentMediaType")):
                yield f"{name}.{field}"


def test_every_text_field_the_api_takes_has_a_maximum(client: StaffBrowser) -> None:
    app: Any = client.app
    spec = app.openapi()
    bodies = {c["schema"]["$ref"].split("/")[-1]
              for ops in spec["paths"].values() for op in ops.values()
              for c in op.get("requestBody", {}).get("content", {}).values()
              if "$ref" in c["schema"]}
    assert len(bodies) >= 15
    seen: set[str] = set()
    assert sorted(f for b in bodies for f in _unbounded(spec["components"]["schemas"], b,
                                                        seen)) == []


def test_over_long_or_malformed_input_is_refused_naming_the_field(
        client: StaffBrowser, db: Database) -> None:
    _user(db, "editor", ["registry_editor"])
    token = {"Authorization": f"Bearer {tokens.issue(db, 'editor', 'test')}"}
    api = "/api/v1/t/062022/residents"
    for field, value in (("honseki", "米" * 1_000_000), ("nationality", "x" * 100_000)):
        member = {**API_MOVE_IN["persons"][0], field: value}
        refused = client.post(f"{api}/changes/move-in", headers=token,
                              json={**API_MOVE_IN, "persons": [member]})
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == f"body.persons.0.{field}"
    assert client.get(f"{api}/{'1' * 17}", headers=token).status_code in (404, 422)
    _login(client, "editor")
    typed = client.get("/t/062022/residents/results", params={"birth_date": "xx"})
    assert typed.status_code == 200
    assert "生年月日は YYYY-MM-DD で入力してください" in typed.text
    assert client.get("/t/062022/residents/results",
                      params={"kana": "ｱ" * 101}).status_code == 422
    assert client.get("/t/062022/tax", params={"year": "3000000000"}).status_code in (403, 422)


def test_one_it_lead_cannot_reset_both_of_a_users_credentials(client: StaffBrowser,
                                                              db: Database) -> None:
    """Whoever resets a password and then the second factor could sign in as the user:
    the second reset is another IT lead's, and both are in the trail."""
    _user(db, "it", ["municipal_it"])
    _user(db, "it2", ["municipal_it"])
    with db.platform_tx() as conn:
        conn.execute(update(users).where(users.c.username == "clerk")
                     .values(totp_secret=pyotp.random_base32()))
    _login(client, "it")
    assert client.post("/t/062022/users/clerk/password", follow_redirects=False,
                       data={"password": "a brand new passphrase"}).status_code == 303
    refused = client.post("/t/062022/users/clerk/totp/reset")
    assert refused.status_code == 403
    assert "ほかの情報主管課の職員に依頼してください" in refused.text
    with db.platform_tx() as conn:
        assert conn.execute(select(users.c.totp_secret).where(
            users.c.username == "clerk")).scalar() is not None  # nothing was reset
    client.post("/logout")
    _login(client, "it2")
    assert client.post("/t/062022/users/clerk/totp/reset",
                       follow_redirects=False).status_code == 303
    actions = [e["action"] for e in audit.entries(db, "062022", atena_no=None)]
    assert {"platform.password_reset", "platform.totp_reset"} <= set(actions)


def test_a_clerk_issues_a_token_for_a_system_with_the_password_again(
        client: StaffBrowser, db: Database) -> None:
    _login(client)
    form = client.get("/account/tokens").text
    assert 'value="residents:view"' in form
    assert 'value="inhabitant_tax:view"' not in form  # only what the clerk's roles grant
    wrong = client.post("/account/tokens", data={"name": "照会", "scopes": ["residents:view"],
                                                 "password": "not the password"})
    assert wrong.status_code == 422
    assert 'id="password-error"' in wrong.text
    beyond = client.post("/account/tokens", data={
        "name": "照会", "scopes": ["inhabitant_tax:view"], "password": PW})
    assert beyond.status_code == 422
    assert "役割にない権限" in beyond.text
    done = client.post("/account/tokens", data={"name": "照会", "scopes": ["residents:view"],
                                                "days": "30", "password": PW})
    assert done.status_code == 200
    token = done.text.split('id="issued-token">')[1].split("<")[0]
    held = tokens.principal_from(db, token)
    assert held.grants == tokens.parse_scopes(["residents:view"])
    assert tokens.of_municipality(db, "062022")[0]["issued_by"] == "clerk"
