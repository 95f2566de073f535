"""The secretariat's use cases for the shared bill: load cost items, set weights and the
guarantee, record standalone costs, meter usage, allocate, what-if, and the table the
consortia publish (発注前年間経費, 発注後年間経費, 削減率, 構成割合)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, insert, select

from kumomura.costs.rules import METRICS, Allocation, CostItem, Member, Weights, allocate
from kumomura.costs.tables import (
    cost_items,
    cost_policies,
    cost_weights,
    standalone_costs,
    usage_meters,
)
from kumomura.inhabitant_tax import public as tax
from kumomura.platform.core.businesses import BUSINESSES
from kumomura.platform.core.errors import FieldProblem, InvalidInput, invalid
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant, list_tenants
from kumomura.platform.tenancy.usage import calls_in_year
from kumomura.residents import public as residents

ITEM_COLUMNS = ("code", "name", "kind", "amount", "businesses", "first_year", "years",
                "equal", "population", "usage", "metric")


def _fraction(text: str, where: str, problems: list[FieldProblem]) -> Fraction:
    try:
        return Fraction(Decimal(text or "0"))
    except (InvalidOperation, ValueError):
        problems.append(FieldProblem(where, f"{text!r} は数ではありません"))
        return Fraction(0)


def _int(text: str, where: str, problems: list[FieldProblem]) -> int:
    if not text.strip().lstrip("-").isdigit():
        problems.append(FieldProblem(where, f"{text!r} は整数ではありません"))
        return 0
    return int(text)


def parse_items(text: str) -> list[CostItem]:
    """Cost items from CSV (header: code,name,kind,amount,businesses,first_year,years,
    equal,population,usage,metric; businesses separated by spaces). Every problem names
    its line and column; nothing is returned unless all are right."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ITEM_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(f"列がありません: {', '.join(missing)}", field="header")
    problems: list[FieldProblem] = []
    items: list[CostItem] = []
    seen: set[tuple[str, int]] = set()
    for line, row in enumerate(reader, start=2):
        at = f"line {line}"
        businesses = tuple((row["businesses"] or "").split())
        unknown = [b for b in businesses if b not in BUSINESSES]
        if not businesses or unknown:
            problems.append(FieldProblem(f"{at}.businesses",
                                         f"業務コードが正しくありません: {' '.join(unknown)}"))
        if row["kind"] not in ("running", "initial"):
            problems.append(FieldProblem(f"{at}.kind", "running か initial です"))
        item = CostItem(
            code=row["code"].strip(), name=row["name"].strip(), kind=row["kind"],
            amount=_int(row["amount"], f"{at}.amount", problems), businesses=businesses,
            weights=Weights(equal=_fraction(row["equal"], f"{at}.equal", problems),
                            population=_fraction(row["population"], f"{at}.population",
                                                 problems),
                            usage=_fraction(row["usage"], f"{at}.usage", problems),
                            metric=(row["metric"] or "").strip() or None),
            first_year=_int(row["first_year"], f"{at}.first_year", problems),
            years=_int(row["years"] or "1", f"{at}.years", problems))
        if not item.code:
            problems.append(FieldProblem(f"{at}.code", "項目コードがありません"))
        if (item.code, item.first_year) in seen:
            problems.append(FieldProblem(f"{at}.code", f"{item.code} が重複しています"))
        seen.add((item.code, item.first_year))
        if item.amount < 0:
            problems.append(FieldProblem(f"{at}.amount", f"金額が負の値です ({item.name})"))
        w = item.weights
        if w.equal + w.population + w.usage != 1:
            problems.append(FieldProblem(f"{at}.weights",
                                         f"按分の比率の合計が1になりません ({item.name})"))
        if w.usage and w.metric not in METRICS:
            problems.append(FieldProblem(f"{at}.metric",
                                         f"利用量の指標を {', '.join(METRICS)} から選んでください"))
        items.append(item)
    if problems:
        raise invalid(problems)
    return items


def store_items(db: Database, items: list[CostItem], *, actor: str) -> int:
    """Store items (an item with the same code and first year is replaced); their weights
    are recorded from their first year."""
    now = utcnow()
    with db.platform_tx() as conn:
        for item in items:
            conn.execute(delete(cost_items).where(cost_items.c.code == item.code,
                                                  cost_items.c.first_year == item.first_year))
            conn.execute(insert(cost_items).values(
                code=item.code, name=item.name, kind=item.kind, amount=item.amount,
                businesses=list(item.businesses), first_year=item.first_year,
                years=item.years, created_by=actor, created_at=now))
            _store_weights(conn, item.code, item.first_year, item.weights, actor,
                           "費目の登録")
    return len(items)


