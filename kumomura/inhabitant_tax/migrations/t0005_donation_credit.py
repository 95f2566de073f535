"""inhabitant tax: donations on the returns, the donation credit on the assessments

Revision ID: t0005
Revises: t0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "t0005"
down_revision = "t0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("income_returns", sa.Column("donation_furusato", sa.BigInteger,
                                              nullable=False, server_default="0"))
    op.add_column("income_returns", sa.Column("donation_one_stop", sa.Boolean,
                                              nullable=False, server_default=sa.false()))
    for side in ("municipal", "prefectural"):
        op.add_column("assessments", sa.Column(f"{side}_donation_credit", sa.BigInteger,
                                               nullable=False, server_default="0"))


def downgrade() -> None:
    for side in ("municipal", "prefectural"):
        op.drop_column("assessments", f"{side}_donation_credit")
    op.drop_column("income_returns", "donation_one_stop")
    op.drop_column("income_returns", "donation_furusato")
