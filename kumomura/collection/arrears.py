"""滞納: who owes what past its 納期限, per payer and levy, with how long it has been owed
(aging), as the collection staff work their list from the oldest.

Counted in the database (one grouped query over charges and what was paid on them), so
the list of a whole municipality costs one pass, not a statement per person; the 延滞金
of one person is on their account.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import Connection, case, func, select

from kumomura.collection import plans
from kumomura.collection.params import MODULE
from kumomura.collection.tables import (
    allocations,
    charges,
    enforcement_stays,
    installment_plans,
    write_offs,
)
from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.profile import Office
from kumomura.platform.tenancy.tenants import get_tenant
from kumomura.residents import public as residents

BUCKETS = ((30, "30日以内"), (90, "31〜90日"), (365, "91日〜1年"), (None, "1年超"))
"""Aging: days since the 納期限, the staff's usual bands."""


def arrears(conn: Connection, ctx: AuditContext, on: date, *, levy: str | None = None,
            payers: tuple[str, str | None] | None = None) -> list[dict[str, Any]]:
    """Every payer with 本税 unpaid past its 納期限 on ``on``, oldest first: per payer and
    levy, the unpaid total, the number of charges, the oldest 納期限 and each aging band's
    amount. The list names people: its reading is audited with whom it named."""
    c, a = charges.c, allocations.c
    paid = (select(a.charge_id, func.sum(a.amount).label("paid"))
            .where(a.part == "tax").group_by(a.charge_id).subquery())
    owed = (c.amount - func.coalesce(paid.c.paid, 0)).label("owed")
    late = select(c.payer_kind, c.payer_no, c.levy, c.due_date, owed).outerjoin(
        paid, paid.c.charge_id == c.id).where(
        c.due_date < on, c.id.not_in(select(write_offs.c.charge_id)))  # 不納欠損 left out
    if levy:
        late = late.where(c.levy == levy)
    if payers is not None:  # a job's chunk: payer numbers from the first, before the next
        late = late.where(c.payer_no >= payers[0])
        if payers[1] is not None:
            late = late.where(c.payer_no < payers[1])
    rows = late.subquery()
    # A band by the 納期限's own date: owed more than ``low`` days and at most ``high``.
    bands = []
    low = 0
    for high, label in BUCKETS:
        inside = rows.c.due_date < on - timedelta(days=low)
        if high is not None:
            inside = inside & (rows.c.due_date >= on - timedelta(days=high))
        bands.append(func.sum(case((inside, rows.c.owed), else_=0)).label(label))
        low = high or low
    query = (select(rows.c.payer_kind, rows.c.payer_no, rows.c.levy,
                    func.sum(rows.c.owed).label("unpaid"), func.count().label("charges"),
                    func.min(rows.c.due_date).label("oldest_due"), *bands)
             .where(rows.c.owed > 0)
             .group_by(rows.c.payer_kind, rows.c.payer_no, rows.c.levy)
             .order_by(func.min(rows.c.due_date), rows.c.payer_no))
    found = [dict(r) for r in conn.execute(query).mappings()]
    for row in found:
        row["oldest_due"] = row["oldest_due"].isoformat() if isinstance(
            row["oldest_due"], date) else str(row["oldest_due"])
        for _, label in BUCKETS:
            row[label] = int(row[label] or 0)
        row["unpaid"] = int(row["unpaid"])
    audit.record(conn, ctx, "collection.arrears_listed",
                 detail={"on": on.isoformat(), "levy": levy, "people": len(found),
                         "atena_nos": [r["payer_no"] for r in found
                                       if r["payer_kind"] == "person"]})
    return found


KIND = "collection.arrears_list"
PER_FILE = 5_000


class ArrearsListRequest(jobs.JobRequest):
    """滞納者一覧 as of a day, one CSV per so many payers."""

    on: date
    levy: str | None = Field(default=None, max_length=32)
    per_file: int = Field(default=PER_FILE, ge=1, le=100_000)


