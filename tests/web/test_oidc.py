"""OIDC for the municipality's other systems, attacked: another municipality's staff, a
code used twice or without its verifier, a request without PKCE, an address nobody
registered, a system taken out of use, a suspended clerk."""

from __future__ import annotations

import html
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from kumomura.platform import audit
from kumomura.platform.identity import auth
from kumomura.platform.storage.db import Database
from tests.pages import PW, StaffBrowser, _login, _user

CALLBACK = "https://rp.example.jp/callback"
YONEZAWA = "/oidc/062022"


def _register(client: StaffBrowser, db: Database, *, kind: str = "confidential",
              lg_code: str = "062022", it: str = "it") -> tuple[str, str | None]:
    """The IT lead registers a system on its page; the page shows its id and secret."""
    _user(db, it, ["municipal_it"], code=lg_code)
    _login(client, it)
    page = client.post(f"/t/{lg_code}/oidc-clients", data={
        "name": "財務会計システム", "redirect_uris": CALLBACK, "kind": kind})
    assert page.status_code == 200, page.text
    client_id = re.search(r'id="issued-client-id">([^<]+)<', page.text)
    secret = re.search(r'id="issued-secret">([^<]+)<', page.text)
    assert client_id is not None
    client.post("/logout")
    return client_id.group(1), secret.group(1) if secret else None


def _ask(client_id: str, verifier: str | None = "v" * 50, **extra: str) -> dict[str, str]:
    asked = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK,
             "scope": "openid profile roles", "state": "st-1", "nonce": secrets.token_hex(8)}
    if verifier is not None:
        asked |= {"code_challenge": create_s256_code_challenge(verifier),
                  "code_challenge_method": "S256"}
    return asked | extra


def _back_to_system(page: Any) -> dict[str, list[str]]:
    """Where the page sends the browser next (its meta refresh and link), parsed."""
    assert page.status_code == 200, page.text
    found = re.search(r'href="([^"]+)" id="continue"', page.text)
    assert found is not None, page.text
    target = html.unescape(found.group(1))
    assert target.startswith(CALLBACK + "?")
    assert f'content="0; url={found.group(1)}"' in page.text
    return parse_qs(urlsplit(target).query)


def _system(client: StaffBrowser) -> TestClient:
    """The system's own server: no browser cookies, no CSRF token."""
    return TestClient(client.app, base_url="https://testserver")


def _exchange(client: StaffBrowser, client_id: str, secret: str | None, code: str,
              verifier: str | None = "v" * 50) -> Any:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    if verifier is not None:
        form["code_verifier"] = verifier
    if secret is None:
        form["client_id"] = client_id
        return _system(client).post(f"{YONEZAWA}/token", data=form)
    return _system(client).post(f"{YONEZAWA}/token", data=form, auth=(client_id, secret))


def _claims(client: StaffBrowser, id_token: str) -> dict[str, Any]:
    """The ID token checked as a relying party does: its signature against the
    published keys, its issuer against the published configuration."""
    system = _system(client)
    config = system.get(f"{YONEZAWA}/.well-known/openid-configuration").json()
    keys = KeySet.import_key_set(system.get(urlsplit(config["jwks_uri"]).path).json())
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": config["issuer"]}).validate(
        token.claims)
    return dict(token.claims)


def test_a_clerk_signs_in_to_another_system_and_it_learns_the_roles(
        client: StaffBrowser, db: Database) -> None:
    client_id, secret = _register(client, db)
    assert secret is not None
    _login(client)
    asked = _ask(client_id)
    back = _back_to_system(client.get(f"{YONEZAWA}/authorize", params=asked))
    assert back["state"] == ["st-1"]
    answer = _exchange(client, client_id, secret, back["code"][0])
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    claims = _claims(client, answer.json()["id_token"])
    assert claims["aud"] == [client_id]
    assert claims["nonce"] == asked["nonce"]
    assert claims["roles"] == ["counter_clerk"]
    assert claims["lg_code"] == "062022"
    assert claims["preferred_username"] == "clerk"
    assert claims["exp"] - claims["iat"] <= 600
    info = _system(client).get(f"{YONEZAWA}/userinfo", headers={
        "Authorization": f"Bearer {answer.json()['access_token']}"})
    assert info.json()["roles"] == ["counter_clerk"]
    actions = [e["action"] for e in audit.entries(db, "062022")]
    assert "auth.oidc_login" in actions
    assert "platform.oidc_client_registered" in actions


