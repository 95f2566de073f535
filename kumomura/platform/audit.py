"""Per-tenant append-only audit log with a SHA-256 hash chain, sealed after the fact.

An entry is written in the caller's transaction into ``audit_pending`` (no action
without its trace, no trace of an action that was rolled back), a plain insert that
waits for no other writer. A sealer then chains pending entries in the order it finds
them, as transparency logs do: each sealed entry in ``audit_log`` stores the previous
entry's hash and its own over its content, so an edited, deleted or reordered entry
breaks the chain at a place ``verify`` can name. Only the sealer locks the chain's tip,
for the moment it takes to chain a batch; the serving processes seal every second
(``KUMOMURA_AUDIT_SEAL_SECONDS``) and every reader of the log seals first.

On PostgreSQL the municipality's login may only INSERT into both tables; the sealed
entries leave ``audit_pending`` through the schema's ``kumomura_audit_sealed`` function,
which deletes an entry only when the same content is in the chain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
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
    cast,
    delete,
    insert,
    or_,
    select,
    text,
    update,
)

from kumomura.platform.core.timeutil import Timestamp, as_utc, utcnow
from kumomura.platform.storage.db import Database, tenant_metadata, tenant_schema
from kumomura.platform.storage.logins import (
    AUDIT_CHAIN,
    AUDIT_CONTENT,
    AUDIT_PENDING,
    SEALED_FUNCTION,
)

log = logging.getLogger(__name__)
SEAL_BATCH = 5000

GENESIS = "0" * 64

def _entry() -> list[Column[Any]]:
    """What an entry says, the same in both tables (fresh columns for each)."""
    return [Column("at", Timestamp(), nullable=False), Column("actor", Text, nullable=False),
            Column("action", Text, nullable=False), Column("atena_no", String(16)),
            Column("request_id", Text), Column("client_addr", Text), Column("purpose", Text),
            Column("detail", JSON)]


audit_log = Table(
    AUDIT_CHAIN,
    tenant_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    *_entry(),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    info={"append_only": True, "kept": True},
)
"""The sealed chain."""

CONTENT = (*AUDIT_CONTENT, "detail")
"""What an entry says (the chain adds its place and hashes)."""

audit_pending = Table(
    AUDIT_PENDING,
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_entry(),
    info={"append_only": True, "kept": True},
)
"""Entries written and not yet sealed into the chain (usually for under a second)."""

audit_head = Table(
    "audit_head",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
    info={"kept": True},
)
"""One row: the chain's tip. Only the sealer locks it, for the length of one batch."""


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
) -> None:
    """Append one entry in the caller's tenant transaction (sealed into the chain
    shortly after it commits)."""
    conn.execute(insert(audit_pending).values(
        at=utcnow(), actor=ctx.actor, action=action, atena_no=atena_no,
        request_id=ctx.request_id, client_addr=ctx.client_addr, purpose=ctx.purpose,
        detail=detail))


def has_entries(conn: Connection) -> bool:
    """Whether the municipality's trail has any entry, sealed or pending."""
    return any(conn.execute(select(table.c[column]).limit(1)).first() is not None
               for table, column in ((audit_log, "seq"), (audit_pending, "id")))


def _seal_batch(conn: Connection, lg_code: str, *, wait: bool) -> int:
    head = select(audit_head.c.last_seq, audit_head.c.last_hash).where(audit_head.c.id == 1)
    tip = conn.execute(head.with_for_update(skip_locked=not wait)).first()
    if tip is None:  # another sealer has the tip: it seals these too
        return 0
    pending = conn.execute(select(audit_pending).order_by(audit_pending.c.id)
                           .limit(SEAL_BATCH)).mappings().all()
    if not pending:
        return 0
    last_seq, last_hash = tip
    sealed = []
    for entry in pending:
        last_seq += 1
        row = {"seq": last_seq, **{c: entry[c] for c in CONTENT}, "prev_hash": last_hash}
        row["hash"] = last_hash = entry_hash(row["prev_hash"], row)
        sealed.append(row)
    conn.execute(insert(audit_log), sealed)
    conn.execute(update(audit_head).where(audit_head.c.id == 1)
                 .values(last_seq=last_seq, last_hash=last_hash))
    ids = [int(e["id"]) for e in pending]
    if conn.dialect.name == "postgresql":
        conn.execute(text(f'SELECT "{tenant_schema(lg_code)}".{SEALED_FUNCTION}(:ids, :seqs)'),
                     {"ids": ids, "seqs": [r["seq"] for r in sealed]})
    else:
        conn.execute(delete(audit_pending).where(audit_pending.c.id.in_(ids)))
    return len(sealed)


def seal(db: Database, lg_code: str, *, wait: bool = True) -> int:
    """Chain every pending entry of a municipality; how many. ``wait=False`` (the
    background sealer) leaves them to a sealer already at work."""
    total = 0
    while True:
        with db.tenant_tx(lg_code) as conn:
            done = _seal_batch(conn, lg_code, wait=wait)
        total += done
        if done < SEAL_BATCH:
            return total


def seal_until(db: Database, codes: Callable[[Database], list[str]],
               stop: threading.Event, interval: float) -> None:
    """Seal every municipality's pending entries every ``interval`` seconds until
    ``stop`` is set (every serving process runs one)."""
    while not stop.wait(interval):
        for code in codes(db):
            try:
                seal(db, code, wait=False)
            except Exception:
                log.exception("audit sealing failed for %s", code)


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
    """Seal what is pending, then walk the chain and name the first entry that was
    edited, deleted or reordered."""
    seal(db, lg_code)
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
    """The latest entries, newest first (for the operator and the person's own record).
    A person's are those about them and those of a list that showed them (a search, a
    list of gifts: their number in the entry's ``atena_nos``)."""
    seal(db, lg_code)
    with db.tenant_tx(lg_code) as conn:
        q = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if atena_no is not None:
            listed = cast(audit_log.c.detail, Text).contains(f'"{atena_no}"', autoescape=True)
            q = q.where(or_(audit_log.c.atena_no == atena_no, listed))
        return [dict(r) for r in conn.execute(q).mappings().all()]
