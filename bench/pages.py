"""Server time of the staff pages on the demo consortium (embedded SQLite, as
``./dev demo`` builds it), read from each response's Server-Timing header, beside the
floor of a page that does nothing (/healthz) in the same run. Goal: every page under
200 ms.

    .venv/bin/python -m bench.pages [--scale 0.02] [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console

from kumomura import catalog
from kumomura.demo import DEMO_PASSWORD, build_demo
from kumomura.platform.clikit import progress
from kumomura.platform.core.config import Settings
from kumomura.platform.storage.db import Database
from kumomura.residents import public as residents
from kumomura.web.app import create_app

console = Console(width=120)


def server_ms(client: TestClient, path: str, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 200, (path, response.status_code)  # not the login
        timing = response.headers["server-timing"]
        times.append(float(timing.split("dur=")[1]))
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    catalog.install()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(None, Path(tmp))
        build_demo(db, progress=progress(), scale=args.scale)
        with db.tenant_tx("062022") as conn:
            first = residents.adults_on(conn, date(2026, 11, 1)).row(0, named=True)
            atena_no, kana = first["atena_no"], residents.current(conn, first["atena_no"])["kana"]
        app = create_app(settings=Settings(database_url=None, data_dir=Path(tmp)), db=db)
        rows = []
        with TestClient(app, base_url="https://testserver") as client:  # a Secure cookie
            floor = server_ms(client, "/healthz", args.repeat)
            for user, paths in (
                ("clerk_062022", ["/", "/t/062022/residents",
                                  f"/t/062022/residents/results?kana={kana[:2]}",
                                  f"/t/062022/residents/{atena_no}",
                                  "/t/062022/residents/move-in",
                                  f"/t/062022/residents/{atena_no}/certificate"]),
                ("tax_062022", ["/t/062022/tax", f"/t/062022/tax/{atena_no}?year=2026",
                                "/t/062022/tax/simulate", "/t/062022/jobs"]),
                ("it_062022", ["/t/062022/params"]),
                ("secretariat", ["/console", "/console/params"]),
            ):
                client.cookies.clear()
                client.get("/login")  # the browser's CSRF token, as the form carries it
                signed_in = client.post("/login", follow_redirects=False, data={
                    "username": user, "password": DEMO_PASSWORD,
                    "csrf_token": client.cookies["kumomura_csrf"]})
                assert signed_in.status_code == 303, (user, signed_in.status_code)
                rows += [(user, path, *server_ms(client, path, args.repeat)) for path in paths]
        db.dispose()
    console.print(f"floor /healthz: p50 {floor[0]:.1f} ms, p95 {floor[1]:.1f} ms "
                  f"(scale {args.scale}, {args.repeat} requests each)")
    for user, path, p50, p95 in rows:
        mark = "" if p95 < 200 else "  OVER 200 ms"
        console.print(f"{path[:58]:58} {user:13} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms{mark}")


if __name__ == "__main__":
    main()
