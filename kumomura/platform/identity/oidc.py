"""OIDC for the municipality's other systems (認証連携): each municipality is its own
authorization server, so that its staff sign in to its other systems with the account,
second factor and roles they have here, and nobody else's staff can.

The issuer is ``{base}/oidc/{lg_code}``; authlib does the protocol (authorization code
with PKCE S256 required of every client, ID tokens signed RS256 with the municipality's
own key); this module keeps its state (clients, codes, access tokens) and says who may
sign in: an active staff member of that municipality only. An ID token carries the
member's roles (``roles``), code, user name and, with ``profile``, display name.

The protocol objects are framework-free: the web layer hands in a :class:`Call` (method,
address, headers, parameters) and gets an :class:`Answer` back.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import insert, select, update

from kumomura.platform.core.config import Settings, backup_keys, get_settings
from kumomura.platform.core.japanese import validate_lg_code
from kumomura.platform.core.timeutil import as_utc, utcnow
from kumomura.platform.identity.auth import Principal, Scope, token_hash
from kumomura.platform.identity.oidc_clients import SCOPES, Client, find
from kumomura.platform.identity.tables import (
    oidc_codes,
    oidc_tokens,
    user_roles,
    users,
)
from kumomura.platform.storage.db import Database

CODE_LIFE = timedelta(minutes=5)
TOKEN_SECONDS = 3600
ID_TOKEN_SECONDS = 600
ALG = "RS256"


# -- the municipality's signing key ----------------------------------------------------
def _key_file(lg_code: str, settings: Settings) -> Path:
    return backup_keys(settings) / f"oidc-{validate_lg_code(lg_code)}.pem"


@lru_cache(maxsize=256)
def _load_key(path: Path) -> RSAKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use that one
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(RSAKey.generate_key(2048).as_pem(private=True))
    key = RSAKey.import_key(path.read_bytes())
    return RSAKey.import_key(path.read_bytes(), {"kid": key.thumbprint(), "use": "sig",
                                                 "alg": ALG})


def signing_key(lg_code: str, settings: Settings | None = None) -> RSAKey:
    """The municipality's ID-token key, kept outside the database beside its other keys
    (made on first use, mode 600); its ``kid`` is its thumbprint."""
    return _load_key(_key_file(lg_code, settings or get_settings()))


def jwks(lg_code: str) -> dict[str, Any]:
    """The public half, for relying parties to check ID tokens with."""
    return dict(KeySet([signing_key(lg_code)]).as_dict(private=False))


def metadata(issuer: str) -> dict[str, Any]:
    """OpenID Provider metadata (OpenID Connect Discovery 1.0, section 3)."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALG],
        "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                  "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
                             "preferred_username", "name", "roles", "lg_code"],
    }


# -- what the web layer hands in and gets back -----------------------------------------
class _Parameters(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._data = dict(pairs)
        self._datalist: dict[str, list[str]] = {}
        for key, value in pairs:
            self._datalist.setdefault(key, []).append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class Call(OAuth2Request):  # type: ignore[misc]
    """One request to the provider: its query (GET) or form (POST) parameters."""

    def __init__(self, method: str, uri: str, headers: Mapping[str, str],
                 pairs: list[tuple[str, str]]) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = _Parameters(pairs)

    @property
    def args(self) -> dict[str, str]:
        return dict(self.payload.data)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.payload.data)


