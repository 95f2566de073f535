"""The consortium's cost data, in the control plane (no personal data): cost items, the
weights of their keys with history, members' standalone costs, metered usage, and the
savings guarantee per fiscal year."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from kumomura.platform.core.timeutil import Timestamp
from kumomura.platform.storage.db import platform_metadata

cost_items = Table(
    "cost_items",
    platform_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(32), nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # running | initial
    Column("amount", BigInteger, nullable=False),
    Column("businesses", JSON, nullable=False),
    Column("first_year", Integer, nullable=False),
    Column("years", Integer, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    UniqueConstraint("code", "first_year", name="ux_cost_items_code_year"),
)
"""A running cost of one fiscal year (years = 1), or an initial cost spread over years."""

cost_weights = Table(
    "cost_weights",
    platform_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_code", String(32), nullable=False, index=True),
    Column("effective_from", Integer, nullable=False),  # fiscal year
    Column("equal", String(16), nullable=False),
    Column("population", String(16), nullable=False),
    Column("usage", String(16), nullable=False),
    Column("metric", String(32)),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", Timestamp(), nullable=False),
    Column("reason", Text),
)
"""Weights of an item's keys (exact decimals), from a fiscal year on; every change kept."""

standalone_costs = Table(
    "standalone_costs",
    platform_metadata,
    Column("lg_code", String(6), ForeignKey("platform.tenants.lg_code"), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True, autoincrement=False),
    Column("amount", BigInteger, nullable=False),
    Column("basis", Text, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", Timestamp(), nullable=False),
)
"""発注前年間経費 (or a reference quote): what a member would pay alone."""

usage_meters = Table(
    "usage_meters",
    platform_metadata,
    Column("lg_code", String(6), ForeignKey("platform.tenants.lg_code"), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True, autoincrement=False),
    Column("metric", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
    Column("measured_at", Timestamp(), nullable=False),
)
"""Usage the platform measured per member and year (residents, certificates, notices)."""

cost_policies = Table(
    "cost_policies",
    platform_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fiscal_year", Integer, nullable=False, index=True),
    Column("guarantee", String(16)),  # percent; null: none
    Column("changed_by", Text, nullable=False),
    Column("changed_at", Timestamp(), nullable=False),
    Column("reason", Text),
)
"""The savings guarantee (every member saves at least X%) per year; the latest row wins."""
