"""Per-tenant append-only audit log with a SHA-256 hash chain.

Each entry stores the hash of the previous one and its own hash over its content, so an
edited, deleted or reordered entry breaks the chain at a place ``verify`` can name. The
entry is written in the caller's transaction: no action without its trace, no trace of an
action that was rolled back. On PostgreSQL the tenant role may only INSERT into the log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from kumomura.platform.core.timeutil import Timestamp, as_utc, utcnow
from kumomura.platform.storage.db import Database, tenant_metadata

GENESIS = "0" * 64

audit_log = Table(
    "audit_log",
    tenant_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", Timestamp(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("atena_no", String(16)),
    Column("request_id", Text),
    Column("client_addr", Text),
    Column("purpose", Text),
    Column("detail", JSON),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    info={"append_only": True, "kept": True},
)

audit_head = Table(
    "audit_head",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
    info={"kept": True},
)
"""One row: the chain's tip. Writers lock it, which orders concurrent entries."""


@dataclass(frozen=True)
class AuditContext:
    """Who is acting, from where, and why: carried from the request to every entry."""

    actor: str
    request_id: str | None = None
    client_addr: str | None = None
    purpose: str | None = None


def _canonical_time(at: datetime) -> str:
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the entry's content in a canonical form."""
    body = {
        "seq": row["seq"],
        "at": _canonical_time(row["at"]),
        "actor": row["actor"],
        "action": row["action"],
        "atena_no": row["atena_no"],
        "request_id": row["request_id"],
        "client_addr": row["client_addr"],
        "purpose": row["purpose"],
        "detail": row["detail"],
    }
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


def record(
    conn: Connection,
    ctx: AuditContext,
    action: str,
    *,
    atena_no: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry in the caller's tenant transaction; return its sequence number."""
    last_seq, last_hash = conn.execute(
        select(audit_head.c.last_seq, audit_head.c.last_hash)
        .where(audit_head.c.id == 1)
        .with_for_update()
    ).one()
    row: dict[str, Any] = {
        "seq": last_seq + 1, "at": utcnow(), "actor": ctx.actor, "action": action,
        "atena_no": atena_no, "request_id": ctx.request_id, "client_addr": ctx.client_addr,
        "purpose": ctx.purpose, "detail": detail,
    }
    row["prev_hash"] = last_hash
    row["hash"] = entry_hash(last_hash, row)
    conn.execute(insert(audit_log).values(**row))
    conn.execute(update(audit_head).where(audit_head.c.id == 1)
                 .values(last_seq=row["seq"], last_hash=row["hash"]))
    return int(row["seq"])


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


def _entries(conn: Connection, batch: int = 5000) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.seq > last).order_by(audit_log.c.seq).limit(batch)
        ).mappings().all()
        if not rows:
            return
        for r in rows:
            yield dict(r)
        last = rows[-1]["seq"]


def _broken_link(
    conn: Connection, row: dict[str, Any], seen: dict[str, int]
) -> tuple[int, str]:
    """Name the first bad entry when an entry's link to its predecessor is broken."""
    seq, prev = row["seq"], row["prev_hash"]
    if prev == GENESIS:
        return seq, f"entry {seq} claims to be the first entry: reordered"
    if prev in seen:
        return seq, f"entry {seq} follows entry {seen[prev]}, not entry {seq - 1}: reordered"
    later = conn.execute(select(audit_log.c.seq).where(audit_log.c.hash == prev)).first()
    if later is not None:
        return seq, f"entry {seq} follows entry {later[0]}, which comes after it: reordered"
    return seq - 1, (f"entry {seq - 1} was edited and its hash recomputed: "
                     f"entry {seq} no longer follows it")


def verify(db: Database, lg_code: str) -> VerifyResult:
    """Walk the chain and name the first entry that was edited, deleted or reordered."""
    with db.tenant_tx(lg_code) as conn:
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).mappings().first()
        prev_hash, expected_seq, checked = GENESIS, 1, 0
        seen_hashes: dict[str, int] = {}
        for row in _entries(conn):
            seq = row["seq"]
            if seq != expected_seq:
                return VerifyResult(False, checked, expected_seq,
                                    f"entry {expected_seq} is missing (deleted); next is {seq}")
            if row["prev_hash"] != prev_hash:
                bad_seq, problem = _broken_link(conn, row, seen_hashes)
                return VerifyResult(False, min(checked, bad_seq - 1), bad_seq, problem)
            if entry_hash(prev_hash, row) != row["hash"]:
                return VerifyResult(False, checked, seq,
                                    f"entry {seq} was edited: its content no longer matches "
                                    "its hash")
            seen_hashes[row["hash"]] = seq
            prev_hash, expected_seq, checked = row["hash"], seq + 1, checked + 1
        head_seq = 0 if head is None else head["last_seq"]
        if head is None or head_seq != checked or head["last_hash"] != prev_hash:
            return VerifyResult(False, checked, checked + 1,
                                f"entries {checked + 1} to {head_seq} are missing (deleted "
                                "from the end)" if head_seq > checked else
                                "the chain's tip does not match the last entry")
    return VerifyResult(True, checked)


def entries(db: Database, lg_code: str, *, atena_no: str | None = None,
            limit: int = 100) -> list[dict[str, Any]]:
    """The latest entries, newest first (for the operator and the person's own record)."""
    with db.tenant_tx(lg_code) as conn:
        q = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if atena_no is not None:
            q = q.where(audit_log.c.atena_no == atena_no)
        return [dict(r) for r in conn.execute(q).mappings().all()]
