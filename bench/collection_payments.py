"""Daily 消込 on PostgreSQL: N charges, then a payment file of N rows matched by 納付番号
and applied, beside the floor measured in the same run: COPY of the same payment rows
into a copy of the payments table (with its indexes); and beside COPY of the payments
and their allocations into the module's own tables, foreign keys checked.

    .venv/bin/python -m bench.collection_payments [--payments 20000]

The charges are taken through the module's own handler (as from the inhabitant tax's
events); the file goes through ``payments.import_file``, as `collection import-payments`
runs it. Printed as a ratio to the floor.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console

from bench.scratch import scratch_database
from kumomura import catalog
from kumomura.collection import payments, service
from kumomura.inhabitant_tax.events import Charged
from kumomura.platform import events
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.deployment import upgrade_platform
from kumomura.platform.levies import ChargeLine, payment_number
from kumomura.platform.storage.db import Database, tenant_schema
from kumomura.platform.tenancy.tenants import add_tenant

console = Console(width=140)
CODE = "062022"
CTX = AuditContext(actor="bench")
DUE = date(2026, 6, 30)


def charge(db: Database, people: int) -> list[str]:
    """First installments of ``people`` persons, 500 lines an event, as published."""
    return charge_people(db, [f"{n + 1:015d}" for n in range(people)])


def charge_people(db: Database, atenas: list[str]) -> list[str]:
    """A first installment for each of these persons, 500 lines an event."""
    numbers = []
    for start in range(0, len(atenas), 500):
        lines = []
        for n in range(start, min(start + 500, len(atenas))):
            atena = atenas[n]
            number = payment_number("inhabitant_tax", 2026, atena, 1)
            numbers.append(number)
            lines.append(ChargeLine(payer_kind="person", payer_no=atena, atena_no=atena,
                                    installment=1, label="第1期", due_date=DUE,
                                    amount=25_000 + n % 7 * 1_000, payment_no=number))
        with db.tenant_tx(CODE) as conn:
            event = Charged(fiscal_year=2026, reason="initial", lines=lines)
            event_id = events.emit(conn, event)
            envelope = events.Event(id=event_id, topic=event.name, payload={}, atena_no=None,
                                    request_id=None, created_at=utcnow())
            service.take_charges(conn, event, envelope)
    return numbers


def payment_file(numbers: list[str]) -> bytes:
    rows = [f"{no},2026-06-{20 + i % 10:02d},{25_000 + i % 7 * 1_000}"
            for i, no in enumerate(numbers)]
    return ("納付番号,納付日,納付額\n" + "\n".join(rows) + "\n").encode()


def floor(db: Database, content: bytes) -> float:
    """COPY of the same payment rows, as the import writes them, into a copy of the
    payments table with its indexes."""
    schema = tenant_schema(CODE)
    rows = [line.split(b",") for line in content.splitlines()[1:]]
    body = b"".join(b"%d,1,%d,%s,%s,%s,bank,applied,person,%s\n"
                    % (i + 1, i + 2, paid_on, amount, number, number[4:19])
                    for i, (number, paid_on, amount) in enumerate(rows))
    with db.tenant_admin_tx(CODE) as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute(f'CREATE TABLE "{schema}".floor_payments (LIKE "{schema}".payments '
                        "INCLUDING ALL)")
            started = time.perf_counter()
            with cur.copy(f'COPY "{schema}".floor_payments (id, file_id, line, paid_on, '
                          "amount, payment_no, channel, status, payer_kind, payer_no) "
                          "FROM STDIN (FORMAT csv)") as copy:
                copy.write(body)
            seconds = time.perf_counter() - started
            cur.execute(f'DROP TABLE "{schema}".floor_payments')
    return seconds


def floor_with_keys(db: Database, content: bytes) -> float:
    """COPY of the same payments and of their allocations into the module's own tables,
    with their foreign keys checked as the import's are (then removed again): what
    writing these rows costs at the least."""
    schema = tenant_schema(CODE)
    rows = [line.split(b",") for line in content.splitlines()[1:]]
    first = 1_000_000_000
    with db.tenant_admin_tx(CODE) as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute(f'SELECT payment_no, id FROM "{schema}".charges')
            ids = {no.encode(): charge_id for no, charge_id in cur.fetchall()}
            cur.execute(f"INSERT INTO \"{schema}\".payment_files (id, name, sha256, kind, "
                        "records, total, imported_by, imported_at) VALUES (%s, 'floor', "
                        "'floor', 'counter_csv', 0, 0, 'bench', now())", (first,))
            paid = b"".join(b"%d,%d,%d,%s,%s,%s,bank,applied,person,%s\n"
                            % (first + i, first, i + 2, paid_on, amount, number, number[4:19])
                            for i, (number, paid_on, amount) in enumerate(rows))
            used = b"".join(b"%d,%d,tax,%s,%s,2026-07-01T00:00:00+00:00\n"
                            % (first + i, ids[number], amount, paid_on)
                            for i, (number, paid_on, amount) in enumerate(rows))
            started = time.perf_counter()
            with cur.copy(f'COPY "{schema}".payments (id, file_id, line, paid_on, amount, '
                          "payment_no, channel, status, payer_kind, payer_no) FROM STDIN "
                          "(FORMAT csv)") as copy:
                copy.write(paid)
            with cur.copy(f'COPY "{schema}".allocations (payment_id, charge_id, part, amount, '
                          "applied_on, applied_at) FROM STDIN (FORMAT csv)") as copy:
                copy.write(used)
            seconds = time.perf_counter() - started
            cur.execute(f'DELETE FROM "{schema}".allocations WHERE payment_id >= %s', (first,))
            cur.execute(f'DELETE FROM "{schema}".payments WHERE id >= %s', (first,))
            cur.execute(f'DELETE FROM "{schema}".payment_files WHERE id = %s', (first,))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=20_000)
    args = parser.parse_args()
    catalog.install()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        db = Database(url, Path(tmp))
        try:
            upgrade_platform(db)
            add_tenant(db, code=CODE, name="米沢市", prefecture="山形県", population=90_000,
                       actor="bench")
            started = time.perf_counter()
            numbers = charge(db, args.payments)
            charge_seconds = time.perf_counter() - started
            content = payment_file(numbers)
            floor_seconds = floor(db, content)
            keyed_seconds = floor_with_keys(db, content)
            started = time.perf_counter()
            with db.tenant_tx(CODE) as conn:
                report = payments.import_file(conn, CTX, "bench.csv", content)
            seconds = time.perf_counter() - started
            assert report.applied == args.payments, report.as_dict()
        finally:
            db.dispose()
    n = args.payments
    console.print(f"charges taken:        {n / charge_seconds:10,.0f} lines/s "
                  f"({charge_seconds:.1f} s)")
    console.print(f"COPY (floor):         {n / floor_seconds:10,.0f} rows/s "
                  f"({floor_seconds:.2f} s)")
    console.print(f"COPY of payments and allocations, keys checked: {n / keyed_seconds:10,.0f} "
                  f"rows/s ({keyed_seconds:.2f} s, {keyed_seconds / floor_seconds:.1f}x the "
                  "floor)")
    console.print(f"消込 import_file:     {n / seconds:10,.0f} rows/s "
                  f"({seconds:.1f} s, {seconds / floor_seconds:.1f}x the floor, "
                  f"{seconds / keyed_seconds:.1f}x the keyed COPY)")


if __name__ == "__main__":
    main()
