"""Tables of the resident registry (住民記録), in each tenant's schema.

A person's registry entry is a chain of versions: a change closes the current version
(``valid_to``) and opens the next from its effective date, so the whole history, and the
removed record (除票), stays readable. ``valid_to IS NULL`` marks the current version;
the search indexes cover current versions only.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from kumomura.platform.core.timeutil import Timestamp
from kumomura.platform.storage.db import tenant_metadata

NUMBER = String(15)
"""宛名番号 and 世帯番号: 14-digit serial and a modulus-11 check digit."""


CURRENT = text("valid_to IS NULL")


def search_key() -> String:
    """A key compared in code-point order on every database (prefix = range scan)."""
    return String(200).with_variant(String(200, collation="C"), "postgresql")


atena = Table(
    "atena",
    tenant_metadata,
    Column("atena_no", NUMBER, primary_key=True),
    Column("kind", String(16), nullable=False),  # resident | non_resident
    Column("name", Text, nullable=False),
    Column("kana", Text, nullable=False),
    Column("kana_key", search_key(), nullable=False),
    Column("birth_date", Date),
    Column("sex", String(1)),
    Column("address", Text),
    Column("registered_by", String(64), nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Index("ix_atena_kana", "kana_key"),
)
"""団体内統合宛名: one number per person known to the municipality, resident or not.
For residents the registry versions hold the details; for 住登外者 this row does."""

households = Table(
    "households",
    tenant_metadata,
    Column("household_no", NUMBER, primary_key=True),
    Column("created_on", Date, nullable=False),
    Column("dissolved_on", Date),
    Column("created_by_change", Integer, nullable=False),
)

changes = Table(
    "changes",
    tenant_metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("change_type", String(32), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("notified_on", Date),
    Column("is_late", Boolean, nullable=False),
    Column("reason", Text),
    Column("detail", JSON, nullable=False),
    Column("recorded_at", Timestamp(), nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("request_id", Text),
    Column("cancels_change", Integer),
    Column("cancelled_by_change", Integer),
)
"""The journal of 異動: one row per notification or ex officio entry."""

resident_versions = Table(
    "resident_versions",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("atena_no", NUMBER, ForeignKey("tenant.atena.atena_no"), nullable=False),
    Column("version_no", Integer, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("change_id", Integer, ForeignKey("tenant.changes.change_id"), nullable=False),
    Column("status", String(16), nullable=False),  # resident | removed
    Column("name", Text, nullable=False),
    Column("name_key", search_key(), nullable=False),
    Column("kana", Text, nullable=False),
    Column("kana_key", search_key(), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),  # 1 male, 2 female (JIS X 0303)
    Column("household_no", NUMBER, ForeignKey("tenant.households.household_no"),
           nullable=False),
    Column("relationship", String(32), nullable=False),
    Column("postal_code", String(8)),
    Column("address_town", Text, nullable=False),
    Column("address_line", Text),
    Column("address_key", search_key(), nullable=False),
    Column("address_set_on", Date, nullable=False),
    Column("became_resident_on", Date, nullable=False),
    Column("previous_address", Text),
    Column("honseki", Text),
    Column("hittousha", Text),
    Column("resident_card_code", String(11)),
    Column("is_foreign", Boolean, nullable=False),
    Column("nationality", Text),
    Column("residence_status", Text),
    Column("residence_until", Date),
    Column("removed_on", Date),
    Column("removal_reason", String(32)),
    Column("recorded_at", Timestamp(), nullable=False),
    Index("ux_resident_versions_seq", "atena_no", "version_no", unique=True),
    Index("ux_resident_versions_current", "atena_no", unique=True,
          postgresql_where=CURRENT, sqlite_where=CURRENT),
    # In the order search results are listed, so the first page is read off the index.
    Index("ix_resident_versions_kana", "kana_key", "birth_date", "atena_no",
          postgresql_where=CURRENT, sqlite_where=CURRENT),
    Index("ix_resident_versions_name", "name_key",
          postgresql_where=CURRENT, sqlite_where=CURRENT),
    Index("ix_resident_versions_address", "address_key",
          postgresql_where=CURRENT, sqlite_where=CURRENT),
    Index("ix_resident_versions_birth", "birth_date",
          postgresql_where=CURRENT, sqlite_where=CURRENT),
    # Every version: a 除票's certificate looks up the householder of a past day.
    Index("ix_resident_versions_household", "household_no"),
)

protection_orders = Table(
    "protection_orders",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("atena_no", NUMBER, ForeignKey("tenant.atena.atena_no"), nullable=False),
    Column("kind", String(16), nullable=False),  # support | provisional
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("lifted_on", Date),
    Column("reason", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Index("ix_protection_orders_person", "atena_no"),
)
"""支援措置 (DV, stalking, abuse): blocks issuing the person's record to third parties."""

certificate_issues = Table(
    "certificate_issues",
    tenant_metadata,
    Column("issue_no", String(20), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("atena_nos", JSON, nullable=False),
    Column("household_no", NUMBER),
    Column("items", JSON, nullable=False),
    Column("applicant_kind", String(16), nullable=False),
    Column("applicant_name", Text),
    Column("purpose", Text, nullable=False),
    Column("fee", Integer, nullable=False),
    Column("override_reason", Text),
    Column("issued_by", Text, nullable=False),
    Column("issued_at", Timestamp(), nullable=False),
    Column("request_id", Text),
    info={"append_only": True},
)
"""交付履歴: every certificate issued, with who asked, why, and what it cost."""
