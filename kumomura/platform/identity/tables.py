"""The control plane's tables of identity: users, roles and what they grant, API tokens
and browser sessions (one place, so that logins and sessions read them without importing
each other)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, String, Table, Text

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
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", Timestamp()),
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
)

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