def _decimal(value: Fraction) -> str:
    return str(Decimal(value.numerator) / Decimal(value.denominator))


def _store_weights(conn: Any, code: str, year: int, w: Weights, actor: str,
                   reason: str | None) -> None:
    conn.execute(insert(cost_weights).values(
        item_code=code, effective_from=year, equal=_decimal(w.equal),
        population=_decimal(w.population), usage=_decimal(w.usage), metric=w.metric,
        changed_by=actor, changed_at=utcnow(), reason=reason))


def set_weights(db: Database, code: str, weights: Weights, *, from_year: int, actor: str,
                reason: str | None) -> None:
    """Change an item's weights from a fiscal year; the earlier ones stay in the history."""
    if weights.equal + weights.population + weights.usage != 1:
        raise InvalidInput(f"{code}: 按分の比率の合計が1になりません", field="weights")
    with db.platform_tx() as conn:
        if conn.execute(select(cost_items.c.id).where(cost_items.c.code == code)).first() \
                is None:
            raise InvalidInput(f"費目 {code} はありません", field="code")
        _store_weights(conn, code, from_year, weights, actor, reason)


def weights_history(db: Database, code: str) -> list[dict[str, Any]]:
    with db.platform_tx() as conn:
        return [dict(r) for r in conn.execute(select(cost_weights).where(
            cost_weights.c.item_code == code).order_by(cost_weights.c.id)).mappings()]


def set_standalone(db: Database, lg_code: str, fiscal_year: int, amount: int, *,
                   basis: str, actor: str) -> None:
    if amount <= 0:
        raise InvalidInput("発注前年間経費は正の金額です", field="amount")
    with db.platform_tx() as conn:
        conn.execute(delete(standalone_costs).where(
            standalone_costs.c.lg_code == lg_code,
            standalone_costs.c.fiscal_year == fiscal_year))
        conn.execute(insert(standalone_costs).values(
            lg_code=lg_code, fiscal_year=fiscal_year, amount=amount, basis=basis,
            recorded_by=actor, recorded_at=utcnow()))


def set_guarantee(db: Database, fiscal_year: int, percent: Decimal | None, *, actor: str,
                  reason: str | None = None) -> None:
    if percent is not None and not 0 <= percent < 100:
        raise InvalidInput("削減率の保証は0以上100未満 (%) です", field="guarantee")
    with db.platform_tx() as conn:
        conn.execute(insert(cost_policies).values(
            fiscal_year=fiscal_year, guarantee=None if percent is None else str(percent),
            changed_by=actor, changed_at=utcnow(), reason=reason))


def record_usage(db: Database, lg_code: str, fiscal_year: int, values: dict[str, int]) -> None:
    with db.platform_tx() as conn:
        for metric, value in values.items():
            conn.execute(delete(usage_meters).where(
                usage_meters.c.lg_code == lg_code, usage_meters.c.fiscal_year == fiscal_year,
                usage_meters.c.metric == metric))
            conn.execute(insert(usage_meters).values(
                lg_code=lg_code, fiscal_year=fiscal_year, metric=metric, value=value,
                measured_at=utcnow()))


@dataclass(frozen=True)
class Inputs:
    """Everything an allocation of one fiscal year is computed from."""

    fiscal_year: int
    items: list[CostItem]
    members: list[Member]
    guarantee: Fraction | None


def inputs(db: Database, fiscal_year: int) -> Inputs:
    """The stored items charged in the year (with the weights in force), the members
    (not left) with go-live, population, standalone cost and usage, and the guarantee."""
    with db.platform_tx() as conn:
        rows = conn.execute(select(cost_items).where(
            cost_items.c.first_year <= fiscal_year,
            cost_items.c.first_year + cost_items.c.years > fiscal_year)
            .order_by(cost_items.c.code)).mappings().all()
        weights = conn.execute(select(cost_weights).where(
            cost_weights.c.effective_from <= fiscal_year)
            .order_by(cost_weights.c.effective_from, cost_weights.c.id)).mappings().all()
        standalone = dict(conn.execute(select(standalone_costs.c.lg_code,
                                              standalone_costs.c.amount).where(
            standalone_costs.c.fiscal_year == fiscal_year)).all())
        usage: dict[str, dict[str, int]] = {}
        for code, metric, value in conn.execute(select(
                usage_meters.c.lg_code, usage_meters.c.metric, usage_meters.c.value).where(
                usage_meters.c.fiscal_year == fiscal_year)):
            usage.setdefault(code, {})[metric] = int(value)
        policy = conn.execute(select(cost_policies.c.guarantee).where(
            cost_policies.c.fiscal_year == fiscal_year).order_by(cost_policies.c.id.desc())
            .limit(1)).scalar()
    latest = {w["item_code"]: w for w in weights}
    items = []
    for r in rows:
        w = latest[r["code"]]
        items.append(CostItem(code=r["code"], name=r["name"], kind=r["kind"],
                              amount=int(r["amount"]), businesses=tuple(r["businesses"]),
                              first_year=r["first_year"], years=r["years"],
                              weights=Weights(Fraction(Decimal(w["equal"])),
                                              Fraction(Decimal(w["population"])),
                                              Fraction(Decimal(w["usage"])), w["metric"])))
    members = [_member(t, standalone.get(t.lg_code), usage.get(t.lg_code, {}))
               for t in list_tenants(db, include_left=False)]
    guarantee = None if policy is None else Fraction(Decimal(policy)) / 100
    return Inputs(fiscal_year, items, members, guarantee)


