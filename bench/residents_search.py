"""Counter searches at scale: one tenant with N synthetic residents on PostgreSQL, many
concurrent clients over HTTP (a real uvicorn server), against the same SQL run directly.

Prints p50/p95/p99 of kana search, record lookup and certificate PDF over HTTP, and of the
bare SQL of search and lookup with the same concurrency (the floor), as ratios; then the
three at once while the municipality's 住民税 assessment job runs beside them; then audit
appends per second beside a bare INSERT of the same row, and what the sealer chains.

    .venv/bin/python -m bench.residents_search [--people 1000000] [--clients 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import make_url, text

from bench.scratch import scratch_database
from kumomura import catalog
from kumomura.inhabitant_tax import public as tax
from kumomura.platform import audit, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.japanese import prefix_bounds
from kumomura.platform.deployment import upgrade_platform
from kumomura.platform.identity import auth, tokens
from kumomura.platform.identity.auth import Scope
from kumomura.platform.jobs import queue as jobs
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
    return tokens.issue(db, "bench_clerk", "bench", days=1)


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


def assessment_process(url: str, data_dir: Path, job_id: int, nice: int
                       ) -> subprocess.Popen[bytes]:
    """The assessment job's chunks run by a process of their own, as a worker on the same
    machine would: at a lower CPU priority (``nice``) and with one Polars thread, the
    way batch work is run beside the counter on a shared host."""
    code = ("from pathlib import Path; from kumomura import catalog; "
            "from kumomura.platform.storage.db import Database; "
            "from kumomura.platform.jobs import queue as jobs; catalog.install(); "
            f"db = Database({url!r}, Path({str(data_dir)!r}), owner=False); "
            f"jobs.run_in_process(db, {job_id}); db.dispose()")
    return subprocess.Popen([sys.executable, "-c", code], preexec_fn=lambda: os.nice(nice),
                            env={**os.environ, "POLARS_MAX_THREADS": "1"})


def start_assessment(db: Database) -> int:
    """Synthetic 課税資料 for every adult and a 当初課税 job over them (not yet run)."""
    with db.tenant_tx(CODE) as conn:
        adults = residents.adults_on(conn, date(2026, 1, 1))
    started = time.perf_counter()
    tax.load_synthetic_returns(db, CODE, adults, 2025, seed=7)
    console.print(f"{adults.height:,} synthetic returns loaded in "
                  f"{time.perf_counter() - started:.1f} s")
    return tax.start_assessment(db, CODE, 2026, actor="bench", chunk_size=10_000)


def mixed(n: int, think: float, cert_think: float, searches: list[str], records: list[str],
          atena_nos: list[str], token: str, port: int
          ) -> dict[str, tuple[list[float], float]]:
    """Searches, lookups and certificates at once: two fifths of the clients search, two
    fifths look records up, one fifth issues certificates."""
    connect, call = http_get(token, port)
    c_connect, c_call = http_post_pdf(token, port)
    runs = {
        "kana search": lambda: hammer(n * 2 // 5, searches, call, connect, think),
        "record lookup": lambda: hammer(n * 2 // 5, records, call, connect, think),
        "certificate PDF": lambda: hammer(n - 4 * (n // 5), atena_nos, c_call, c_connect,
                                          cert_think),
    }
    with ThreadPoolExecutor(len(runs)) as pool:
        futures = {label: pool.submit(work) for label, work in runs.items()}
        return {f"{label} (HTTP), with assessment": f.result()
                for label, f in futures.items()}


FLOOR_TABLE = "bench_append_floor"
FLOOR_SQL = (f"INSERT INTO t_{CODE}.{FLOOR_TABLE} (at, actor, action, atena_no, request_id, "
             "client_addr, purpose, detail) VALUES (now(), 'bench', 'residents.view', :a, "
             "'r', '127.0.0.1', 'bench', CAST(:d AS json))")


def _append_worker(url: str, data_dir: str, bare: bool, first: int, count: int,
                   threads: int, start_at: float) -> float:
    """One writer process: ``count`` entries from ``threads`` threads, one per
    transaction, from ``start_at`` (wall clock) on; when it finished."""
    catalog.install()
    db = Database(url, Path(data_dir), owner=False)
    ctx = AuditContext(actor="bench", request_id="r", client_addr="127.0.0.1", purpose="bench")

    def entry(i: int) -> None:
        with db.tenant_tx(CODE) as conn:
            if bare:
                conn.execute(text(FLOOR_SQL), {"a": f"{i:015d}", "d": json.dumps({"hits": i})})
            else:
                audit.record(conn, ctx, "residents.view", atena_no=f"{i:015d}",
                             detail={"hits": i})

    with ThreadPoolExecutor(threads) as pool:
        for warm in range(threads * 2):  # connections opened before the clock
            pool.submit(entry, -1 - warm).result()
        time.sleep(max(0.0, start_at - time.time()))
        list(pool.map(entry, range(first, first + count)))
    finished = time.time()
    db.dispose()
    return finished


def appends(db: Database, processes: int, threads: int, count: int) -> dict[str, float]:
    """Audit entries per second from ``processes`` x ``threads`` writers, one entry per
    transaction over the municipality's login; the same rows inserted into a plain table
    with the same login (the floor); then the sealer's rate chaining what was written."""
    schema = f"t_{CODE}"
    with db.owner_tx() as conn:  # INCLUDING ALL: the id default of audit_pending's sequence
        conn.exec_driver_sql(f"CREATE TABLE {schema}.{FLOOR_TABLE} "
                             f"(LIKE {schema}.audit_pending INCLUDING ALL)")
        conn.exec_driver_sql(f'GRANT INSERT ON {schema}.{FLOOR_TABLE} '
                             f'TO "{db.tenant_role(CODE)}"')
    audit.seal(db, CODE)
    assert db.url is not None
    per = count // processes
    figures = {}
    context = multiprocessing.get_context("spawn")
    for label, bare in (("floor", True), ("appends", False)):
        start_at = time.time() + 8  # past every process's start and imports
        with ProcessPoolExecutor(processes, mp_context=context) as pool:
            ends = list(pool.map(_append_worker, [db.url] * processes,
                                 [str(db.data_dir)] * processes, [bare] * processes,
                                 [k * per for k in range(processes)], [per] * processes,
                                 [threads] * processes, [start_at] * processes))
        figures[label] = per * processes / (max(ends) - start_at)
    started = time.perf_counter()
    sealed = audit.seal(db, CODE)
    figures["sealed"] = sealed / (time.perf_counter() - started)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--certificates", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--appends", type=int, default=20_000,
                        help="audit entries written for the append rate")
    parser.add_argument("--append-processes", type=int, default=4)
    parser.add_argument("--append-threads", type=int, default=4,
                        help="writer threads per append process")
    parser.add_argument("--job-nice", type=int, default=10,
                        help="CPU priority of the assessment job's process (nice)")
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
        job_id = start_assessment(db)
        job = assessment_process(url, data_dir, job_id, args.job_nice)
        started = time.perf_counter()
        results.update(mixed(n, think, args.cert_think, searches, records,
                             atena_nos[: args.certificates], token, args.port))
        mixed_seconds = time.perf_counter() - started
        SERVER_MS.clear()
        for label in [k for k in results if k.endswith("with assessment")]:
            report(label, results[label])
        job.wait()
        state = jobs.get_job(db, job_id)
        console.print(f"assessment job: {state.status}, {state.done_chunks}/{state.total_chunks} "
                      f"chunks; the mixed phase ran {mixed_seconds:.0f} s beside it")
        rates = appends(db, args.append_processes, args.append_threads, args.appends)
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
            mixed_p99 = percentiles(results[f"{what} (HTTP), with assessment"][0])[2]
            console.print(f"{what}: HTTP p99 / SQL p99 = {http_p99 / floor_p99:.1f}x; "
                          f"with the assessment running {mixed_p99 / floor_p99:.1f}x")
        writers = args.append_processes * args.append_threads
        console.print(f"audit appends ({writers} writers, {args.appends:,} "
                      f"entries): {rates['appends']:,.0f}/s beside a bare INSERT "
                      f"{rates['floor']:,.0f}/s ({rates['appends'] / rates['floor']:.2f}x "
                      f"the floor); sealed afterwards at {rates['sealed']:,.0f} entries/s")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        db.dispose()

if __name__ == "__main__":
    main()
