"""Tables of seal registration (印鑑登録), in each tenant's schema."""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, LargeBinary, String, Table, Text, text

from kumomura.platform.core.timeutil import Timestamp
from kumomura.platform.storage.db import tenant_metadata

ACTIVE = text("status = 'active'")

seal_registrations = Table(
    "seal_registrations",
    tenant_metadata,
    Column("registration_no", String(15), primary_key=True),
    Column("atena_no", String(15), nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("impression_text", Text, nullable=False),
    Column("impression_png", LargeBinary),
    Column("status", String(16), nullable=False),  # active | abolished
    Column("abolished_on", Date),
    Column("abolish_reason", Text),
    Column("registered_by", Text, nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Index("ix_seal_registrations_person", "atena_no"),
    # One active seal per person, held by the database against concurrent registrations.
    Index("ux_seal_registrations_active", "atena_no", unique=True,
          postgresql_where=ACTIVE, sqlite_where=ACTIVE),
)
"""The seal a resident registered (印影), by registration number (登録番号)."""

seal_certificate_issues = Table(
    "seal_certificate_issues",
    tenant_metadata,
    Column("issue_no", String(20), primary_key=True),
    Column("registration_no", String(15), nullable=False),
    Column("atena_no", String(15), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("fee", Integer, nullable=False),
    Column("issued_by", Text, nullable=False),
    Column("issued_at", Timestamp(), nullable=False),
    Column("request_id", Text),
    info={"append_only": True},
)
"""Every 印鑑登録証明書 issued."""