def test_a_public_client_signs_in_with_pkce_alone(client: StaffBrowser,
                                                  db: Database) -> None:
    client_id, secret = _register(client, db, kind="public")
    assert secret is None
    _login(client)
    back = _back_to_system(client.get(f"{YONEZAWA}/authorize", params=_ask(client_id)))
    assert _exchange(client, client_id, None, back["code"][0], verifier=None
                     ).json()["error"] == "invalid_request"  # no verifier, no token
    back = _back_to_system(client.get(f"{YONEZAWA}/authorize", params=_ask(client_id)))
    assert "id_token" in _exchange(client, client_id, None, back["code"][0]).json()


def test_another_municipalitys_clerk_cannot_sign_in_through_it(client: StaffBrowser,
                                                               db: Database) -> None:
    client_id, _ = _register(client, db)
    _user(db, "nagai_clerk", ["counter_clerk"], code="062090")
    _login(client, "nagai_clerk")
    back = _back_to_system(client.get(f"{YONEZAWA}/authorize", params=_ask(client_id)))
    assert back["error"] == ["access_denied"]
    assert "code" not in back
    assert "auth.oidc_refused" in [e["action"] for e in audit.entries(db, "062090")]
    # Nor through 長井市's own provider with 米沢市's system: no such system there.
    page = client.get("/oidc/062090/authorize", params=_ask(client_id))
    assert page.status_code == 400
    assert CALLBACK not in page.text.split("<main")[1].split("要求")[0]
    # Nor with a system of 長井市 at 米沢市's provider.
    nagai_id, _nagai_secret = _register(client, db, lg_code="062090", it="nagai_it")
    _login(client, "clerk")
    assert client.get(f"{YONEZAWA}/authorize", params=_ask(nagai_id)).status_code == 400


def test_the_operator_signs_in_to_no_municipalitys_system(client: StaffBrowser,
                                                          db: Database) -> None:
    client_id, _ = _register(client, db)
    _user(db, "op", ["operator"], code=None, scope=auth.Scope.OPERATOR)
    _login(client, "op")
    back = _back_to_system(client.get(f"{YONEZAWA}/authorize", params=_ask(client_id)))
    assert back["error"] == ["access_denied"]


def test_a_code_works_once_and_only_with_its_verifier(client: StaffBrowser,
                                                      db: Database) -> None:
    client_id, secret = _register(client, db)
    _login(client)
    code = _back_to_system(client.get(f"{YONEZAWA}/authorize",
                                      params=_ask(client_id)))["code"][0]
    wrong = _exchange(client, client_id, secret, code, verifier="w" * 50)
    assert wrong.json()["error"] == "invalid_grant"
    assert _exchange(client, client_id, secret, code).json()["error"] == "invalid_grant"

    code = _back_to_system(client.get(f"{YONEZAWA}/authorize",
                                      params=_ask(client_id)))["code"][0]
    # A caller without the system's secret is refused before the code is looked at, so
    # it cannot spend the code either.
    assert _exchange(client, client_id, "kmcs_not-the-secret", code).status_code == 401
    first = _exchange(client, client_id, secret, code)
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert _system(client).get(f"{YONEZAWA}/userinfo", headers=bearer).status_code == 200
    again = _exchange(client, client_id, secret, code)  # replayed: what it gave is revoked
    assert again.json()["error"] == "invalid_grant"
    assert _system(client).get(f"{YONEZAWA}/userinfo", headers=bearer).status_code == 401


def test_pkce_is_required_and_only_registered_addresses_are_sent_to(
        client: StaffBrowser, db: Database) -> None:
    client_id, _ = _register(client, db)
    _login(client)
    without = _back_to_system(client.get(f"{YONEZAWA}/authorize",
                                         params=_ask(client_id, verifier=None)))
    assert without["error"] == ["invalid_request"]
    plain = _back_to_system(client.get(f"{YONEZAWA}/authorize", params=_ask(
        client_id, code_challenge="p" * 50, code_challenge_method="plain")))
    assert plain["error"] == ["invalid_request"]
    for bad in ({"redirect_uri": "https://attacker.example/steal"},
                {"redirect_uri": CALLBACK + "/../steal"}, {"client_id": "kmc_nobody"}):
        page = client.get(f"{YONEZAWA}/authorize", params=_ask(client_id) | bad)
        assert page.status_code == 400
        assert "attacker" not in page.text
        assert 'http-equiv="refresh"' not in page.text
    assert client.get("/oidc/131016/authorize", params=_ask(client_id)).status_code == 404


