"""backup drills

Revision ID: p0004
Revises: p0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "p0004"
down_revision = "p0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_drills",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lg_code", sa.String(6), nullable=False),
        sa.Column("backup_file", sa.Text, nullable=False),
        sa.Column("backup_taken_at", sa.Text, nullable=False),
        sa.Column("drilled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restore_seconds", sa.Float, nullable=False),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_backup_drills_lg_code", "backup_drills", ["lg_code"])


def downgrade() -> None:
    op.drop_table("backup_drills")