@dataclass(frozen=True)
class Answer:
    """What to send back: a status, a JSON body or nothing, and headers (a redirect's
    ``Location`` among them)."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


@dataclass(frozen=True)
class StaffMember:
    """Whom a code and its tokens stand for."""

    user_id: int
    username: str
    display_name: str
    lg_code: str
    roles: tuple[str, ...]
    auth_time: datetime | None = None

    def get_user_id(self) -> int:
        return self.user_id


def staff_member(db: Database, user_id: int, lg_code: str) -> StaffMember | None:
    """An active staff member of exactly this municipality, with their roles."""
    with db.platform_tx() as conn:
        row = conn.execute(select(users.c.id, users.c.username, users.c.display_name,
                                  users.c.scope, users.c.lg_code, users.c.active)
                           .where(users.c.id == user_id)).first()
        if row is None or not row.active or row.scope != Scope.TENANT or \
                row.lg_code != lg_code:
            return None
        roles = conn.execute(select(user_roles.c.role).where(user_roles.c.user_id == user_id)
                             .order_by(user_roles.c.role)).scalars().all()
    return StaffMember(row.id, row.username, row.display_name, row.lg_code, tuple(roles))


def claims_of(member: StaffMember, scope: str) -> dict[str, Any]:
    asked = scope.split()
    info: dict[str, Any] = {"sub": str(member.user_id),
                            "preferred_username": member.username,
                            "lg_code": member.lg_code}
    if "profile" in asked:
        info["name"] = member.display_name
    if "roles" in asked:
        info["roles"] = list(member.roles)
    return info


# -- authlib's server, its grant and its extensions ------------------------------------
@dataclass
class _Code:
    """A stored authorization code (authlib's ``AuthorizationCodeMixin``)."""

    code_hash: str
    user_id: int
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    auth_time: datetime

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(as_utc(self.auth_time).timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _Provider(AuthorizationServer):  # type: ignore[misc]
    """One municipality's authorization server for one request."""

    def __init__(self, db: Database, lg_code: str, issuer: str) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.db, self.lg_code, self.issuer = db, lg_code, issuer
        self.register_token_generator("default", BearerTokenGenerator(
            access_token_generator=lambda **_: "kmo_" + os.urandom(32).hex(),
            expires_generator=lambda *_: TOKEN_SECONDS))
        self.register_grant(_CodeGrant, [_RequirePkce(), _OpenId(self)])

    def query_client(self, client_id: str) -> Client | None:
        return find(self.db, self.lg_code, client_id or "")

    def save_token(self, token: dict[str, Any], request: Call) -> None:
        code: _Code = request.authorization_code
        with self.db.platform_tx() as conn:
            conn.execute(insert(oidc_tokens).values(
                token_hash=token_hash(token["access_token"]), code_hash=code.code_hash,
                client_id=request.client.client_id, user_id=request.user.user_id,
                scope=token["scope"],
                expires_at=utcnow() + timedelta(seconds=TOKEN_SECONDS)))

    def create_oauth2_request(self, request: Call) -> Call:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return Answer(status, body if isinstance(body, dict) else None, dict(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals: the web layer writes the trail."""


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic", "client_secret_post", "none"]

    @property
    def provider(self) -> _Provider:
        server: _Provider = self.server
        return server

    def save_authorization_code(self, code: str, request: Call) -> None:
        data = request.payload.data
        member: StaffMember = request.user
        with self.provider.db.platform_tx() as conn:
            conn.execute(insert(oidc_codes).values(
                code_hash=token_hash(code), client_id=request.client.client_id,
                user_id=member.user_id, redirect_uri=request.payload.redirect_uri,
                scope=request.scope, nonce=data.get("nonce"),
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                auth_time=member.auth_time or utcnow(),
                expires_at=utcnow() + CODE_LIFE))

    def query_authorization_code(self, code: str, client: Client) -> _Code | None:
        """The code, taken for use in the same statement (so two exchanges cannot both
        succeed); a code used before revokes the tokens its first use gave (RFC 6749
        section 4.1.2)."""
        key = token_hash(code or "")
        now = utcnow()
        with self.provider.db.platform_tx() as conn:
            row = conn.execute(update(oidc_codes).where(
                oidc_codes.c.code_hash == key, oidc_codes.c.client_id == client.client_id,
                oidc_codes.c.used_at.is_(None), oidc_codes.c.expires_at > now)
                .values(used_at=now).returning(*oidc_codes.c)).mappings().first()
            if row is None:
                conn.execute(update(oidc_tokens).where(
                    oidc_tokens.c.code_hash == key, oidc_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=now))
                return None
        return _Code(code_hash=row["code_hash"], user_id=row["user_id"],
                     redirect_uri=row["redirect_uri"], scope=row["scope"],
                     nonce=row["nonce"], code_challenge=row["code_challenge"],
                     code_challenge_method=row["code_challenge_method"],
                     auth_time=row["auth_time"])

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        """Kept, marked used, until it expires: a second use must be recognised."""

    def authenticate_user(self, authorization_code: _Code) -> StaffMember | None:
        """Still an active member of the municipality (suspended since: no token)."""
        return staff_member(self.provider.db, authorization_code.user_id,
                            self.provider.lg_code)


class _RequirePkce(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 for every client, confidential ones too (RFC 9700 section 2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: _CodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: code_challenge with "
                                      "code_challenge_method=S256")
        super().validate_code_challenge(grant, redirect_uri)


class _OpenId(OpenIDCode):  # type: ignore[misc]
    def __init__(self, provider: _Provider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return signing_key(self.provider.lg_code)

    def get_client_algorithm(self, client: Client) -> str:
        return ALG

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": ALG, "kid": str(signing_key(self.provider.lg_code).kid)}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self.provider.issuer, "aud": [client.client_id],
                "exp": int(time.time()) + ID_TOKEN_SECONDS}

    def exists_nonce(self, nonce: str, request: Call) -> bool:
        """A nonce seen before from this client is a replay."""
        with self.provider.db.platform_tx() as conn:
            return conn.execute(select(oidc_codes.c.code_hash).where(
                oidc_codes.c.client_id == request.payload.client_id,
                oidc_codes.c.nonce == nonce).limit(1)).first() is not None

    def generate_user_info(self, user: StaffMember, scope: str) -> UserInfo:
        return UserInfo(claims_of(user, scope))


# -- the three things the web layer asks ------------------------------------------------
REFUSALS = {
    "invalid_client": "この団体に登録された連携システムではありません",
    "invalid_request": "リダイレクト先が登録されたものと一致しないか、要求の形式が正しくありません",
}
"""What the staff member is told when the request cannot go back to its system: fixed
words (the request's own words, an address among them, are never printed)."""


@dataclass(frozen=True)
class Refused:
    """An authorization request that cannot go back to its system (an unknown client or
    redirect address): shown to the staff member, never redirected."""

    error: str

    @property
    def message(self) -> str:
        return REFUSALS.get(self.error, "要求が正しくありません")


def authorize(db: Database, lg_code: str, issuer: str, call: Call,
              principal: Principal | None, auth_time: datetime | None
              ) -> Answer | Refused | None:
    """The authorization endpoint. None: nobody is signed in here (the web layer sends
    the browser to the login page and back); an :class:`Answer` redirects to the system
    with a code, or with ``access_denied`` for someone who is not this municipality's
    active staff (another municipality's, the operator's)."""
    provider = _Provider(db, lg_code, issuer)
    member = None if principal is None else staff_member(db, principal.user_id, lg_code)
    try:
        grant = provider.get_consent_grant(call, end_user=member)
    except OAuth2Error as error:
        if error.redirect_uri:
            return provider.handle_error_response(call, error)  # type: ignore[no-any-return]
        return Refused(str(error.error))
    if principal is None:
        return None
    if member is not None:
        member = replace(member, auth_time=auth_time)
    answer: Answer = provider.create_authorization_response(call, grant_user=member,
                                                            grant=grant)
    return answer


def client_name(db: Database, lg_code: str, client_id: str) -> str | None:
    client = find(db, lg_code, client_id or "")
    return None if client is None else client.name


def token(db: Database, lg_code: str, issuer: str, call: Call) -> Answer:
    """The token endpoint: a code (with its verifier) for an ID token and access token."""
    answer: Answer = _Provider(db, lg_code, issuer).create_token_response(call)
    return answer


def user_info(db: Database, lg_code: str, access_token: str) -> dict[str, Any] | None:
    """The user-info endpoint's claims for a live access token of this municipality."""
    with db.platform_tx() as conn:
        row = conn.execute(select(oidc_tokens.c.user_id, oidc_tokens.c.scope,
                                  oidc_tokens.c.expires_at, oidc_tokens.c.revoked_at,
                                  oidc_tokens.c.client_id)
                           .where(oidc_tokens.c.token_hash == token_hash(access_token))
                           ).first()
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= utcnow() \
            or find(db, lg_code, row.client_id) is None:
        return None
    member = staff_member(db, row.user_id, lg_code)
    return None if member is None else claims_of(member, row.scope)
