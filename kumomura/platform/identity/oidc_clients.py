"""The municipality's other systems that sign its staff in through kumomura (OIDC relying
parties): registered, listed and revoked by the municipality's IT lead.

A confidential client (a server-side system) gets a secret, shown once and stored as its
hash; a public one (a desktop or browser application) has none and relies on PKCE
alone, which every client must use anyway. Redirect addresses are compared exactly, and
must be HTTPS (plain HTTP only on the machine's own loopback, for a desktop application).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import insert, select, update

from kumomura.platform.core.errors import InvalidInput, NotFound
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.identity.auth import token_hash
from kumomura.platform.identity.tables import oidc_clients
from kumomura.platform.storage.db import Database

MAX_REDIRECTS = 5
MAX_URI = 500
MAX_NAME = 100
SCOPES = ("openid", "profile", "roles")
"""What a system may ask for: the staff member's identity, name, and roles."""


@dataclass(frozen=True)
class Client:
    """One registered system (authlib's ``ClientMixin``, by the methods it calls)."""

    client_id: str
    lg_code: str
    name: str
    redirect_uris: tuple[str, ...]
    secret_hash: str | None

    @property
    def public(self) -> bool:
        return self.secret_hash is None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        """None: OIDC requires the redirect address in every request."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        asked = (scope or "").split()
        if "openid" not in asked:
            return None  # an OIDC provider only: no plain OAuth access
        return " ".join(s for s in asked if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret_hash is not None and hmac.compare_digest(
            token_hash(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


def _checked_uris(uris: Iterable[str]) -> list[str]:
    """Each redirect address named when it is not one a browser may be sent to."""
    checked = []
    for uri in (u.strip() for u in uris):
        if not uri:
            continue
        try:
            parts = urlsplit(uri)
            host = parts.hostname or ""
        except ValueError:
            parts, host = None, ""
        loopback = host == "localhost" or _is_loopback(host)
        if (len(uri) > MAX_URI or parts is None or not host or parts.fragment
                or not (parts.scheme == "https" or (parts.scheme == "http" and loopback))):
            raise InvalidInput(f"{uri[:80]}: リダイレクト先は https:// の完全なURLで指定して"
                               "ください (http:// は同じ端末のループバックだけ、#以降は不可)",
                               field="redirect_uris")
        checked.append(uri)
    if not 1 <= len(checked) <= MAX_REDIRECTS:
        raise InvalidInput(f"リダイレクト先を1件から{MAX_REDIRECTS}件まで指定してください",
                           field="redirect_uris")
    return checked


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def register(db: Database, lg_code: str, name: str, redirect_uris: Iterable[str], *,
             confidential: bool = True, by: str) -> tuple[str, str | None]:
    """A new system of the municipality: its client id and its secret (None for a public
    client), the secret shown this once."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"システム名を{MAX_NAME}文字以内で入力してください", field="name")
    uris = _checked_uris(redirect_uris)
    client_id = "kmc_" + secrets.token_urlsafe(16)
    secret = "kmcs_" + secrets.token_urlsafe(32) if confidential else None
    with db.platform_tx() as conn:
        conn.execute(insert(oidc_clients).values(
            client_id=client_id, lg_code=lg_code, name=name, redirect_uris=uris,
            secret_hash=None if secret is None else token_hash(secret), created_by=by,
            created_at=utcnow()))
    return client_id, secret


def find(db: Database, lg_code: str, client_id: str) -> Client | None:
    """A live client of this municipality (another's, or a revoked one, is none)."""
    with db.platform_tx() as conn:
        row = conn.execute(select(oidc_clients).where(
            oidc_clients.c.client_id == client_id[:64], oidc_clients.c.lg_code == lg_code,
            oidc_clients.c.revoked_at.is_(None))).mappings().first()
    if row is None:
        return None
    return Client(client_id=row["client_id"], lg_code=row["lg_code"], name=row["name"],
                  redirect_uris=tuple(row["redirect_uris"]), secret_hash=row["secret_hash"])


def of_municipality(db: Database, lg_code: str) -> list[dict[str, Any]]:
    """The municipality's systems, newest first (never a secret)."""
    with db.platform_tx() as conn:
        return [{k: v for k, v in r.items() if k != "secret_hash"}
                | {"public": r["secret_hash"] is None} for r in conn.execute(
            select(oidc_clients).where(oidc_clients.c.lg_code == lg_code)
            .order_by(oidc_clients.c.created_at.desc())).mappings()]


def revoke(db: Database, lg_code: str, client_id: str, *, by: str) -> str:
    """Take a system out of use: its logins stop at once; its name, for the trail."""
    with db.platform_tx() as conn:
        name = conn.execute(update(oidc_clients).where(
            oidc_clients.c.client_id == client_id[:64], oidc_clients.c.lg_code == lg_code,
            oidc_clients.c.revoked_at.is_(None)).values(revoked_at=utcnow(), revoked_by=by)
            .returning(oidc_clients.c.name)).scalar_one_or_none()
    if name is None:
        raise NotFound(f"連携システム {client_id[:64]} はありません", field="client_id")
    return str(name)
