"""collection: 還付 and 充当 of 過誤納金, with 還付加算金

Revision ID: t0014
Revises: t0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "t0014"
down_revision = "t0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("payer_kind", sa.String(8), nullable=False),
        sa.Column("payer_no", sa.String(20), nullable=False),
        sa.Column("decided_on", sa.Date, nullable=False),
        sa.Column("appropriated", sa.BigInteger, nullable=False),
        sa.Column("refunded", sa.BigInteger, nullable=False),
        sa.Column("interest", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_refunds_payer", "refunds", ["payer_kind", "payer_no"])
    op.add_column("allocations", sa.Column("refund_id", sa.Integer))
    op.create_index("ix_allocations_refund_id", "allocations", ["refund_id"])


def downgrade() -> None:
    op.drop_index("ix_allocations_refund_id", "allocations")
    with op.batch_alter_table("allocations") as batch:
        batch.drop_column("refund_id")
    op.drop_index("ix_refunds_payer", "refunds")
    op.drop_table("refunds")
