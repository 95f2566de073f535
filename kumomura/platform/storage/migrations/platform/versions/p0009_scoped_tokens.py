"""API tokens carry their own scopes and say who issued and revoked them; the tokens
issued before, which carried all of their user's roles, are revoked

Revision ID: p0009
Revises: p0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "p0009"
down_revision = "p0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("scopes", sa.JSON))
        batch.add_column(sa.Column("issued_by", sa.String(64)))
        batch.add_column(sa.Column("revoked_by", sa.String(64)))
    op.execute("UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP, "
               "revoked_by = 'db upgrade' WHERE revoked_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_by")
        batch.drop_column("issued_by")
        batch.drop_column("scopes")
