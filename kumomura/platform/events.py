"""Linkage (庁内データ連携): a per-tenant transactional outbox and its subscribers.

A service writes its event into the tenant's ``outbox`` in the same transaction as the
change, so an event exists if and only if the change was committed. After commit a
dispatcher hands each event to every subscribing module, in order, in a transaction that
also advances the subscriber's offset: a handler's database writes happen exactly once,
anything else it does must be idempotent (delivery is at-least-once). A handler that keeps
failing is retried with backoff up to a bound, then its event is set aside as a dead
letter that an operator can list and replay; the subscriber moves on meanwhile.
Other systems read the same outbox as a feed (``GET /api/v1/t/{lg_code}/events``).

Events are typed: a module declares each event it publishes as a ``DomainEvent`` (a
pydantic model with a name and a schema version) in its ``events.py``, and maps the
types it subscribes to onto handlers in its manifest. The outbox and the feed carry the
type's name (the topic) and version; a payload that does not validate against the
subscriber's type is set aside at once as a dead letter naming the field.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from kumomura.platform.core.config import get_settings
from kumomura.platform.core.errors import NotFound
from kumomura.platform.core.messages import problems
from kumomura.platform.core.timeutil import Timestamp, as_utc, utcnow
from kumomura.platform.storage.db import Database, tenant_metadata

log = logging.getLogger(__name__)

outbox = Table(
    "outbox",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(128), nullable=False, index=True),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("payload", JSON, nullable=False),
    Column("atena_no", String(16)),
    Column("request_id", Text),
    Column("created_at", Timestamp(), nullable=False),
)

event_offsets = Table(
    "event_offsets",
    tenant_metadata,
    Column("subscriber", String(128), primary_key=True),
    Column("last_event_id", Integer, nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
)

event_failures = Table(
    "event_failures",
    tenant_metadata,
    Column("subscriber", String(128), primary_key=True),
    Column("event_id", Integer, primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # retrying | dead | replayed
    Column("last_error", Text, nullable=False),
    Column("next_attempt_at", Timestamp(), nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
)


class DomainEvent(BaseModel):
    """Base of every event type: ``name`` is the topic on the outbox and the feed,
    ``schema_version`` the payload's version (raised when a field changes meaning or is
    removed; a new optional field keeps the version)."""

    model_config = ConfigDict(frozen=True)
    name: ClassVar[str]
    schema_version: ClassVar[int] = 1


@dataclass(frozen=True)
class Event:
    """An event as stored: the envelope and its payload as written."""

    id: int
    topic: str
    payload: dict[str, Any]
    atena_no: str | None
    request_id: str | None
    created_at: datetime
    version: int = 1


E = TypeVar("E", bound=DomainEvent, contravariant=True)


class TypedHandler(Protocol[E]):
    """A subscriber's handler: the validated event and its envelope, in the tenant's
    transaction that also advances the subscriber's offset."""

    def __call__(self, conn: Connection, event: E, envelope: Event, /) -> None: ...


Handler = Callable[[Connection, Event], None]


class BadPayload(Exception):
    """A payload that does not validate against the subscriber's event type: retrying
    cannot help, so it becomes a dead letter at once."""


@dataclass(frozen=True)
class Subscriber:
    """A module's interest in some topics; ``handler`` runs in the tenant's transaction."""

    name: str
    topics: frozenset[str]
    handler: Handler

    def wants(self, topic: str) -> bool:
        return topic in self.topics or "*" in self.topics


_SUBSCRIBERS: dict[str, Subscriber] = {}


def subscribe(name: str, topics: list[str], handler: Handler) -> Subscriber:
    """Register a subscriber on raw events (the platform's own and the tests')."""
    sub = Subscriber(name, frozenset(topics), handler)
    _SUBSCRIBERS[name] = sub
    return sub


def subscribe_typed(name: str, handlers: Mapping[type[DomainEvent], TypedHandler[Any]],
                    ) -> Subscriber:
    """Register a module's handlers (from its manifest): each event is validated into its
    type, then handed to the handler mapped to that type."""
    by_topic = {kind.name: (kind, handler) for kind, handler in handlers.items()}

    def handle(conn: Connection, event: Event) -> None:
        kind, handler = by_topic[event.topic]
        try:
            typed = kind.model_validate(event.payload)
        except ValidationError as exc:
            named = "; ".join(f"{p.field}: {p.message}" for p in problems(exc))
            raise BadPayload(f"{event.topic} v{event.version}: {named}") from None
        handler(conn, typed, event)

    sub = Subscriber(name, frozenset(by_topic), handle)
    _SUBSCRIBERS[name] = sub
    return sub


def unsubscribe(name: str) -> None:
    _SUBSCRIBERS.pop(name, None)


