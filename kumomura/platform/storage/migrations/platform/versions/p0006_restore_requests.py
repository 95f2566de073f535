"""restore requests: asked by one person, approved by another

Revision ID: p0006
Revises: p0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "p0006"
down_revision = "p0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "restore_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lg_code", sa.String(6), nullable=False, index=True),
        sa.Column("backup_file", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("approved_by", sa.Text),
        sa.Column("approved_at", TS),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("finished_at", TS),
    )


def downgrade() -> None:
    op.drop_table("restore_requests")
