"""costs: items, weights, standalone costs, usage meters, policies

Revision ID: p0003
Revises: (branch costs; needs p0001)
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "p0003"
down_revision = None
branch_labels = ("costs",)
depends_on = "p0001"  # its tables name the members (platform.tenants)

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cost_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("businesses", sa.JSON, nullable=False),
        sa.Column("first_year", sa.Integer, nullable=False),
        sa.Column("years", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("code", "first_year", name="ux_cost_items_code_year"),
    )
    op.create_table(
        "cost_weights",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_code", sa.String(32), nullable=False),
        sa.Column("effective_from", sa.Integer, nullable=False),
        sa.Column("equal", sa.String(16), nullable=False),
        sa.Column("population", sa.String(16), nullable=False),
        sa.Column("usage", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(32)),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_cost_weights_item_code", "cost_weights", ["item_code"])
    op.create_table(
        "standalone_costs",
        sa.Column("lg_code", sa.String(6), sa.ForeignKey("tenants.lg_code"), primary_key=True),
        sa.Column("fiscal_year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_table(
        "usage_meters",
        sa.Column("lg_code", sa.String(6), sa.ForeignKey("tenants.lg_code"), primary_key=True),
        sa.Column("fiscal_year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("metric", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("measured_at", TS, nullable=False),
    )
    op.create_table(
        "cost_policies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("guarantee", sa.String(16)),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_cost_policies_fiscal_year", "cost_policies", ["fiscal_year"])


def downgrade() -> None:
    for name in ("cost_policies", "usage_meters", "standalone_costs", "cost_weights",
                 "cost_items"):
        op.drop_table(name)