def subscribers() -> list[Subscriber]:
    return [_SUBSCRIBERS[k] for k in sorted(_SUBSCRIBERS)]


def emit(conn: Connection, event: DomainEvent, *, atena_no: str | None = None,
         request_id: str | None = None) -> int:
    """Write a typed event in the caller's tenant transaction; return its id."""
    return emit_raw(conn, event.name, event.model_dump(mode="json"), version=event.schema_version,
                    atena_no=atena_no, request_id=request_id)


def emit_raw(conn: Connection, topic: str, payload: dict[str, Any], *, version: int = 1,
             atena_no: str | None = None, request_id: str | None = None) -> int:
    """Write an event whose type the platform does not know (tests, foreign feeds)."""
    result = conn.execute(insert(outbox).values(
        topic=topic, version=version, payload=payload, atena_no=atena_no,
        request_id=request_id, created_at=utcnow()).returning(outbox.c.id))
    return int(result.scalar_one())


def _to_event(row: Any) -> Event:
    return Event(id=row.id, topic=row.topic, payload=row.payload, atena_no=row.atena_no,
                 request_id=row.request_id, created_at=row.created_at, version=row.version)


def feed(db: Database, lg_code: str, *, after: int = 0, limit: int = 100) -> list[Event]:
    """Events after an id, oldest first: what external systems poll."""
    with db.tenant_tx(lg_code) as conn:
        rows = conn.execute(
            select(outbox).where(outbox.c.id > after).order_by(outbox.c.id).limit(limit)
        ).all()
    return [_to_event(r) for r in rows]


@dataclass
class DispatchReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    per_subscriber: dict[str, int] = field(default_factory=dict)


def _ensure_offset(db: Database, lg_code: str, name: str) -> None:
    try:
        with db.tenant_tx(lg_code) as conn:
            exists = conn.execute(
                select(event_offsets.c.subscriber).where(event_offsets.c.subscriber == name)
            ).first()
            if exists is None:
                conn.execute(insert(event_offsets).values(
                    subscriber=name, last_event_id=0, updated_at=utcnow()))
    except IntegrityError:
        pass  # another dispatcher created it first


def _lock_offset(conn: Connection, name: str) -> int:
    row = conn.execute(
        select(event_offsets.c.last_event_id)
        .where(event_offsets.c.subscriber == name).with_for_update()
    ).scalar_one()
    return int(row)


def _advance(conn: Connection, name: str, to: int) -> None:
    conn.execute(update(event_offsets).where(event_offsets.c.subscriber == name)
                 .values(last_event_id=to, updated_at=utcnow()))


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 300))


def _record_failure(db: Database, lg_code: str, sub: Subscriber, event: Event,
                    error: str, *, hopeless: bool = False) -> bool:
    """Count a failed delivery; return True if the event is now a dead letter (at once
    when ``hopeless``: a payload that does not validate never will)."""
    max_attempts = 1 if hopeless else get_settings().event_max_attempts
    now = utcnow()
    with db.tenant_tx(lg_code) as conn:
        _lock_offset(conn, sub.name)
        row = conn.execute(select(event_failures.c.attempts).where(
            event_failures.c.subscriber == sub.name, event_failures.c.event_id == event.id)
        ).first()
        attempts = 1 if row is None else row[0] + 1
        dead = attempts >= max_attempts
        values = {"attempts": attempts, "status": "dead" if dead else "retrying",
                  "last_error": error[-4000:], "next_attempt_at": now + _backoff(attempts),
                  "updated_at": now}
        if row is None:
            conn.execute(insert(event_failures).values(
                subscriber=sub.name, event_id=event.id, **values))
        else:
            conn.execute(update(event_failures).where(
                event_failures.c.subscriber == sub.name,
                event_failures.c.event_id == event.id).values(**values))
        if dead:
            _advance(conn, sub.name, event.id)  # set aside; the subscriber moves on
    return dead


def _retry_times(conn: Connection, sub: Subscriber) -> dict[int, datetime]:
    """When each of the subscriber's failed events may be tried again."""
    rows = conn.execute(select(event_failures.c.event_id, event_failures.c.next_attempt_at)
                        .where(event_failures.c.subscriber == sub.name,
                               event_failures.c.status == "retrying")).all()
    return {event_id: as_utc(due) for event_id, due in rows}


def _deliver(db: Database, lg_code: str, sub: Subscriber, event: Event) -> bool:
    """Run the handler and advance the offset in one transaction; False if already done."""
    with db.tenant_tx(lg_code) as conn:
        if _lock_offset(conn, sub.name) >= event.id:
            return False  # a concurrent dispatcher delivered it
        sub.handler(conn, event)
        _advance(conn, sub.name, event.id)
        conn.execute(delete(event_failures).where(
            event_failures.c.subscriber == sub.name, event_failures.c.event_id == event.id,
            event_failures.c.status == "retrying"))
    return True


