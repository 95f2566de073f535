"""collection: 分納誓約, 執行停止 and 不納欠損

Revision ID: t0015
Revises: t0014
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "t0015"
down_revision = "t0014"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "installment_plans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("payer_kind", sa.String(8), nullable=False),
        sa.Column("payer_no", sa.String(20), nullable=False),
        sa.Column("made_on", sa.Date, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("made_by", sa.Text, nullable=False),
        sa.Column("made_at", TS, nullable=False),
        sa.Column("cancelled_on", sa.Date),
    )
    op.create_index("ix_installment_plans_payer", "installment_plans",
                    ["payer_kind", "payer_no"])
    op.create_table(
        "plan_installments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey("installment_plans.id"),
                  nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("plan_id", "due_on", name="uq_plan_installments_day"),
    )
    op.create_table(
        "enforcement_stays",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("payer_kind", sa.String(8), nullable=False),
        sa.Column("payer_no", sa.String(20), nullable=False),
        sa.Column("started_on", sa.Date, nullable=False),
        sa.Column("ground", sa.Integer, nullable=False),
        sa.Column("immediate", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("lifted_on", sa.Date),
        sa.Column("lift_reason", sa.Text),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_at", TS, nullable=False),
    )
    op.create_index("ix_enforcement_stays_payer", "enforcement_stays",
                    ["payer_kind", "payer_no"])
    op.create_table(
        "write_offs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("charge_id", sa.Integer, sa.ForeignKey("charges.id"), nullable=False,
                  unique=True),
        sa.Column("extinguished_on", sa.Date, nullable=False),
        sa.Column("ground", sa.String(16), nullable=False),
        sa.Column("stay_id", sa.Integer, sa.ForeignKey("enforcement_stays.id")),
        sa.Column("tax", sa.BigInteger, nullable=False),
        sa.Column("late_fee", sa.BigInteger, nullable=False),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("write_offs", "enforcement_stays", "plan_installments",
                  "installment_plans"):
        op.drop_table(table)
