"""Counter searches at scale: one tenant with N synthetic residents on PostgreSQL, many
concurrent clients over HTTP (a real uvicorn server), against the same SQL run directly.

Prints p50/p95/p99 of kana search, record lookup and certificate PDF over HTTP, and of the
bare SQL of search and lookup with the same concurrency (the floor), as ratios.

    .venv/bin/python -m bench.residents_search [--people 1000000] [--clients 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import make_url

from bench.scratch import scratch_database
from kumomura import catalog
from kumomura.platform import params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.japanese import prefix_bounds
from kumomura.platform.deployment import upgrade_platform
from kumomura.platform.identity import auth
from kumomura.platform.identity.auth import Scope
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import add_tenant
from kumomura.residents import public as residents

CODE = "062022"
CTX = AuditContext(actor="bench")
console = Console(width=160)

SEARCH_SQL = (
    "SELECT atena_no, name, kana, birth_date, sex, status, household_no, relationship, "
    "address_town, address_line, removed_on, removal_reason FROM t_062022.resident_versions "
    "WHERE valid_to IS NULL AND kana_key >= %s AND kana_key < %s AND status = 'resident' "
    "ORDER BY kana_key, birth_date, atena_no LIMIT 50")
RECORD_SQL = (
    "SELECT v.*, c.change_type, c.notified_on FROM t_062022.resident_versions v "
    "JOIN t_062022.changes c ON c.change_id = v.change_id WHERE v.atena_no = %s "
    "ORDER BY v.version_no")


SERVER_MS: list[float] = []
"""The app's own time per GET (its Server-Timing header), to tell it from queueing."""


def report(label: str, result: tuple[list[float], float]) -> None:
    samples, wall = result
    p50, p95, p99 = percentiles(samples)
    inside = ""
    if SERVER_MS:
        s50, s95, s99 = (q / 1000 for q in percentiles(SERVER_MS))
        inside = f"  (in the app: p50 {s50:.1f} p95 {s95:.1f} p99 {s99:.1f} ms)"
        SERVER_MS.clear()
    console.print(f"{label:40} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {p99:7.1f} ms  "
                  f"{len(samples) / wall:7,.0f} req/s{inside}")


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49] * 1000, q[94] * 1000, q[98] * 1000


def hammer(clients: int, work: list[Any], call: Callable[[Any, Any], None],
           connect: Callable[[], Any], think: float = 0.0) -> tuple[list[float], float]:
    """Run every item of ``work`` through ``clients`` threads, each with its own connection
    and a random pause of ``think`` seconds on average between its requests (a clerk
    reading the screen; 0: back to back, which measures capacity, not latency);
    return the latencies and the wall time."""
    latencies: list[float] = []
    lock = threading.Lock()
    position = iter(range(len(work)))

    def client() -> None:
        conn = connect()
        pause = random.Random()
        mine: list[float] = []
        while True:
            if think:
                time.sleep(pause.expovariate(1 / think))
            with lock:
                i = next(position, None)
            if i is None:
                break
            started = time.perf_counter()
            call(conn, work[i])
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(client) for _ in range(clients)]:
            f.result()
    return latencies, time.perf_counter() - started


def _send(conn: http.client.HTTPConnection, method: str, path: str, body: str | None,
          headers: dict[str, str]) -> http.client.HTTPResponse:
    """One request; a keep-alive connection the server closed while idle is reopened, as
    a browser does."""
    try:
        conn.request(method, path, body=body, headers=headers)
        return conn.getresponse()
    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
        conn.close()
        conn.request(method, path, body=body, headers=headers)
        return conn.getresponse()


def http_get(token: str, port: int) -> tuple[Callable[[], Any], Callable[[Any, Any], None]]:
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "bench"}

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(conn: http.client.HTTPConnection, path: str) -> None:
        response = _send(conn, "GET", path, None, headers)
        body = response.read()
        SERVER_MS.append(float(response.headers["Server-Timing"].split("dur=")[1]))
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")

    return connect, call


def http_post_pdf(token: str, port: int) -> tuple[Callable[[], Any], Callable[[Any, Any], None]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(conn: http.client.HTTPConnection, atena_no: str) -> None:
        body = json.dumps({"kind": "copy", "atena_nos": [atena_no], "applicant_kind": "self",
                           "items": ["householder"], "purpose": "bench"})
        response = _send(conn, "POST", f"/api/v1/t/{CODE}/residents/certificates", body,
                         headers)
        pdf = response.read()
        if response.status != 200 or not pdf.startswith(b"%PDF-"):
            raise RuntimeError(f"certificate: {response.status} {pdf[:200]!r}")

    return connect, call


def sql_runner(dsn: str, sql: str) -> tuple[Callable[[], Any], Callable[[Any, Any], None]]:
    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(dsn, autocommit=True)

    def call(conn: psycopg.Connection[Any], args: tuple[Any, ...]) -> None:
        conn.execute(sql, args).fetchall()

    return connect, call


def setup(db: Database, people: int) -> str:
    upgrade_platform(db)
    add_tenant(db, code=CODE, name="米沢市", prefecture="山形県", population=people, actor="bench")
    with db.tenant_tx(CODE) as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "雲村 太郎")):
            params.set_value(conn, "residents", name, value, effective_from=date(2024, 4, 1),
                             ctx=CTX, reason="bench")
    auth.create_user(db, username="bench_clerk", password="bench-password-1",
                     display_name="bench", scope=Scope.TENANT, lg_code=CODE,
                     role_names=["counter_clerk"])
    return auth.issue_token(db, "bench_clerk", "bench", days=1)


