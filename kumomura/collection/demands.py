"""督促: a 督促状 for every charge of a 納期限 still unpaid, issued within 20 days after it
(地方税法第329条第1項 and its kin per levy), as a job writing print-ready PDF files, a
thousand letters a file, with an index of whose letter is on which page.

The run's shape is fixed when it starts (the charges of that 納期限, their highest id);
each chunk takes a range of ids, finds those still owed on the day of issue and not yet
demanded, records each 督促 (one per charge, ever) and writes its file, so a rerun or a
restart demands nobody twice; a charge a コンビニ速報 says was paid is left out. The
letter gives the 本税 still owed, the 督促手数料 where the municipality has one (a
parameter; most have abolished it), and the 延滞金 rule.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field
from reportlab.lib.units import mm
from sqlalchemy import Connection, func, insert, select

from kumomura.collection.law import late_rates
from kumomura.collection.params import MODULE, CollectionParameters
from kumomura.collection.service import (
    ChargeState,
    charge_states,
    employer_addressees,
    held_at_stores,
    levy_name,
)
from kumomura.collection.tables import charges, demands
from kumomura.platform import params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.core.japanese import era_date, era_year
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.printing import GOTHIC, MARGIN, PAGE_HEIGHT, PAGE_WIDTH, Page, new_document
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.profile import Office
from kumomura.platform.tenancy.tenants import get_tenant
from kumomura.residents import public as residents

KIND = "collection.demands"
PER_FILE = 1_000


class DemandsRequest(jobs.JobRequest):
    """督促状 for the unpaid charges of one 納期限, issued on a day within 20 days after."""

    due_date: date
    issued_on: date
    per_file: int = Field(default=PER_FILE, ge=1, le=100_000)


def _prepare(db: Database, lg_code: str, request: DemandsRequest, _actor: str
             ) -> dict[str, Any]:
    with db.tenant_tx(lg_code) as conn:
        values = params.values_on(conn, MODULE, request.issued_on)
        assert isinstance(values, CollectionParameters)
        top = conn.execute(select(func.max(charges.c.id)).where(
            charges.c.due_date == request.due_date,
            charges.c.payer_kind == "person")).scalar() or 0
        employers = conn.execute(select(charges.c.id).where(
            charges.c.due_date == request.due_date,
            charges.c.payer_kind == "employer").limit(1)).first() is not None
    late = (request.issued_on - request.due_date).days
    if not 1 <= late <= values.demand_within_days:
        raise InvalidInput(f"督促状は納期限の翌日から{values.demand_within_days}日以内に発します "
                           f"(地方税法第329条): 納期限 {request.due_date}、発付日 "
                           f"{request.issued_on} は {late} 日後です", field="issued_on")
    tenant = get_tenant(db, lg_code)
    return {**request.model_dump(mode="json"), "top_id": int(top), "employers": employers,
            "fee": values.demand_fee,
            "municipality": tenant.name, "prefecture": tenant.prefecture,
            "directory": f"{request.due_date}-{utcnow():%Y%m%dT%H%M%S%f}"}


def start(db: Database, lg_code: str, due_date: date, issued_on: date, *, actor: str,
          per_file: int = PER_FILE) -> int:
    return jobs.start_requested(db, lg_code, KIND, {
        "due_date": due_date.isoformat(), "issued_on": issued_on.isoformat(),
        "per_file": per_file}, actor=actor)


def _person_chunks(p: dict[str, Any]) -> int:
    top, per_file = int(p["top_id"]), int(p["per_file"])
    return top // per_file + 1 if top else 0


def plan(conn: Connection, p: dict[str, Any]) -> int:
    """Chunks of persons' charges by id, then one for the employers (特別徴収義務者)."""
    return _person_chunks(p) + (1 if p.get("employers") else 0)


def demands_area(data_dir: Path | str, lg_code: str) -> Path:
    return Path(data_dir) / "demands" / lg_code


def run_directory(p: dict[str, Any]) -> Path:
    return jobs.run_directory(p, "demands")


