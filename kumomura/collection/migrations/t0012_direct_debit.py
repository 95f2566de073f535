"""collection: 口座振替 enrolments, requests and results

Revision ID: t0012
Revises: t0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "t0012"
down_revision = "t0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "debit_accounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("payer_kind", sa.String(8), nullable=False),
        sa.Column("payer_no", sa.String(20), nullable=False),
        sa.Column("levy", sa.String(32), nullable=False),
        sa.Column("bank_code", sa.String(4), nullable=False),
        sa.Column("branch_code", sa.String(3), nullable=False),
        sa.Column("account_type", sa.Integer, nullable=False),
        sa.Column("account_no", sa.String(7), nullable=False),
        sa.Column("holder", sa.String(30), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date),
        sa.Column("registered_by", sa.Text, nullable=False),
        sa.Column("registered_at", TS, nullable=False),
    )
    op.create_index("ix_debit_accounts_payer", "debit_accounts",
                    ["payer_kind", "payer_no", "levy"])
    op.create_table(
        "debit_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("charge_id", sa.Integer, sa.ForeignKey("charges.id"), nullable=False,
                  index=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("debit_accounts.id"),
                  nullable=False),
        sa.Column("debit_on", sa.Date, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("result", sa.Integer),
        sa.Column("result_file_id", sa.Integer, sa.ForeignKey("payment_files.id")),
        sa.UniqueConstraint("charge_id", "debit_on", name="uq_debit_items_charge_day"),
    )


def downgrade() -> None:
    op.drop_table("debit_items")
    op.drop_table("debit_accounts")
