"""seal registration: registrations and certificates issued

Revision ID: t0003
Revises: (first of its branch)
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "t0003"
down_revision = None
branch_labels = ("seal_registration",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "seal_registrations",
        sa.Column("registration_no", sa.String(15), primary_key=True),
        sa.Column("atena_no", sa.String(15), nullable=False),
        sa.Column("registered_on", sa.Date, nullable=False),
        sa.Column("impression_text", sa.Text, nullable=False),
        sa.Column("impression_png", sa.LargeBinary),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("abolished_on", sa.Date),
        sa.Column("abolish_reason", sa.Text),
        sa.Column("registered_by", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_seal_registrations_person", "seal_registrations", ["atena_no"])
    active = sa.text("status = 'active'")
    op.create_index("ux_seal_registrations_active", "seal_registrations", ["atena_no"],
                    unique=True, postgresql_where=active, sqlite_where=active)
    op.create_table(
        "seal_certificate_issues",
        sa.Column("issue_no", sa.String(20), primary_key=True),
        sa.Column("registration_no", sa.String(15), nullable=False),
        sa.Column("atena_no", sa.String(15), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("fee", sa.Integer, nullable=False),
        sa.Column("issued_by", sa.Text, nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("request_id", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("seal_certificate_issues")
    op.drop_table("seal_registrations")