@dataclass(frozen=True)
class Letter:
    """One 督促状: what it demands (one charge, or an employer's month for all its
    employees), to whom, and the charges it stands for."""

    state: ChargeState
    addressee: dict[str, Any]
    payer_label: str  # 宛名番号 | 指定番号
    payer_no: str
    charge_ids: tuple[int, ...]


def run_chunk(conn: Connection, p: dict[str, Any], k: int) -> dict[str, Any]:
    due, issued = date.fromisoformat(p["due_date"]), date.fromisoformat(p["issued_on"])
    per_file = int(p["per_file"])
    c = charges.c
    demanded = select(demands.c.charge_id)
    ctx = AuditContext(actor=f"job:{p['job_id']}", purpose="督促状の作成")
    if k >= _person_chunks(p):
        items = _employer_letters(conn, due, issued, demanded)
    else:
        owed = [s for s in charge_states(conn, (c.due_date == due) & (c.payer_kind == "person")
                                         & (c.id >= k * per_file) & (c.id < (k + 1) * per_file)
                                         & (c.id <= int(p["top_id"])) & c.id.not_in(demanded),
                                         issued)
                if s.balance > 0]
        held = held_at_stores(conn, sorted({s.payment_no for s in owed}))
        owed = [s for s in owed if held.get(s.payment_no, 0) < s.balance]  # paid at a store
        office = Office("", f"{p['prefecture']}{p['municipality']}")
        people = {r["atena_no"]: r for r in residents.mailing_list(
            conn, ctx, office, sorted({s.atena_no for s in owed})).to_dicts()} if owed else {}
        items = [Letter(s, people.get(s.atena_no, {}), "宛名番号", s.atena_no, (s.id,))
                 for s in owed]
    if not items:
        return {"file": None, "demands": 0}
    items.sort(key=lambda x: (x.addressee.get("postal_code") or "", x.payer_no))
    signer = residents.certifier(conn, issued)
    if not signer.is_set:
        raise InvalidInput("住民記録のパラメータ mayor_title / mayor_name (督促者) が未設定です",
                           field="mayor_title")
    name = f"demands-{k + 1:05d}.pdf"
    directory = run_directory(p)
    directory.mkdir(parents=True, exist_ok=True)
    pdf = letters(items, issued=issued, fee=int(p["fee"]), municipality=p["municipality"],
                  mayor=f"{signer.title}　{signer.name}")
    partial = directory / f"{name}.part"
    partial.write_bytes(pdf)
    partial.replace(directory / name)
    conn.execute(insert(demands), [
        {"charge_id": charge_id, "issued_on": issued, "amount": balance, "fee": int(p["fee"]),
         "job_id": int(p["job_id"]), "file": name, "page": i + 1}
        for i, item in enumerate(items)
        for charge_id, balance in _balances(conn, item, issued)])
    with (directory / f"index-{k + 1:05d}.csv").open("w", encoding="utf-8-sig",
                                                    newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("ファイル", "ページ", "納付者番号", "氏名", "納付番号", "未納額"))
        writer.writerows((name, i + 1, x.payer_no, x.addressee.get("name", ""),
                          x.state.payment_no, x.state.balance) for i, x in enumerate(items))
    return {"file": name, "demands": len(items)}


def _balances(conn: Connection, item: Letter, on: date) -> list[tuple[int, int]]:
    """Each charge of a letter with the 本税 it names."""
    if len(item.charge_ids) == 1:
        return [(item.charge_ids[0], item.state.balance)]
    return [(s.id, s.balance) for s in charge_states(
        conn, charges.c.id.in_(item.charge_ids), on)]


