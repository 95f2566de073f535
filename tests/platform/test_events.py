"""Outbox, after-commit delivery, retries, dead letters and the external feed."""

from collections.abc import Iterator
from datetime import date
from typing import ClassVar

import pytest
from sqlalchemy import Connection, select, update

from kumomura.platform import events
from kumomura.platform.events import DomainEvent, Event, event_failures
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from tests.conftest import NAGAI, make_tenant

received: list[tuple[str, int, str]] = []
pytestmark = pytest.mark.usefixtures("only_test_subscribers")


def _emit(db: Database, topic: str, n: int = 1, code: str = "062022") -> list[int]:
    ids = []
    for i in range(n):
        with db.tenant_tx(code) as conn:
            ids.append(events.emit_raw(conn, topic, {"i": i, "氏名": "山形 花子"},
                                   atena_no=f"{i:08d}"))
    return ids


@pytest.fixture
def recorder() -> Iterator[None]:
    received.clear()

    def handle(conn: Connection, event: Event) -> None:
        received.append(("recorder", event.id, event.topic))

    events.subscribe("recorder", ["residents.moved_in", "residents.died"], handle)
    yield
    events.unsubscribe("recorder")


def test_event_exists_only_if_the_change_committed(db: Database, yonezawa: Tenant) -> None:
    with pytest.raises(RuntimeError), db.tenant_tx("062022") as conn:
        events.emit_raw(conn, "residents.moved_in", {"x": 1})
        raise RuntimeError("validation failed after the event was written")
    assert events.feed(db, "062022") == []
    _emit(db, "residents.moved_in")
    assert [e.topic for e in events.feed(db, "062022")] == ["residents.moved_in"]


def test_dispatch_delivers_each_wanted_event_once_in_order(
    db: Database, yonezawa: Tenant, recorder: None
) -> None:
    moved = _emit(db, "residents.moved_in", 3)
    _emit(db, "tax.assessed", 2)  # nobody here wants these
    died = _emit(db, "residents.died")
    report = events.dispatch(db, "062022")
    assert report.per_subscriber["recorder"] == 4
    assert [r[1] for r in received] == [*moved, *died]
    assert events.dispatch(db, "062022").delivered == 0  # offset kept: nothing twice
    more = _emit(db, "residents.moved_in")
    events.dispatch(db, "062022")
    assert [r[1] for r in received][-1] == more[0]


def test_handler_writes_commit_with_the_offset(db: Database, yonezawa: Tenant) -> None:
    """A handler that fails after writing leaves no write behind; the retry writes once."""
    attempts = {"n": 0}

    def handle(conn: Connection, event: Event) -> None:
        events.emit_raw(conn, "nhi.member_added", {"from": event.id})
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise ConnectionError("NHI service down")

    events.subscribe("nhi", ["residents.moved_in"], handle)
    try:
        _emit(db, "residents.moved_in")
        assert events.dispatch(db, "062022").failed == 1
        assert [e.topic for e in events.feed(db, "062022")] == ["residents.moved_in"]
        _expire_backoff(db)
        assert events.dispatch(db, "062022").delivered == 1
        topics = [e.topic for e in events.feed(db, "062022")]
        assert topics == ["residents.moved_in", "nhi.member_added"]
    finally:
        events.unsubscribe("nhi")


def _expire_backoff(db: Database, code: str = "062022") -> None:
    with db.tenant_tx(code) as conn:
        conn.execute(update(event_failures).values(
            next_attempt_at=select(events.outbox.c.created_at)
            .where(events.outbox.c.id == event_failures.c.event_id).scalar_subquery()))