def load(db: Database, people: int) -> float:
    population = residents.Population(seed=2026)
    started = time.perf_counter()
    with Progress(console=console) as bar:
        task = bar.add_task(f"loading {people:,} residents", total=people)
        residents.load_households(db, CODE, population.households(people, date(2026, 11, 1),
                                                  office="山形県米沢市"),
                  on=date(2026, 11, 1), ctx=CTX, source="bench",
                  progress=lambda n: bar.advance(task, n))
    with db.owner_engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE t_062022.resident_versions")
    return time.perf_counter() - started


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KUMOMURA_DATABASE_URL": url, "KUMOMURA_DB_POOL_SIZE": "15"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "kumomura.web.app:create_app", "--factory",
         "--port", str(port), "--workers", str(workers), "--no-access-log",
         "--timeout-keep-alive", "30",
         "--log-level", "warning"], env=env)
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--certificates", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--think", type=float, default=0.5,
                        help="mean seconds between one client's searches or lookups")
    parser.add_argument("--cert-think", type=float, default=5.0,
                        help="mean seconds between one client's certificates (a counter "
                             "issues one per applicant, minutes apart; 5 s is generous)")
    args = parser.parse_args()
    catalog.install()
    with scratch_database() as url:
        run(args, url)


def run(args: argparse.Namespace, url: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    data_dir = Path(tempfile.mkdtemp(prefix="kmbench-"))  # the logins' key, shared
    os.environ["KUMOMURA_DATA_DIR"] = str(data_dir)       # with the server it starts
    db = Database(url, data_dir)
    server = None
    try:
        token = setup(db, args.people)
        load_seconds = load(db, args.people)
        with db.owner_engine.connect() as conn:
            sample = conn.exec_driver_sql(
                "SELECT atena_no, kana_key FROM t_062022.resident_versions "
                f"TABLESAMPLE SYSTEM (1) LIMIT {args.requests}").all()
        rng = random.Random(1)
        atena_nos = [a for a, _ in sample]
        prefixes = [k[: rng.choice((3, 4, 5))] for _, k in sample]
        server = start_server(url, args.port, args.workers)
        connect, call = http_get(token, args.port)
        base = f"/api/v1/t/{CODE}/residents"
        from urllib.parse import quote

        results: dict[str, tuple[list[float], float]] = {}
        n, think = args.clients, args.think
        searches = [f"{base}?kana={quote(p)}" for p in prefixes]
        records = [f"{base}/{a}" for a in atena_nos]
        s_connect, s_call = sql_runner(dsn, SEARCH_SQL)
        r_connect, r_call = sql_runner(dsn, RECORD_SQL)
        c_connect, c_call = http_post_pdf(token, args.port)
        phases: list[tuple[str, Callable[[], tuple[list[float], float]]]] = [
            ("kana search (HTTP)", lambda: hammer(n, searches, call, connect, think)),
            ("kana search (SQL floor)", lambda: hammer(
                n, [prefix_bounds(p) for p in prefixes], s_call, s_connect, think)),
            ("record lookup (HTTP)", lambda: hammer(n, records, call, connect, think)),
            ("record lookup (SQL floor)", lambda: hammer(
                n, [(a,) for a in atena_nos], r_call, r_connect, think)),
            ("certificate PDF (HTTP)", lambda: hammer(
                n, atena_nos[: args.certificates], c_call, c_connect, args.cert_think)),
            ("kana search (HTTP), back to back", lambda: hammer(n, searches, call, connect)),
            ("record lookup (HTTP), back to back", lambda: hammer(n, records, call, connect)),
            ("certificate PDF (HTTP), back to back", lambda: hammer(
                n, atena_nos[: args.certificates], c_call, c_connect)),
        ]
        hammer(n, searches[: n * 4], call, connect)  # warm up: server pools, caches
        SERVER_MS.clear()
        for label, run in phases:
            results[label] = run()
            report(label, results[label])
        hits = []
        with psycopg.connect(dsn) as conn:
            for p in prefixes[:200]:
                hits.append(len(conn.execute(SEARCH_SQL, prefix_bounds(p)).fetchall()))
        table = Table("work", "p50 ms", "p95 ms", "p99 ms", "req/s")
        for label, (samples, wall) in results.items():
            p50, p95, p99 = percentiles(samples)
            table.add_row(label, f"{p50:.1f}", f"{p95:.1f}", f"{p99:.1f}",
                          f"{len(samples) / wall:,.0f}")
        console.print(f"{args.people:,} residents loaded in {load_seconds:.1f} s "
                      f"({args.people / load_seconds:,.0f} rows/s); {args.clients} clients, "
                      f"think {think} s (certificates {args.cert_think} s), "
                      f"{args.workers} workers; mean hits per search {statistics.mean(hits):.1f}")
        console.print(table)
        for what in ("kana search", "record lookup"):
            http_p99 = percentiles(results[f"{what} (HTTP)"][0])[2]
            floor_p99 = percentiles(results[f"{what} (SQL floor)"][0])[2]
            console.print(f"{what}: HTTP p99 / SQL p99 = {http_p99 / floor_p99:.1f}x")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        db.dispose()

if __name__ == "__main__":
    main()
