"""tenant platform tables: parameters, outbox, audit log, job chunk marks

Revision ID: t0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "t0001"
down_revision = None
branch_labels = ("platform",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "param_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("value", sa.JSON),
        sa.Column("is_reset", sa.Boolean, nullable=False),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_param_changes_lookup", "param_changes",
                    ["module", "name", "effective_from"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(128), nullable=False, index=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("atena_no", sa.String(16)),
        sa.Column("request_id", sa.Text),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "event_offsets",
        sa.Column("subscriber", sa.String(128), primary_key=True),
        sa.Column("last_event_id", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "event_failures",
        sa.Column("subscriber", sa.String(128), primary_key=True),
        sa.Column("event_id", sa.Integer, primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("atena_no", sa.String(16)),
        sa.Column("request_id", sa.Text),
        sa.Column("client_addr", sa.Text),
        sa.Column("purpose", sa.Text),
        sa.Column("detail", sa.JSON),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    # The chain's tip exists from the start, so the first writers already queue on its lock.
    op.bulk_insert(head, [{"id": 1, "last_seq": 0, "last_hash": "0" * 64}])
    op.create_table(
        "job_chunks",
        sa.Column("job_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("chunk_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("done_at", TS, nullable=False),
        sa.Column("summary", sa.JSON),
    )


def downgrade() -> None:
    for table in ("job_chunks", "audit_head", "audit_log", "event_failures", "event_offsets",
                  "outbox", "param_changes"):
        op.drop_table(table)
