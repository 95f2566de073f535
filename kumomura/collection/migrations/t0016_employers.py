"""collection: the employers who pay by 特別徴収, for letters to them

Revision ID: t0016
Revises: t0015
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "t0016"
down_revision = "t0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "employers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("payer_no", sa.String(20), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("postal_code", sa.String(8)),
        sa.Column("address", sa.Text),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("employers")
