"""linkage events carry their type's schema version

Revision ID: t0009
Revises: t0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "t0009"
down_revision = "t0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every event written before had its type's first version.
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("version")
