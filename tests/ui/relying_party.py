"""A relying party for the browser tests: another system of the municipality (say its
financial accounting) that signs its users in through kumomura, written as such a system
would be with authlib's client, on a site of its own (``localhost`` beside kumomura's
``127.0.0.1``: another site to the browser, so its SameSite cookies stay behind)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from typing import Any

import requests
import uvicorn
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass
class RelyingParty:
    issuer: str
    client_id: str
    client_secret: str
    port: int
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def callback(self) -> str:
        return f"http://localhost:{self.port}/callback"

    def _session(self) -> OAuth2Session:
        return OAuth2Session(self.client_id, self.client_secret, scope="openid profile roles",
                             redirect_uri=self.callback, code_challenge_method="S256")

    def _config(self) -> dict[str, Any]:
        answer = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10)
        config: dict[str, Any] = answer.json()
        return config

    def start(self, request: Request) -> Response:
        """Send the browser to kumomura with a fresh state, nonce and PKCE verifier."""
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        uri, state = self._session().create_authorization_url(
            self._config()["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
        self.pending[state] = (verifier, nonce)
        return RedirectResponse(uri, status_code=302)

    def finish(self, request: Request) -> Response:
        """Exchange the code, check the ID token (signature, issuer, audience, nonce) and
        greet the user with the roles it names, or show the error kumomura sent."""
        if "error" in request.query_params:
            return HTMLResponse(f"<h1>ログインできません: {escape(request.query_params['error'])}"
                                "</h1>", status_code=403)
        verifier, nonce = self.pending.pop(request.query_params["state"])
        config = self._config()
        session = self._session()
        session.state = request.query_params["state"]
        token = session.fetch_token(config["token_endpoint"],
                                    authorization_response=str(request.url),
                                    code_verifier=verifier)
        keys = KeySet.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())
        claims = jwt.decode(token["id_token"], keys, algorithms=["RS256"]).claims
        jwt.JWTClaimsRegistry(iss={"essential": True, "value": config["issuer"]},
                              aud={"essential": True, "value": self.client_id},
                              nonce={"essential": True, "value": nonce}).validate(claims)
        roles = "、".join(claims["roles"])
        return HTMLResponse(f"<h1>ようこそ {escape(claims['name'])} さん</h1>"
                            f"<p id='roles'>役割: {escape(roles)}</p>"
                            f"<p id='lg'>{escape(claims['lg_code'])}</p>")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/", self.start), Route("/callback", self.finish)])


@contextmanager
def served(app: Any, port: int) -> Iterator[None]:
    """An ASGI app served on the loopback port for the duration (uvicorn in a thread)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serving(party: RelyingParty) -> Iterator[str]:
    with served(party.app(), party.port):
        yield f"http://localhost:{party.port}"