def _prepare(db: Database, lg_code: str, request: ArrearsListRequest, _actor: str
             ) -> dict[str, Any]:
    """Fix the run's shape: the payers in arrears on the day, cut into chunks by number."""
    c = charges.c
    with db.tenant_tx(lg_code) as conn:
        query = select(c.payer_no).where(c.due_date < request.on).distinct().order_by(
            c.payer_no)
        if request.levy:
            query = query.where(c.levy == request.levy)
        numbers = list(conn.execute(query).scalars())
    tenant = get_tenant(db, lg_code)
    return {**request.model_dump(mode="json"), "bounds": numbers[::request.per_file],
            "municipality": tenant.name, "prefecture": tenant.prefecture,
            "directory": f"{request.on}-{utcnow():%Y%m%dT%H%M%S%f}"}


def start_list(db: Database, lg_code: str, on: date, *, actor: str, levy: str | None = None,
               per_file: int = PER_FILE) -> int:
    return jobs.start_requested(db, lg_code, KIND, {
        "on": on.isoformat(), "levy": levy, "per_file": per_file}, actor=actor)


def _plan(conn: Connection, p: dict[str, Any]) -> int:
    return len(p["bounds"])


HEADER = ("納付者区分", "納付者番号", "氏名", "住所", "税目", "未納額", "件数", "最古の納期限",
          *(label for _, label in BUCKETS), "分納誓約", "執行停止")


def _run_chunk(conn: Connection, p: dict[str, Any], k: int) -> dict[str, Any]:
    """One file of the list: its payers' arrears with name and address, and the state of
    their 分納誓約 and 執行停止."""
    on, bounds = date.fromisoformat(p["on"]), p["bounds"]
    ctx = AuditContext(actor=f"job:{p['job_id']}", purpose="滞納者一覧の作成")
    rows = arrears(conn, ctx, on, levy=p["levy"],
                   payers=(bounds[k], bounds[k + 1] if k + 1 < len(bounds) else None))
    people_nos = sorted({r["payer_no"] for r in rows if r["payer_kind"] == "person"})
    office = Office("", f"{p['prefecture']}{p['municipality']}")
    people = {r["atena_no"]: r for r in residents.mailing_list(
        conn, ctx, office, people_nos).to_dicts()} if people_nos else {}
    ip, st = installment_plans.c, enforcement_stays.c
    plan_ids = {(r.payer_kind, r.payer_no): r.id for r in conn.execute(
        select(ip.id, ip.payer_kind, ip.payer_no).where(ip.payer_no.in_(people_nos)
                                                         | (ip.payer_kind != "person"))
        .order_by(ip.id))}
    stayed = {(r.payer_kind, r.payer_no): r for r in conn.execute(
        select(enforcement_stays).where(st.lifted_on.is_(None)))}
    directory = jobs.run_directory(p, "arrears")
    directory.mkdir(parents=True, exist_ok=True)
    name = f"arrears-{k + 1:05d}.csv"
    partial = directory / f"{name}.part"
    with partial.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for r in rows:
            payer = (r["payer_kind"], r["payer_no"])
            person = people.get(r["payer_no"], {}) if payer[0] == "person" else {}
            plan = plans.status(conn, plan_ids[payer], on)["state"] if payer in plan_ids else ""
            held = stayed.get(payer)
            writer.writerow((r["payer_kind"], r["payer_no"], person.get("name", ""),
                             person.get("address", ""), r["levy"], r["unpaid"], r["charges"],
                             r["oldest_due"], *(r[label] for _, label in BUCKETS), plan,
                             f"{held.started_on} 第{held.ground}号" if held else ""))
    partial.replace(directory / name)
    return {"file": name, "payers": len(rows)}


ARREARS_JOB = jobs.JobKind(name=KIND, title="滞納者一覧の作成", module=MODULE, plan=_plan,
                           run_chunk=_run_chunk, request=ArrearsListRequest,
                           prepare=_prepare)
