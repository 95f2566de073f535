"""The control plane's tables of identity: users, roles and what they grant, API tokens,
browser sessions, login throttles and the sign-in trail (one place, so that logins and
sessions read them without importing each other)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from kumomura.platform.core.timeutil import Timestamp
from kumomura.platform.storage.db import platform_metadata

users = Table(
    "users",
    platform_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("scope", String(16), nullable=False),
    Column("lg_code", String(6), ForeignKey("platform.tenants.lg_code")),
    Column("password_hash", Text, nullable=False),
    Column("totp_secret", Text),
    Column("totp_last_step", BigInteger),
    Column("credential_reset_kind", String(16)),
    Column("credential_reset_by", String(64)),
    Column("credential_reset_at", Timestamp()),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Timestamp(), nullable=False),
)

roles = Table(
    "roles",
    platform_metadata,
    Column("name", String(64), primary_key=True),
    Column("scope", String(16), nullable=False),
    Column("description", Text, nullable=False),
)

role_permissions = Table(
    "role_permissions",
    platform_metadata,
    Column("role", String(64), ForeignKey("platform.roles.name"), primary_key=True),
    Column("module", String(64), primary_key=True),
    Column("permission", String(16), primary_key=True),
)

user_roles = Table(
    "user_roles",
    platform_metadata,
    Column("user_id", Integer, ForeignKey("platform.users.id"), primary_key=True),
    Column("role", String(64), ForeignKey("platform.roles.name"), primary_key=True),
)

api_tokens = Table(
    "api_tokens",
    platform_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("platform.users.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Timestamp(), nullable=False),
    Column("expires_at", Timestamp()),
    Column("revoked_at", Timestamp()),
    Column("scopes", JSON),
    Column("issued_by", String(64)),
    Column("revoked_by", String(64)),
)
"""Tokens for other systems: ``scopes`` lists what the token may do ("module:permission",
never more than its user may), whoever issued and revoked it."""

web_sessions = Table(
    "web_sessions",
    platform_metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("platform.users.id"), nullable=False, index=True),
    Column("created_at", Timestamp(), nullable=False),
    Column("last_seen_at", Timestamp(), nullable=False),
    Column("idle_minutes", Integer, nullable=False),
    Column("ended_at", Timestamp()),
)

login_throttle = Table(
    "login_throttle",
    platform_metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", Timestamp(), nullable=False, index=True),
    Column("blocked_until", Timestamp()),
)
"""Failed logins per account name and per client address (``account:<name>``,
``address:<ip>``), whether or not the account exists."""

auth_events = Table(
    "auth_events",
    platform_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Timestamp(), nullable=False, index=True),
    Column("username", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("client_addr", Text),
    Column("request_id", Text),
    Column("detail", JSON),
    info={"append_only": True},
)
"""Sign-in events of names that are no municipality's staff (unknown names, the
secretariat, the operator); a municipality's staff's go in its own audit trail."""

oidc_clients = Table(
    "oidc_clients",
    platform_metadata,
    Column("client_id", String(64), primary_key=True),
    Column("lg_code", String(6), ForeignKey("platform.tenants.lg_code"), nullable=False,
           index=True),
    Column("name", Text, nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("secret_hash", String(64)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Column("revoked_at", Timestamp()),
    Column("revoked_by", String(64)),
)
"""The municipality's other systems that sign its staff in through kumomura (OIDC relying
parties), registered by its IT lead; a client without a secret is public (PKCE alone)."""

oidc_codes = Table(
    "oidc_codes",
    platform_metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("client_id", String(64), ForeignKey("platform.oidc_clients.client_id"),
           nullable=False),
    Column("user_id", Integer, ForeignKey("platform.users.id"), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("nonce", Text),
    Column("code_challenge", String(128), nullable=False),
    Column("code_challenge_method", String(8), nullable=False),
    Column("auth_time", Timestamp(), nullable=False),
    Column("expires_at", Timestamp(), nullable=False, index=True),
    Column("used_at", Timestamp()),
)
"""Authorization codes (their hash): short-lived, used once; a second use revokes what
the first one gave."""

oidc_tokens = Table(
    "oidc_tokens",
    platform_metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("code_hash", String(64), nullable=False, index=True),
    Column("client_id", String(64), ForeignKey("platform.oidc_clients.client_id"),
           nullable=False),
    Column("user_id", Integer, ForeignKey("platform.users.id"), nullable=False),
    Column("scope", Text, nullable=False),
    Column("expires_at", Timestamp(), nullable=False, index=True),
    Column("revoked_at", Timestamp()),
)
"""Access tokens for the user-info endpoint, an hour each (the relying party's own
session is its own affair)."""
