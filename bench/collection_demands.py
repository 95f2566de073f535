"""督促 for N unpaid charges on PostgreSQL: the job end to end (its worker processes),
and the 督促状 renderer's pages per second on one core beside the 納税通知書 renderer's,
measured in the same run on the same addressees.

    .venv/bin/python -m bench.collection_demands [--people 50000] [--workers 2]

N synthetic residents are loaded, each given a 第1期 of the inhabitant tax through the
collection module's own handler, none paid; the job is started as `collection demands`
starts it and run by the worker pool the notices use.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select, text

from bench.collection_payments import CODE, CTX, DUE, charge_people
from bench.scratch import scratch_database
from kumomura import catalog
from kumomura.collection import demands, service
from kumomura.collection.tables import charges
from kumomura.collection.tables import demands as demand_rows
from kumomura.inhabitant_tax.forms import NoticeHeader, ordinary_notices
from kumomura.platform import params
from kumomura.platform.core.config import Settings
from kumomura.platform.deployment import upgrade_platform
from kumomura.platform.pool import run_in_pool
from kumomura.platform.storage.db import Database, tenant_schema
from kumomura.platform.tenancy.profile import Office
from kumomura.platform.tenancy.tenants import add_tenant
from kumomura.residents import public as residents

console = Console(width=140)
ISSUED = date(2026, 7, 10)


def load(db: Database, people: int) -> list[str]:
    """N residents, and their 宛名番号."""
    population = residents.Population(seed=2026)
    residents.load_households(db, CODE, population.households(people, date(2026, 4, 1),
                                                              office="山形県米沢市"),
                              on=date(2026, 4, 1), ctx=CTX, source="bench")
    with db.tenant_tx(CODE) as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "合成 市長")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=CTX, reason="bench")
        return list(conn.execute(text(
            f'SELECT DISTINCT atena_no FROM "{tenant_schema(CODE)}".resident_versions '
            "ORDER BY atena_no")).scalars())


def render_rates(db: Database, pages: int) -> tuple[float, float]:
    """Pages per second of one core: 督促状, and 納税通知書 for the same addressees."""
    with db.tenant_tx(CODE) as conn:
        owed = service.charge_states(conn, charges.c.id <= pages, ISSUED)
        people = {r["atena_no"]: r for r in residents.mailing_list(
            conn, CTX, Office("", "山形県米沢市"), [s.atena_no for s in owed]).to_dicts()}
    items = [demands.Letter(s, people.get(s.atena_no, {}), "宛名番号", s.atena_no, (s.id,))
             for s in owed]
    demands.letters(items[:10], issued=ISSUED, fee=0, municipality="米沢市",
                    mayor="米沢市長　合成 市長")  # fonts loaded before timing
    started = time.perf_counter()
    demands.letters(items, issued=ISSUED, fee=0, municipality="米沢市",
                    mayor="米沢市長　合成 市長")
    letters = len(owed) / (time.perf_counter() - started)
    records: list[dict[str, Any]] = [
        {**people.get(s.atena_no, {}), "atena_no": s.atena_no, "total": s.amount * 4,
         "total_income": 3_000_000, "deductions_total": 1_200_000, "taxable_base": 1_800_000,
         "municipal_income_levy": 108_000, "prefectural_income_levy": 72_000,
         "municipal_adjustment_credit": 1_500, "prefectural_adjustment_credit": 1_000,
         "municipal_flat_reduction": 0, "prefectural_flat_reduction": 0,
         "municipal_per_capita": 3_000, "prefectural_per_capita": 1_000,
         "forest_environment_tax": 1_000,
         **{f"{side}_{credit}": 0 for side in ("municipal", "prefectural")
            for credit in ("dividend_credit", "donation_credit", "housing_loan_credit")},
         **{f"ordinary_{i}": s.amount for i in range(1, 5)}} for s in owed]
    header = NoticeHeader(fiscal_year=2026, municipality="米沢市", prefecture="山形県",
                          mayor_title="米沢市長", mayor_name="合成 市長",
                          issued_on=date(2026, 6, 10),
                          due_dates=(DUE, date(2026, 8, 31), date(2026, 11, 2),
                                     date(2027, 2, 1)))
    ordinary_notices(header, records[:10])
    started = time.perf_counter()
    ordinary_notices(header, records)
    notices = len(records) / (time.perf_counter() - started)
    return letters, notices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pages", type=int, default=2_000)
    args = parser.parse_args()
    catalog.install()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        db = Database(url, Path(tmp))
        settings = Settings(database_url=url, data_dir=Path(tmp))
        try:
            upgrade_platform(db)
            add_tenant(db, code=CODE, name="米沢市", prefecture="山形県",
                       population=args.people, actor="bench")
            started = time.perf_counter()
            atenas = load(db, args.people)
            charge_people(db, atenas)
            console.print(f"{len(atenas):,} residents loaded and charged in "
                          f"{time.perf_counter() - started:.1f} s")
            letters, notices = render_rates(db, args.pages)
            job_id = demands.start(db, CODE, DUE, ISSUED, actor="bench")
            started = time.perf_counter()
            run_in_pool(db, settings, job_id, workers=args.workers)
            seconds = time.perf_counter() - started
            with db.tenant_tx(CODE) as conn:
                made = len(conn.execute(select(demand_rows.c.id)).all())
            files = sorted((Path(tmp) / "demands" / CODE).glob("*/demands-*.pdf"))
            assert made == len(atenas), (made, len(atenas))
            size = sum(f.stat().st_size for f in files)
        finally:
            db.dispose()
    console.print(f"督促状 renderer, one core:   {letters:7,.0f} pages/s")
    console.print(f"納税通知書 renderer, one core: {notices:7,.0f} pages/s "
                  f"(督促状 at {letters / notices:.2f}x its rate)")
    console.print(f"督促 job, {args.workers} processes:    {made / seconds:7,.0f} pages/s "
                  f"({made:,} letters, {len(files)} files, {size / made:,.0f} bytes a page, "
                  f"{seconds:.1f} s; {made / seconds / args.workers:,.0f} pages/s per core)")


if __name__ == "__main__":
    main()