def test_failing_handler_is_retried_then_dead_lettered_and_replayed(
    db: Database, yonezawa: Tenant, recorder: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUMOMURA_EVENT_MAX_ATTEMPTS", "3")
    from kumomura.platform.core.config import get_settings
    get_settings.cache_clear()
    broken = {"on": True}

    def flaky(conn: Connection, event: Event) -> None:
        if broken["on"] and event.payload["i"] == 0:
            raise ValueError(f"cannot map address of event {event.id}")
        received.append(("school", event.id, event.topic))

    events.subscribe("school", ["residents.moved_in"], flaky)
    try:
        first, second = _emit(db, "residents.moved_in", 2)
        assert events.dispatch(db, "062022").failed == 1
        assert events.dispatch(db, "062022").failed == 0  # backoff: not yet retried
        _expire_backoff(db)
        assert events.dispatch(db, "062022").failed == 1
        _expire_backoff(db)
        report = events.dispatch(db, "062022")
        assert report.dead == 1  # third failure: set aside; the subscriber moved on
        school = [r[1] for r in received if r[0] == "school"]
        assert school == [second]
        assert [r[1] for r in received if r[0] == "recorder"] == [first, second]
        dead = events.dead_letters(db, "062022")
        assert [(d["event_id"], d["subscriber"], d["attempts"]) for d in dead] == [
            (first, "school", 3)]
        assert "cannot map address" in dead[0]["last_error"]
        broken["on"] = False
        events.replay(db, "062022", "school", first)
        assert [r[1] for r in received if r[0] == "school"] == [second, first]
        assert events.dead_letters(db, "062022") == []
    finally:
        events.unsubscribe("school")


def test_feed_pages_and_stays_within_the_tenant(db: Database, yonezawa: Tenant) -> None:
    make_tenant(db, NAGAI)
    ids = _emit(db, "residents.moved_in", 5)
    _emit(db, "residents.moved_in", 2, code="062090")
    page = events.feed(db, "062022", after=ids[1], limit=2)
    assert [e.id for e in page] == ids[2:4]
    assert page[0].payload == {"i": 2, "氏名": "山形 花子"}
    assert len(events.feed(db, "062090")) == 2


def test_offsets_are_per_subscriber(db: Database, yonezawa: Tenant, recorder: None) -> None:
    _emit(db, "residents.moved_in", 2)
    events.dispatch(db, "062022")
    late: list[int] = []
    events.subscribe("late", ["residents.moved_in"],
                     lambda conn, e: late.append(e.id))
    try:
        events.dispatch(db, "062022")
        assert len(late) == 2  # a new subscriber starts from the beginning
        assert len([r for r in received if r[0] == "recorder"]) == 2
    finally:
        events.unsubscribe("late")


class Moved(DomainEvent):
    name: ClassVar[str] = "test.moved"
    schema_version: ClassVar[int] = 2
    effective_on: date
    atena_no: str


def test_a_payload_that_does_not_validate_is_a_dead_letter_naming_the_field(
        db: Database, yonezawa: Tenant) -> None:
    got: list[Moved] = []
    events.subscribe_typed("typed", {Moved: lambda _c, event, _e: got.append(event)})
    try:
        with db.tenant_tx("062022") as conn:
            events.emit(conn, Moved(effective_on=date(2026, 4, 1), atena_no="1"))
            bad = events.emit_raw(conn, "test.moved", {"effective_on": "4月1日",
                                                       "atena_no": "2"}, version=2)
            events.emit(conn, Moved(effective_on=date(2026, 4, 2), atena_no="3"))
        report = events.dispatch(db, "062022")
        assert (report.delivered, report.dead, report.failed) == (2, 1, 0)  # no retries
        assert [(e.atena_no, e.effective_on) for e in got] == [
            ("1", date(2026, 4, 1)), ("3", date(2026, 4, 2))]
        dead = events.dead_letters(db, "062022")
        assert [(d["event_id"], d["attempts"]) for d in dead] == [(bad, 1)]
        assert "effective_on" in dead[0]["last_error"]
        assert "test.moved v2" in dead[0]["last_error"]
        assert [e.version for e in events.feed(db, "062022")] == [2, 2, 2]
    finally:
        events.unsubscribe("typed")
