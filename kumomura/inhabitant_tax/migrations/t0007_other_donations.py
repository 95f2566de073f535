"""inhabitant tax: donations other than ふるさと納税 on the returns

Revision ID: t0007
Revises: t0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "t0007"
down_revision = "t0006"
branch_labels = None
depends_on = None

NAMES = ("donation_both", "donation_municipal_only", "donation_prefectural_only")


def upgrade() -> None:
    for name in NAMES:
        op.add_column("income_returns", sa.Column(name, sa.BigInteger, nullable=False,
                                                  server_default="0"))


def downgrade() -> None:
    for name in reversed(NAMES):
        op.drop_column("income_returns", name)
