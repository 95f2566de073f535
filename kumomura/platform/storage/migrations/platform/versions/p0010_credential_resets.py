"""who last reset a user's password or second factor, and when: the other one is then
someone else's to reset

Revision ID: p0010
Revises: p0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "p0010"
down_revision = "p0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("credential_reset_kind", sa.String(16)))
        batch.add_column(sa.Column("credential_reset_by", sa.String(64)))
        batch.add_column(sa.Column("credential_reset_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("credential_reset_at")
        batch.drop_column("credential_reset_by")
        batch.drop_column("credential_reset_kind")