def _member(t: Tenant, standalone: int | None, usage: dict[str, int]) -> Member:
    return Member(lg_code=t.lg_code, name=t.name, population=t.population,
                  go_live=dict(t.go_live), standalone=standalone, usage=usage)


def run(i: Inputs) -> Allocation:
    return allocate(i.items, i.members, i.fiscal_year, i.guarantee)


@dataclass(frozen=True)
class Change:
    """A what-if: members added or removed, weights or amounts changed."""

    add: tuple[Member, ...] = ()
    remove: tuple[str, ...] = ()
    weights: tuple[tuple[str, Weights], ...] = ()
    amounts: tuple[tuple[str, int], ...] = ()
    guarantee: Fraction | bool | None = False  # False: unchanged


def apply_change(i: Inputs, change: Change) -> Inputs:
    known = {m.lg_code for m in i.members}
    problems = [FieldProblem("remove", f"{code} は構成団体ではありません")
                for code in change.remove if code not in known]
    problems += [FieldProblem("add", f"{m.lg_code} はすでに構成団体です")
                 for m in change.add if m.lg_code in known]
    items_known = {item.code for item in i.items}
    problems += [FieldProblem("weights", f"費目 {code} はありません")
                 for code, _ in (*change.weights, *change.amounts) if code not in items_known]
    if problems:
        raise invalid(problems)
    weights, amounts = dict(change.weights), dict(change.amounts)
    items = [replace(item, weights=weights.get(item.code, item.weights),
                     amount=amounts.get(item.code, item.amount)) for item in i.items]
    members = [m for m in i.members if m.lg_code not in change.remove] + list(change.add)
    guarantee = i.guarantee if change.guarantee is False else change.guarantee
    assert guarantee is None or isinstance(guarantee, Fraction)
    return Inputs(i.fiscal_year, items, members, guarantee)


def what_if(i: Inputs, change: Change) -> dict[str, Any]:
    """Every member's annual charge before and after a change, side by side."""
    before, after = run(i), run(apply_change(i, change))
    names = {m.lg_code: m.name for m in (*i.members, *change.add)}
    rows: list[dict[str, Any]] = []
    for code in sorted(names):
        b = before.member_total(code) if code in before.adjustments else None
        a = after.member_total(code) if code in after.adjustments else None
        rows.append({"lg_code": code, "name": names[code], "before": b, "after": a,
                     "difference": None if a is None or b is None else a - b})
    return {"fiscal_year": i.fiscal_year, "members": rows,
            "total_before": before.total(), "total_after": after.total()}


def saving_rate(standalone: int | None, charge: int) -> Decimal | None:
    """削減率 in percent to one decimal, rounded half up: (before − after) / before."""
    if not standalone:
        return None
    rate = Decimal(standalone - charge) * 100 / Decimal(standalone)
    return rate.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def share_rate(part: int, whole: int) -> Decimal | None:
    """構成割合 (負担割合) in percent to two decimals, rounded half up: part / whole."""
    if not whole:
        return None
    rate = Decimal(part) * 100 / Decimal(whole)
    return rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def compare(lines: Sequence[tuple[int | None, int]]) -> tuple[list[dict[str, Any]],
                                                              dict[str, Any]]:
    """The layout the consortia publish, from its inputs (before, after) per line: each
    line's 削減額, 削減率 and 構成割合 (its share of the total after), and the totals line.
    The totals' 削減額 and 削減率 count only the lines with a cost before (one without
    would otherwise show its whole charge as a loss)."""
    total_before = sum(before or 0 for before, _ in lines)
    total_after = sum(after for _, after in lines)
    compared_after = sum(after for before, after in lines if before is not None)
    rows = [{"standalone": before, "charge": after,
             "saving": None if before is None else before - after,
             "rate": saving_rate(before, after), "share": share_rate(after, total_after)}
            for before, after in lines]
    return rows, {"standalone_total": total_before, "total": total_after,
                  "saving_total": total_before - compared_after,
                  "rate_total": saving_rate(total_before, compared_after),
                  "share_total": share_rate(total_after, total_after)}


