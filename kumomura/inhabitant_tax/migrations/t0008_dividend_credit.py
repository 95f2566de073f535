"""inhabitant tax: dividends on the returns, the dividend credit on the assessments

Revision ID: t0008
Revises: t0007
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "t0008"
down_revision = "t0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("income_returns", sa.Column("dividend_income", sa.BigInteger,
                                              nullable=False, server_default="0"))
    for side in ("municipal", "prefectural"):
        op.add_column("assessments", sa.Column(f"{side}_dividend_credit", sa.BigInteger,
                                               nullable=False, server_default="0"))


def downgrade() -> None:
    for side in ("municipal", "prefectural"):
        op.drop_column("assessments", f"{side}_dividend_credit")
    op.drop_column("income_returns", "dividend_income")
