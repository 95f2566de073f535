"""birth gifts (出生祝金)

Revision ID: bg0001
Revises: (first of its branch)
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "bg0001"
down_revision = None
branch_labels = ("birth_gift",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "birth_gifts",
        sa.Column("atena_no", sa.String(16), primary_key=True),
        sa.Column("household_no", sa.String(16), nullable=False),
        sa.Column("born_on", sa.Date, nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("paid_on", sa.Date),
        sa.Column("paid_by", sa.String(128)),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("birth_gifts")
