"""API calls per municipality and day

Revision ID: p0005
Revises: p0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "p0005"
down_revision = "p0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_calls_daily",
        sa.Column("lg_code", sa.String(6), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("calls", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_calls_daily")
