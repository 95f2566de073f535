"""inhabitant tax: the housing-loan credit on the returns and the assessments

Revision ID: t0006
Revises: t0005
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "t0006"
down_revision = "t0005"
branch_labels = None
depends_on = None

AMOUNTS = ("housing_loan_available", "housing_loan_used")


def upgrade() -> None:
    for name in AMOUNTS:
        op.add_column("income_returns", sa.Column(name, sa.BigInteger, nullable=False,
                                                  server_default="0"))
    op.add_column("income_returns", sa.Column("housing_loan_specified", sa.Boolean,
                                              nullable=False, server_default=sa.false()))
    op.add_column("income_returns", sa.Column("income_tax_base", sa.BigInteger))
    for side in ("municipal", "prefectural"):
        op.add_column("assessments", sa.Column(f"{side}_housing_loan_credit", sa.BigInteger,
                                               nullable=False, server_default="0"))


def downgrade() -> None:
    for side in ("municipal", "prefectural"):
        op.drop_column("assessments", f"{side}_housing_loan_credit")
    for name in ("income_tax_base", "housing_loan_specified", *AMOUNTS):
        op.drop_column("income_returns", name)
