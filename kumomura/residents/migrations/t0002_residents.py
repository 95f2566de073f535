"""resident registry: addressee numbers, households, changes, versions, protection orders,
certificates issued; number counters

Revision ID: t0002
Revises: (first of its branch)
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "t0002"
down_revision = None
branch_labels = ("residents",)
depends_on = None

TS = sa.DateTime(timezone=True)
NUMBER = sa.String(15)
CURRENT = sa.text("valid_to IS NULL")


def key() -> sa.types.TypeEngine[str]:
    return sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("series", sa.String(64), primary_key=True),
        sa.Column("last_value", sa.Integer, nullable=False),
    )
    op.create_table(
        "atena",
        sa.Column("atena_no", NUMBER, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kana", sa.Text, nullable=False),
        sa.Column("kana_key", key(), nullable=False),
        sa.Column("birth_date", sa.Date),
        sa.Column("sex", sa.String(1)),
        sa.Column("address", sa.Text),
        sa.Column("registered_by", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_atena_kana", "atena", ["kana_key"])
    op.create_table(
        "households",
        sa.Column("household_no", NUMBER, primary_key=True),
        sa.Column("created_on", sa.Date, nullable=False),
        sa.Column("dissolved_on", sa.Date),
        sa.Column("created_by_change", sa.Integer, nullable=False),
    )
    op.create_table(
        "changes",
        sa.Column("change_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("change_type", sa.String(32), nullable=False),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("notified_on", sa.Date),
        sa.Column("is_late", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("request_id", sa.Text),
        sa.Column("cancels_change", sa.Integer),
        sa.Column("cancelled_by_change", sa.Integer),
    )
    op.create_table(
        "resident_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("atena_no", NUMBER, sa.ForeignKey("atena.atena_no"), nullable=False),
        sa.Column("version_no", sa.Integer, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date),
        sa.Column("change_id", sa.Integer, sa.ForeignKey("changes.change_id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_key", key(), nullable=False),
        sa.Column("kana", sa.Text, nullable=False),
        sa.Column("kana_key", key(), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("household_no", NUMBER, sa.ForeignKey("households.household_no"),
                  nullable=False),
        sa.Column("relationship", sa.String(32), nullable=False),
        sa.Column("postal_code", sa.String(8)),
        sa.Column("address_town", sa.Text, nullable=False),
        sa.Column("address_line", sa.Text),
        sa.Column("address_key", key(), nullable=False),
        sa.Column("address_set_on", sa.Date, nullable=False),
        sa.Column("became_resident_on", sa.Date, nullable=False),
        sa.Column("previous_address", sa.Text),
        sa.Column("honseki", sa.Text),
        sa.Column("hittousha", sa.Text),
        sa.Column("resident_card_code", sa.String(11)),
        sa.Column("is_foreign", sa.Boolean, nullable=False),
        sa.Column("nationality", sa.Text),
        sa.Column("residence_status", sa.Text),
        sa.Column("residence_until", sa.Date),
        sa.Column("removed_on", sa.Date),
        sa.Column("removal_reason", sa.String(32)),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("ux_resident_versions_seq", "resident_versions",
                    ["atena_no", "version_no"], unique=True)
    op.create_index("ux_resident_versions_current", "resident_versions", ["atena_no"],
                    unique=True, postgresql_where=CURRENT, sqlite_where=CURRENT)
    for name, columns in (("kana", ["kana_key", "birth_date", "atena_no"]),
                          ("name", ["name_key"]), ("address", ["address_key"]),
                          ("birth", ["birth_date"])):
        op.create_index(f"ix_resident_versions_{name}", "resident_versions", columns,
                        postgresql_where=CURRENT, sqlite_where=CURRENT)
    op.create_index("ix_resident_versions_household", "resident_versions", ["household_no"])
    op.create_table(
        "protection_orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("atena_no", NUMBER, sa.ForeignKey("atena.atena_no"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("lifted_on", sa.Date),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_protection_orders_person", "protection_orders", ["atena_no"])
    op.create_table(
        "certificate_issues",
        sa.Column("issue_no", sa.String(20), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("atena_nos", sa.JSON, nullable=False),
        sa.Column("household_no", NUMBER),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("applicant_kind", sa.String(16), nullable=False),
        sa.Column("applicant_name", sa.Text),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("fee", sa.Integer, nullable=False),
        sa.Column("override_reason", sa.Text),
        sa.Column("issued_by", sa.Text, nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("request_id", sa.Text),
    )


def downgrade() -> None:
    for table in ("certificate_issues", "protection_orders", "resident_versions", "changes",
                  "households", "atena", "counters"):
        op.drop_table(table)