def summary(a: Allocation) -> dict[str, Any]:
    """The consortium's table: per member live in the year 発注前年間経費 (for its months
    live), 発注後年間経費, 削減額, 削減率, 構成割合, with the charge by item and the
    guarantee's adjustment; and the totals. Members not yet live are left out."""
    members = [m for m in a.members if a.months[m.lg_code]]
    lines, totals = compare([(a.standalone[m.lg_code], a.member_total(m.lg_code))
                             for m in members])
    rows = [{"lg_code": m.lg_code, "name": m.name, "months": a.months[m.lg_code], **line,
             "items": {code: c[m.lg_code] for code, c in a.charges.items()},
             "adjustment": a.adjustments[m.lg_code], "bound": m.lg_code in a.bound}
            for m, line in zip(members, lines, strict=True)]
    return {"fiscal_year": a.fiscal_year, "rows": rows,
            "items": [{"code": i.code, "name": i.name, "amount": i.charge_for(a.fiscal_year),
                       "businesses": list(i.businesses)} for i in a.items
                      if i.code in a.charges],
            **totals,
            "guarantee": None if a.guarantee is None else str(a.guarantee * 100),
            "feasible": a.feasible,
            "best_guarantee": None if a.best_guarantee is None else
            str((Decimal(a.best_guarantee.numerator) * 100
                 / Decimal(a.best_guarantee.denominator)).quantize(
                     Decimal("0.1"), rounding="ROUND_DOWN")),
            "bound": a.bound}


def member_label(r: dict[str, Any]) -> str:
    """The member's name, with its months when live for part of the year, and ※ when the
    guarantee bound it."""
    name: str = r["name"]
    return (name + (f" ({r['months']}か月)" if r["months"] < 12 else "")
            + (" ※" if r["bound"] else ""))


REPORT_HEADER = ("団体名", "団体コード", "稼働月数", "発注前年間経費", "発注後年間経費", "削減額",
                 "削減率(%)", "構成割合(%)", "保証による調整")


def item_label(item: dict[str, Any]) -> str:
    """A cost item as the report heads its column: name and the businesses it serves."""
    served = "・".join(BUSINESSES.get(b, b) for b in item["businesses"])
    return f"{item['name']} ({served})"


def report_csv(s: dict[str, Any]) -> str:
    """The published layout, then each member's charge by cost item (UTF-8 with BOM for
    spreadsheet software)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    items = s["items"]
    writer.writerow((*REPORT_HEADER, *(item_label(i) for i in items)))
    for r in s["rows"]:
        writer.writerow((r["name"], r["lg_code"], r["months"], r["standalone"] or "", r["charge"],
                         "" if r["saving"] is None else r["saving"],
                         "" if r["rate"] is None else r["rate"],
                         "" if r["share"] is None else r["share"], r["adjustment"],
                         *(r["items"][i["code"]] for i in items)))
    writer.writerow(("合計", "", "", s["standalone_total"], s["total"], s["saving_total"],
                     "" if s["rate_total"] is None else s["rate_total"],
                     "" if s["share_total"] is None else s["share_total"], 0,
                     *(i["amount"] for i in items)))
    return "\ufeff" + out.getvalue()


def meter(db: Database, fiscal_year: int) -> dict[str, dict[str, int]]:
    """Measure each member's usage of the year from its own data: residents on file,
    certificates issued in the year, tax notices of the year, and the API calls the
    platform counted; stored and returned."""

    measured: dict[str, dict[str, int]] = {}
    for t in list_tenants(db, include_left=False):
        with db.tenant_tx(t.lg_code) as conn:
            measured[t.lg_code] = {
                "residents": residents.count(conn),
                "certificates": residents.certificates_issued(
                    conn, date(fiscal_year, 4, 1), date(fiscal_year + 1, 4, 1)),
                "notices": tax.notices_of(conn, fiscal_year),
                "api_calls": calls_in_year(db, t.lg_code, fiscal_year)}
        record_usage(db, t.lg_code, fiscal_year, measured[t.lg_code])
    return measured