def _employer_letters(conn: Connection, due: date, issued: date, demanded: Any
                      ) -> list[Letter]:
    """One letter per employer and 納付書 (its month for all its employees) still owed:
    the employees' 本税 together, to the employer's registered name and address."""
    c = charges.c
    owed = [s for s in charge_states(conn, (c.due_date == due) & (c.payer_kind == "employer")
                                     & c.id.not_in(demanded), issued) if s.balance > 0]
    by_number: dict[str, list[ChargeState]] = {}
    for state in owed:
        by_number.setdefault(state.payment_no, []).append(state)
    held = held_at_stores(conn, sorted(by_number))
    payer_of = dict(conn.execute(select(c.payment_no, c.payer_no).where(
        c.id.in_([group[0].id for group in by_number.values()]))).all())
    known = employer_addressees(conn, sorted(set(payer_of.values())))
    found = []
    for number, group in by_number.items():
        total = sum(s.balance for s in group)
        if held.get(number, 0) >= total:
            continue
        payer_no = payer_of[number]
        whole = replace(group[0], amount=total, paid=0, late_fee=0, late_fee_paid=0,
                        label=f"{group[0].label} ({len(group)}人分)")
        found.append(Letter(whole, known.get(payer_no, {"name": f"特別徴収義務者 {payer_no}"}),
                            "指定番号", payer_no, tuple(s.id for s in group)))
    return found


DEMANDS_JOB = jobs.JobKind(name=KIND, title="督促状の一括作成", module=MODULE, plan=plan,
                           run_chunk=run_chunk, request=DemandsRequest, prepare=_prepare)


def letters(items: list[Letter], *, issued: date, fee: int, municipality: str,
            mayor: str) -> bytes:
    """One 督促状 a page."""
    buffer, canvas = new_document("督促状", municipality)
    for item in items:
        page = Page(canvas)
        _letter(page, item, issued=issued, fee=fee, municipality=municipality, mayor=mayor)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _letter(page: Page, item: Letter, *, issued: date, fee: int, municipality: str,
            mayor: str) -> None:
    s, person = item.state, item.addressee
    page.addressee(person.get("postal_code"), person.get("address") or "（所在地未登録）",
                   person.get("name") or "（宛名不明）",
                   honorific="御中" if item.payer_label == "指定番号" else "様")
    top = PAGE_HEIGHT - MARGIN - 8
    x = PAGE_WIDTH - MARGIN - 70 * mm
    for i, (label, value) in enumerate(((item.payer_label, item.payer_no),
                                        ("発付日", era_date(issued)),
                                        ("問合せ先", f"{municipality} 収納担当"))):
        page.text(x, top - i * 14, label, size=8.5, font=GOTHIC)
        page.text(x + 20 * mm, top - i * 14, value, size=9.5)
    page.y = PAGE_HEIGHT - MARGIN - 90
    page.title("督　促　状")
    page.text(MARGIN, page.y, "下記の税金が納期限までに納付されていません。"
              "至急納付してください。", size=11)
    page.gap(20)
    deadline = issued + timedelta(days=10)  # 地方税法第331条: 督促状を発した日から10日
    rates = late_rates(issued.year)
    half = 0.5
    levy = levy_name(s.levy) + (" (特別徴収)" if item.payer_label == "指定番号" else "")
    page.row([("税目", levy, half),
              ("年度・期別", f"{era_year(date(s.fiscal_year, 4, 1))}度 {s.label}", half)])
    page.row([("納期限", era_date(s.due_date), half), ("納付番号", s.payment_no, half)])
    page.row([("未納の税額", f"{s.balance:,}円", half), ("督促手数料", f"{fee:,}円", half)])
    page.row([("納付すべき額", f"{s.balance + fee:,}円 (ほかに延滞金)", 1.0)], height=11 * mm)
    page.gap(16)
    lines = (
        f"{era_date(deadline)}までに完納されないときは、地方税法の定めにより財産を差し押さえる"
        "ことがあります。",
        "納期限の翌日から納付の日までの日数に応じて延滞金がかかります (1か月までは年"
        f"{rates.first_month / 100:g}%、その後は年{rates.after / 100:g}%: "
        f"{era_year(date(issued.year, 1, 1))}の割合)。",
        "行き違いで納付済みの場合はご容赦ください。",
    )
    for line in lines:
        page.text(MARGIN, page.y, line, size=page.fit(line, page.width, 9.5))
        page.gap(14)
    page.gap(20)
    page.text(PAGE_WIDTH - MARGIN - 95 * mm, page.y, mayor, size=13)