def test_nobody_signed_in_is_sent_to_the_login_and_back(client: StaffBrowser,
                                                        db: Database) -> None:
    client_id, _ = _register(client, db)
    asked = _ask(client_id)
    first = client.get(f"{YONEZAWA}/authorize", params=asked)  # as from another site
    reload = re.search(r'id="continue"', first.text)
    assert first.status_code == 200
    assert reload is not None
    assert "_same_site=1" in first.text
    to_login = client.get(f"{YONEZAWA}/authorize", params=asked | {"_same_site": "1"},
                          follow_redirects=False)
    assert to_login.status_code == 303
    login_url = to_login.headers["location"]
    assert login_url.startswith("/login?")
    here = parse_qs(urlsplit(login_url).query)["next"][0]
    assert "_same_site" not in here
    signed_in = client.post("/login", data={"username": "clerk", "password": PW,
                                            "next": here}, follow_redirects=False)
    assert signed_in.headers["location"] == here
    assert "code" in _back_to_system(client.get(here))


def test_a_system_asking_silently_learns_whether_someone_is_signed_in(
        client: StaffBrowser, db: Database) -> None:
    client_id, _ = _register(client, db)
    silent = _ask(client_id, prompt="none") | {"_same_site": "1"}
    assert _back_to_system(client.get(f"{YONEZAWA}/authorize", params=silent)
                           )["error"] == ["login_required"]
    _login(client)
    assert "code" in _back_to_system(client.get(f"{YONEZAWA}/authorize", params=silent))


def test_a_system_taken_out_of_use_or_a_suspended_clerk_gets_no_token(
        client: StaffBrowser, db: Database) -> None:
    client_id, secret = _register(client, db)
    _login(client)
    code = _back_to_system(client.get(f"{YONEZAWA}/authorize",
                                      params=_ask(client_id)))["code"][0]
    auth.set_active(db, "clerk", False, lg_code="062022")
    assert _exchange(client, client_id, secret, code).json()["error"] == "invalid_grant"
    auth.set_active(db, "clerk", True, lg_code="062022")
    _login(client)
    code = _back_to_system(client.get(f"{YONEZAWA}/authorize",
                                      params=_ask(client_id)))["code"][0]
    _login(client, "it")
    listed = client.get("/t/062022/oidc-clients")
    assert client_id in listed.text
    client.post(f"/t/062022/oidc-clients/{client_id}/revoke")
    assert _exchange(client, client_id, secret, code).status_code == 401  # invalid_client
    assert client.get(f"{YONEZAWA}/authorize", params=_ask(client_id)).status_code == 400


@pytest.mark.parametrize("uris", ["http://rp.example.jp/callback", "https://rp.example.jp/#x",
                                  "javascript:alert(1)", ""])
def test_a_system_is_registered_only_with_https_addresses(client: StaffBrowser, db: Database,
                                                          uris: str) -> None:
    _user(db, "it", ["municipal_it"])
    _login(client, "it")
    page = client.post("/t/062022/oidc-clients", data={"name": "X", "redirect_uris": uris})
    assert page.status_code == 422
    assert 'id="redirect_uris-error"' in page.text
    assert "issued-client-id" not in page.text
    ok = client.post("/t/062022/oidc-clients", data={
        "name": "端末アプリ", "redirect_uris": "http://127.0.0.1:8765/cb", "kind": "public"})
    assert "issued-client-id" in ok.text


def test_a_clerk_cannot_register_a_system(client: StaffBrowser) -> None:
    _login(client)
    refused = client.post("/t/062022/oidc-clients", data={
        "name": "X", "redirect_uris": CALLBACK})
    assert refused.status_code == 403
    assert client.get("/t/062022/oidc-clients").status_code == 403


def test_the_discovery_names_this_municipalitys_endpoints(client: StaffBrowser) -> None:
    config = client.get(f"{YONEZAWA}/.well-known/openid-configuration").json()
    assert config["issuer"] == f"https://testserver{YONEZAWA}"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert urlsplit(config["token_endpoint"]).path == f"{YONEZAWA}/token"
    nagai = client.get("/oidc/062090/jwks").json()["keys"][0]["kid"]
    assert nagai != client.get(f"{YONEZAWA}/jwks").json()["keys"][0]["kid"]
    assert "d" not in client.get(f"{YONEZAWA}/jwks").json()["keys"][0]  # no private part
    assert client.get("/oidc/131016/jwks").status_code == 404
