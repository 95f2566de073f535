"""collection: charges and their history, payment files, payments and allocations

Revision ID: t0011
Revises: (first of its branch)
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "t0011"
down_revision = None
branch_labels = ("collection",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "charges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("levy", sa.String(32), nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("payer_kind", sa.String(8), nullable=False),
        sa.Column("payer_no", sa.String(20), nullable=False),
        sa.Column("atena_no", sa.String(15), nullable=False),
        sa.Column("installment", sa.Integer, nullable=False),
        sa.Column("label", sa.String(20), nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("payment_no", sa.String(32), nullable=False, index=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("levy", "fiscal_year", "payer_kind", "payer_no", "atena_no",
                            "installment", name="uq_charges_installment"),
    )
    op.create_index("ix_charges_payer", "charges", ["payer_kind", "payer_no", "due_date"])
    op.create_index("ix_charges_person", "charges", ["atena_no"])
    op.create_table(
        "charge_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("charge_id", sa.Integer, sa.ForeignKey("charges.id"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("delta", sa.BigInteger, nullable=False),
        sa.Column("amount_after", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.UniqueConstraint("charge_id", "event_id", name="uq_charge_changes_event"),
    )
    op.create_table(
        "payment_files",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("imported_by", sa.Text, nullable=False),
        sa.Column("imported_at", TS, nullable=False),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("payment_files.id"), nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("payment_no", sa.String(32)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payer_kind", sa.String(8)),
        sa.Column("payer_no", sa.String(20)),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("file_id", "line", name="uq_payments_line"),
    )
    op.create_index("ix_payments_payer", "payments", ["payer_kind", "payer_no"])
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("payment_id", sa.Integer, sa.ForeignKey("payments.id"), nullable=False,
                  index=True),
        sa.Column("charge_id", sa.Integer, sa.ForeignKey("charges.id"), index=True),
        sa.Column("part", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("applied_on", sa.Date, nullable=False),
        sa.Column("applied_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("allocations", "payments", "payment_files", "charge_changes", "charges"):
        op.drop_table(table)