def _dispatch_one(db: Database, lg_code: str, sub: Subscriber, upto: int, batch: int,
                  report: DispatchReport) -> None:
    _ensure_offset(db, lg_code, sub.name)
    while True:
        with db.tenant_tx(lg_code) as conn:
            offset = conn.execute(select(event_offsets.c.last_event_id).where(
                event_offsets.c.subscriber == sub.name)).scalar_one()
            rows = conn.execute(
                select(outbox).where(outbox.c.id > offset, outbox.c.id <= upto)
                .order_by(outbox.c.id).limit(batch)).all()
            retry_at = _retry_times(conn, sub)
        if not rows:
            return
        now = utcnow()
        for event in map(_to_event, rows):
            if not sub.wants(event.topic):
                continue
            if retry_at.get(event.id, now) > now:
                return  # failed recently: wait for its backoff, keep the order
            try:
                delivered = _deliver(db, lg_code, sub, event)
            except BadPayload as exc:
                log.warning("event %s to %s does not validate in %s", event.id, sub.name,
                            lg_code)
                _record_failure(db, lg_code, sub, event, str(exc), hopeless=True)
                report.dead += 1
                continue
            except Exception:
                error = traceback.format_exc()
                log.warning("event %s to %s failed in %s", event.id, sub.name, lg_code)
                if _record_failure(db, lg_code, sub, event, error):
                    report.dead += 1
                    continue
                report.failed += 1
                return  # keep order: retry this event before any later one
            if delivered:
                report.delivered += 1
                report.per_subscriber[sub.name] = report.per_subscriber.get(sub.name, 0) + 1
        with db.tenant_tx(lg_code) as conn:
            current = _lock_offset(conn, sub.name)
            last_scanned = rows[-1].id
            if current < last_scanned:
                _advance(conn, sub.name, last_scanned)  # events of other topics


def dispatch(db: Database, lg_code: str, *, batch: int = 500) -> DispatchReport:
    """Deliver every committed event of one tenant to every subscriber that wants it."""
    report = DispatchReport()
    with db.tenant_tx(lg_code) as conn:
        upto = conn.execute(select(func.coalesce(func.max(outbox.c.id), 0))).scalar_one()
    for sub in subscribers():
        _dispatch_one(db, lg_code, sub, int(upto), batch, report)
    return report


def dead_letters(db: Database, lg_code: str) -> list[dict[str, Any]]:
    with db.tenant_tx(lg_code) as conn:
        rows = conn.execute(
            select(event_failures, outbox.c.topic)
            .join(outbox, outbox.c.id == event_failures.c.event_id)
            .where(event_failures.c.status == "dead")
            .order_by(event_failures.c.event_id, event_failures.c.subscriber)
        ).mappings().all()
    return [dict(r) for r in rows]


def replay(db: Database, lg_code: str, subscriber: str, event_id: int) -> None:
    """Deliver a dead letter again; on success it is marked replayed, else it stays dead."""
    sub = _SUBSCRIBERS.get(subscriber)
    if sub is None:
        raise NotFound(f"subscriber {subscriber!r} is not registered", field="subscriber")
    with db.tenant_tx(lg_code) as conn:
        row = conn.execute(select(outbox).join(
            event_failures, outbox.c.id == event_failures.c.event_id).where(
            event_failures.c.subscriber == subscriber, event_failures.c.event_id == event_id,
            event_failures.c.status == "dead")).first()
        if row is None:
            raise NotFound(f"no dead letter {event_id} for {subscriber}", field="event_id")
        event = _to_event(row)
    try:
        with db.tenant_tx(lg_code) as conn:
            sub.handler(conn, event)
            conn.execute(update(event_failures).where(
                event_failures.c.subscriber == subscriber,
                event_failures.c.event_id == event_id)
                .values(status="replayed", updated_at=utcnow()))
    except Exception:
        with db.tenant_tx(lg_code) as conn:
            conn.execute(update(event_failures).where(
                event_failures.c.subscriber == subscriber,
                event_failures.c.event_id == event_id).values(
                attempts=event_failures.c.attempts + 1,
                last_error=traceback.format_exc()[-4000:], updated_at=utcnow()))
        raise


def dispatch_until(db: Database, codes: Callable[[Database], list[str]],
                   stop: threading.Event, interval: float) -> None:
    """Dispatch the events of every tenant ``codes`` names every ``interval`` seconds
    until ``stop`` is set (workers on PostgreSQL; the web process itself on SQLite)."""
    while not stop.wait(interval):
        for code in codes(db):
            try:
                dispatch(db, code)
            except Exception:
                log.exception("event dispatch failed for %s", code)
