"""The gifts: one per newborn, due from the birth, paid on a date."""

from __future__ import annotations

from sqlalchemy import Column, Date, Integer, String, Table

from kumomura.platform.core.timeutil import Timestamp
from kumomura.platform.storage.db import tenant_metadata

birth_gifts = Table(
    "birth_gifts",
    tenant_metadata,
    Column("atena_no", String(16), primary_key=True),
    Column("household_no", String(16), nullable=False),
    Column("born_on", Date, nullable=False),
    Column("amount", Integer, nullable=False),
    Column("status", String(8), nullable=False),  # due | paid
    Column("paid_on", Date),
    Column("paid_by", String(128)),
    Column("event_id", Integer, nullable=False),
    Column("recorded_at", Timestamp(), nullable=False),
)
