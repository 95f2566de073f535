"""audit entries are written pending and sealed into the chain after the fact

Revision ID: t0010
Revises: t0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "t0010"
down_revision = "t0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("atena_no", sa.String(16)),
        sa.Column("request_id", sa.Text),
        sa.Column("client_addr", sa.Text),
        sa.Column("purpose", sa.Text),
        sa.Column("detail", sa.JSON),
    )


def downgrade() -> None:
    op.drop_table("audit_pending")
