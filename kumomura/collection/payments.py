"""消込: payment files read, matched to charges and applied, all in one transaction.

A file is taken once (its SHA-256): the same file again is refused, naming when it was
taken, and changes nothing. Every row is checked first; a file with any malformed row
(a date that is no date, an amount that is no whole number of yen, neither 納付番号 nor
宛名番号) is refused whole, each problem named with the file and line. Then each row is
matched:

1. by 納付番号 to its 納付書's charges;
2. else, by 宛名番号 and amount, to that person's oldest unpaid charge of exactly that
   balance;
3. else it waits for review (要確認), with the reason.

A matched payment pays the 本税 first, then the 延滞金 it owes as of the day paid (地方税法's
order: 本税 before 延滞金); what is left is 過誤納金, appropriated (充当, 地方税法第17条の2) to
the same payer's oldest charges already due, and what is still left waits for 還付.
"""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import (
    Connection,
    String,
    any_,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from kumomura.collection import cvs
from kumomura.collection.late_fee import late_fee
from kumomura.collection.params import MODULE, CollectionParameters
from kumomura.collection.service import ChargeState, charge_states
from kumomura.collection.tables import allocations, charges, payment_files, payments
from kumomura.platform import audit, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import FieldProblem, InvalidInput, invalid
from kumomura.platform.core.timeutil import as_utc, utcnow
from kumomura.platform.storage.frames import write_frame

COLUMNS = {"納付番号": "payment_no", "納付日": "paid_on", "納付額": "amount",
           "宛名番号": "atena_no", "収納経路": "channel"}
"""The counter and bank CSV (UTF-8, a header row): 納付日 and 納付額 always, 納付番号 or
宛名番号 on each row, 収納経路 (counter 窓口 / bank 金融機関) where known."""
CHANNELS = ("counter", "bank", "convenience", "debit")
MAX_ROWS = 1_000_000


@dataclass
class ImportReport:
    file: str
    file_id: int
    records: int = 0
    total: int = 0
    applied: int = 0
    kind: str = "counter_csv"
    to_review: list[dict[str, Any]] = field(default_factory=list)
    overpaid: int = 0
    appropriated: int = 0
    held: int = 0
    confirmed: int = 0
    unconfirmed: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        found = {"file": self.file, "file_id": self.file_id, "kind": self.kind,
                 "records": self.records, "total": self.total, "applied": self.applied,
                 "review": len(self.to_review), "to_review": self.to_review,
                 "appropriated": self.appropriated, "overpaid": self.overpaid}
        if self.kind.startswith("cvs_"):
            found |= {"held": self.held, "confirmed": self.confirmed,
                      "unconfirmed": self.unconfirmed}
        return found


def _rows(name: str, content: bytes) -> pl.DataFrame:
    """The file's rows, checked: every malformed row named with its line."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{name}: UTF-8 のCSVではありません", field="file") from None
    try:
        raw = pl.read_csv(io.StringIO(text), infer_schema=False, n_rows=MAX_ROWS + 1)
    except pl.exceptions.PolarsError as exc:
        raise InvalidInput(f"{name}: CSVとして読めません ({type(exc).__name__})",
                           field="file") from None
    missing = [h for h in ("納付日", "納付額") if h not in raw.columns]
    if missing or not ({"納付番号", "宛名番号"} & set(raw.columns)):
        raise InvalidInput(f"{name}: 見出しに {'・'.join(missing) or '納付番号か宛名番号'} が"
                           "ありません", field="file")
    if raw.height > MAX_ROWS:
        raise InvalidInput(f"{name}: {MAX_ROWS:,}行を超えています", field="file")
    frame = raw.select(pl.col(k).alias(v) if k in raw.columns
                       else pl.lit(None, pl.String).alias(v) for k, v in COLUMNS.items())
    frame = frame.with_columns(pl.col(pl.String).str.strip_chars()).with_columns(
        line=pl.int_range(2, pl.len() + 2),
        date=pl.coalesce(pl.col("paid_on").str.to_date("%Y-%m-%d", strict=False),
                         pl.col("paid_on").str.to_date("%Y%m%d", strict=False)),
        yen=pl.col("amount").str.to_integer(strict=False))
    bad = frame.filter(pl.col("date").is_null() | pl.col("yen").is_null()
                       | ~pl.col("yen").is_between(1, 10**11)
                       | (pl.col("payment_no").is_null() & pl.col("atena_no").is_null())
                       | (pl.col("channel").is_not_null() & ~pl.col("channel").is_in(CHANNELS)))
    problems = []
    for row in bad.head(100).iter_rows(named=True):
        where = f"{name}:{row['line']}"
        if row["date"] is None:
            problems.append(FieldProblem(where, f"納付日 {row['paid_on']!r} は日付ではありません"))
        if row["yen"] is None or not 0 < row["yen"] <= 10**11:
            problems.append(FieldProblem(where, f"納付額 {row['amount']!r} は1円以上の整数では"
                                                "ありません"))
        if not (row["payment_no"] or row["atena_no"]):
            problems.append(FieldProblem(where, "納付番号か宛名番号が必要です"))
        if row["channel"] and row["channel"] not in CHANNELS:
            problems.append(FieldProblem(where, f"収納経路 {row['channel']!r} は "
                                                f"{'/'.join(CHANNELS)} のいずれかです"))
    if problems:
        raise invalid(problems)
    return frame


def new_file_digest(conn: Connection, name: str, content: bytes) -> str:
    """The file's SHA-256, if no file of the same content was taken before; one that was
    is refused, naming when, and changes nothing."""
    digest = hashlib.sha256(content).hexdigest()
    before = conn.execute(select(payment_files.c.name, payment_files.c.imported_at).where(
        payment_files.c.sha256 == digest)).first()
    if before is not None:
        raise InvalidInput(f"{name}: 同じ内容のファイル ({before.name}) を "
                           f"{as_utc(before.imported_at):%Y-%m-%d %H:%M} に取り込み済みです。"
                           "何も変更していません", field="file")
    return digest


def import_file(conn: Connection, ctx: AuditContext, name: str, content: bytes, *,
                channel: str = "bank") -> ImportReport:
    """Take a payment CSV (the caller's transaction: all of it or nothing)."""
    digest = new_file_digest(conn, name, content)
    return _take(conn, ctx, name, digest, "counter_csv", _rows(name, content), channel)


def import_store_file(conn: Connection, ctx: AuditContext, name: str, content: bytes,
                      on: date) -> ImportReport:
    """Take a コンビニ収納 速報 or 確報 file of the municipality's 収納企業コード.

    A 速報 is no money yet: its payments are held (``provisional``), shown on the
    account and spare the charge its 督促, but pay nothing. The 確報 pays them, on the
    day paid at the store, as any payment file; each 速報 it confirms is marked so, and
    a 速報 of a day the 確報 covers that it does not confirm is reported."""
    digest = new_file_digest(conn, name, content)
    values = params.values_on(conn, MODULE, on)
    assert isinstance(values, CollectionParameters)
    if not values.cvs_company_code:
        raise InvalidInput("コンビニ収納の収納企業コード (cvs_company_code) が未設定です",
                           field="cvs_company_code")
    found = cvs.read_store_file(name, content, values.cvs_company_code)
    rows = pl.DataFrame(
        [(p.line, p.payment_no, p.paid_on, p.amount) for p in found.payments],
        schema={"line": pl.Int64, "payment_no": pl.String, "date": pl.Date, "yen": pl.Int64},
        orient="row").with_columns(atena_no=pl.lit(None, pl.String),
                                   channel=pl.lit("convenience"))
    if found.kind == "preliminary":
        return _hold(conn, ctx, name, digest, rows)
    report = _take(conn, ctx, name, digest, "cvs_final", rows, "convenience")
    _confirm(conn, report, rows)
    return report


def _new_file(conn: Connection, ctx: AuditContext, name: str, digest: str, kind: str,
              rows: pl.DataFrame) -> ImportReport:
    total = int(rows["yen"].sum() or 0)
    file_id = conn.execute(insert(payment_files).values(
        name=name[:200], sha256=digest, kind=kind, records=rows.height, total=total,
        imported_by=ctx.actor, imported_at=utcnow()).returning(payment_files.c.id)
    ).scalar_one()
    return ImportReport(file=name, file_id=file_id, kind=kind, records=rows.height,
                        total=total)


def _take(conn: Connection, ctx: AuditContext, name: str, digest: str, kind: str,
          rows: pl.DataFrame, channel: str) -> ImportReport:
    """Match and apply a checked file's rows: the common case in bulk, the rest row by
    row."""
    report = _new_file(conn, ctx, name, digest, kind, rows)
    rest = _apply_exact(conn, report, rows, channel)
    for row in rest.iter_rows(named=True):
        _apply_row(conn, report, row, row["channel"] or channel)
    audit.record(conn, ctx, "collection.payments_imported",
                 detail={"file": name, "file_id": report.file_id, "kind": kind,
                         "records": report.records, "applied": report.applied,
                         "review": len(report.to_review)})
    return report


def _hold(conn: Connection, ctx: AuditContext, name: str, digest: str,
          rows: pl.DataFrame) -> ImportReport:
    """A 速報's payments, held until the 確報: each with its payer where its 納付番号 is
    known; an unknown number is reported now, so it can be looked into before the money
    comes."""
    report = _new_file(conn, ctx, name, digest, "cvs_preliminary", rows)
    found = _charges_named(conn, rows["payment_no"].unique().to_list()).unique("payment_no")
    held = rows.join(found.select("payment_no", "payer_kind", "payer_no"), on="payment_no",
                     how="left")
    conn.execute(insert(payments), [
        {"file_id": report.file_id, "line": r["line"], "paid_on": r["date"],
         "amount": r["yen"], "payment_no": r["payment_no"], "channel": "convenience",
         "status": "provisional", "payer_kind": r["payer_kind"], "payer_no": r["payer_no"],
         "note": None if r["payer_no"] else f"納付番号 {r['payment_no']} の調定がありません"}
        for r in held.iter_rows(named=True)])
    report.held = held.height
    report.to_review = [
        {"line": r["line"], "where": f"{name}:{r['line']}", "amount": r["yen"],
         "reason": f"納付番号 {r['payment_no']} の調定がありません"}
        for r in held.filter(pl.col("payer_no").is_null()).iter_rows(named=True)]
    audit.record(conn, ctx, "collection.store_payments_held",
                 detail={"file": name, "file_id": report.file_id, "records": report.records,
                         "unknown": len(report.to_review)})
    return report


def _confirm(conn: Connection, report: ImportReport, rows: pl.DataFrame) -> None:
    """Mark the 速報 the 確報 confirms (same 納付番号, day and amount, one for one). One of
    the days it covers that it does not confirm (cancelled at the store, or a record
    lost) is marked ``unconfirmed`` and reported: it no longer spares its charge the
    督促, and a later 確報 that has it still confirms it."""
    if rows.height == 0:
        return
    p, f = payments.c, payment_files.c
    last = rows["date"].max()
    held = conn.execute(select(p.id, p.payment_no, p.paid_on, p.amount, p.line, f.name)
                        .join(payment_files, f.id == p.file_id)
                        .where(p.status.in_(("provisional", "unconfirmed")),
                               p.paid_on <= last)
                        .order_by(p.id)).all()
    waiting: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for row in held:
        waiting[(row.payment_no, row.paid_on, row.amount)].append(row)
    confirmed = []
    for key in rows.select("payment_no", "date", "yen").iter_rows():
        if waiting.get(key):
            confirmed.append(waiting[key].pop(0).id)
    for part in range(0, len(confirmed), IN_CHUNK):
        conn.execute(update(payments).where(p.id.in_(confirmed[part:part + IN_CHUNK]))
                     .values(status="confirmed"))
    left = [row.id for rest in waiting.values() for row in rest]
    for part in range(0, len(left), IN_CHUNK):
        conn.execute(update(payments).where(p.id.in_(left[part:part + IN_CHUNK]))
                     .values(status="unconfirmed"))
    report.confirmed = len(confirmed)
    report.unconfirmed = [
        {"where": f"{row.name}:{row.line}", "payment_no": row.payment_no,
         "paid_on": row.paid_on.isoformat(), "amount": row.amount,
         "reason": "速報にあって確報にない収納です"}
        for rest in waiting.values() for row in rest]


IN_CHUNK = 30_000
"""Numbers per query: under both databases' limits on a statement's parameters."""


def _charges_named(conn: Connection, numbers: list[str]) -> pl.DataFrame:
    """The charges of these 納付番号, with how many share each number and what has been
    paid on each (its 本税)."""
    c, a = charges.c, allocations.c
    paid = (select(func.coalesce(func.sum(a.amount), 0)).where(a.charge_id == c.id)
            .scalar_subquery())
    found: list[Any] = []
    for part in range(0, len(numbers), IN_CHUNK):
        chunk = numbers[part:part + IN_CHUNK]
        # PostgreSQL takes the numbers as one array (one parameter, one plan).
        named = c.payment_no == any_(bindparam("numbers", chunk, type_=ARRAY(String))) \
            if conn.dialect.name == "postgresql" else c.payment_no.in_(chunk)
        found += conn.execute(select(c.id, c.payment_no, c.amount, c.due_date, c.payer_kind,
                                     c.payer_no, paid.label("paid")).where(named)).all()
    frame = pl.DataFrame(found, schema={"charge_id": pl.Int64, "payment_no": pl.String,
                                        "charged": pl.Int64, "due_date": pl.Date,
                                        "payer_kind": pl.String, "payer_no": pl.String,
                                        "paid": pl.Int64}, orient="row")
    return frame.with_columns(sharing=pl.len().over("payment_no"))


def _apply_exact(conn: Connection, report: ImportReport, rows: pl.DataFrame,
                 channel: str) -> pl.DataFrame:
    """The day's common case in bulk: a row naming a 納付書 of one charge, nothing paid on
    it yet, paying exactly its amount by its 納期限 (no 延滞金) and the only row of the
    file for it. Its payment and allocation are written as frames (COPY on PostgreSQL);
    every other row is returned for the row-by-row matching."""
    numbered = rows.filter(pl.col("payment_no").is_not_null()
                           & (pl.len().over("payment_no") == 1))
    if numbered.height == 0:
        return rows
    found = _charges_named(conn, numbered["payment_no"].to_list())
    exact = numbered.join(found, on="payment_no").filter(
        (pl.col("sharing") == 1) & (pl.col("paid") == 0) & (pl.col("yen") == pl.col("charged"))
        & (pl.col("date") <= pl.col("due_date")))
    if exact.height == 0:
        return rows
    ids = _new_ids(conn, exact.height)
    now = utcnow()
    exact = exact.with_columns(id=pl.Series(ids, dtype=pl.Int64))
    write_frame(conn, payments, exact.select(
        "id", file_id=pl.lit(report.file_id), line="line", paid_on="date", amount="yen",
        payment_no="payment_no", channel=pl.coalesce("channel", pl.lit(channel)),
        status=pl.lit("applied"), payer_kind="payer_kind", payer_no="payer_no"))
    write_frame(conn, allocations, exact.select(
        payment_id="id", charge_id="charge_id", part=pl.lit("tax"), amount="yen",
        applied_on="date", applied_at=pl.lit(now)))
    report.applied += exact.height
    return rows.join(exact.select("line"), on="line", how="anti")


def _new_ids(conn: Connection, count: int) -> list[int]:
    """Ids for ``count`` new payments, taken from the table's own sequence (PostgreSQL)
    or after its highest (SQLite, which holds the write lock for the transaction)."""
    if conn.dialect.name == "postgresql":
        translate = conn.get_execution_options().get("schema_translate_map") or {}
        name = f'"{translate.get(payments.schema, payments.schema)}".payments'
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                                {"t": name}).scalar_one()  # once, not per row
        return list(conn.execute(text(
            "SELECT nextval(CAST(:s AS regclass)) FROM generate_series(1, :n)"),
            {"s": sequence, "n": count}).scalars())
    top = conn.execute(select(func.coalesce(func.max(payments.c.id), 0))).scalar_one()
    return list(range(top + 1, top + 1 + count))


def _apply_row(conn: Connection, report: ImportReport, row: dict[str, Any],
               channel: str) -> None:
    paid_on, amount = row["date"], row["yen"]
    c = charges.c
    where = f"{report.file}:{row['line']}"
    matched: list[ChargeState] = []
    payer: tuple[str, str] | None = None
    reason = None
    if row["payment_no"]:
        matched = charge_states(conn, c.payment_no == row["payment_no"][:32], paid_on)
        if not matched:
            reason = f"納付番号 {row['payment_no']} の調定がありません"
    if not matched and row["atena_no"]:
        person = charge_states(conn, (c.payer_kind == "person")
                               & (c.payer_no == row["atena_no"][:20]), paid_on)
        exact = [s for s in person if s.balance == amount]
        if exact:
            matched = exact[:1]
        else:
            reason = (reason or "") + (" / " if reason else "") + (
                f"宛名番号 {row['atena_no']} に残額 {amount:,}円 の調定がありません"
                if person else f"宛名番号 {row['atena_no']} の調定がありません")
    if not matched:
        new_payment(conn, report, line=row["line"], paid_on=paid_on, amount=amount,
                    payment_no=row["payment_no"], channel=channel, status="review",
                    payer=None, atena_no=row["atena_no"], note=reason)
        report.to_review.append({"line": row["line"], "where": where, "reason": reason,
                                 "amount": amount})
        return
    first = conn.execute(select(c.payer_kind, c.payer_no).where(c.id == matched[0].id)).one()
    payer = (first.payer_kind, first.payer_no)
    payment_id = new_payment(conn, report, line=row["line"], paid_on=paid_on, amount=amount,
                             payment_no=row["payment_no"], channel=channel, payer=payer)
    settle(conn, report, payment_id, matched, amount, paid_on, payer)


def settle(conn: Connection, report: ImportReport, payment_id: int,
           matched: list[ChargeState], amount: int, paid_on: date,
           payer: tuple[str, str]) -> None:
    """Apply a payment to the charges it was matched to; what is left over is 充当 to
    the payer's oldest charges already due, and what is still left is 過誤納金."""
    c = charges.c
    left = _pay(conn, payment_id, matched, amount, paid_on)
    if left:
        due = [s for s in charge_states(conn, (c.payer_kind == payer[0])
                                        & (c.payer_no == payer[1]), paid_on)
               if s.balance > 0 and s.due_date < paid_on and s.id not in
               {m.id for m in matched}]
        before = left
        left = _pay(conn, payment_id, due, left, paid_on)
        report.appropriated += before - left
    if left:
        _allocate(conn, payment_id, None, "overpaid", left, paid_on)
        report.overpaid += left
    report.applied += 1


def new_payment(conn: Connection, report: ImportReport, *, line: int, paid_on: date,
                amount: int, payment_no: str | None, channel: str,
                payer: tuple[str, str] | None, status: str = "applied",
                atena_no: str | None = None, note: str | None = None) -> int:
    """A payment as its file gave it (line by line), applied or for review."""
    return int(conn.execute(insert(payments).values(
        file_id=report.file_id, line=line, paid_on=paid_on, amount=amount,
        payment_no=(payment_no or None) and payment_no[:32], channel=channel, status=status,
        payer_kind=payer[0] if payer else None,
        payer_no=payer[1] if payer else ((atena_no or None) and atena_no[:20]), note=note)
        .returning(payments.c.id)).scalar_one())


def _pay(conn: Connection, payment_id: int, states: list[ChargeState], amount: int,
         paid_on: date) -> int:
    """Pay the 本税 of ``states`` in order, then their 延滞金 as of ``paid_on``; the rest."""
    left = amount
    paid_tax: dict[int, int] = {}
    for state in states:
        take = min(left, state.balance)
        if take > 0:
            _allocate(conn, payment_id, state.id, "tax", take, paid_on)
            paid_tax[state.id] = take
            left -= take
    for state in states:
        if left <= 0:
            break
        if state.balance - paid_tax.get(state.id, 0) > 0:
            continue  # still owing 本税: its 延滞金 is not yet fixed
        fee = _fee_when_paid(conn, state)
        take = min(left, max(fee - state.late_fee_paid, 0))
        if take > 0:
            _allocate(conn, payment_id, state.id, "late_fee", take, paid_on)
            left -= take
    return left


def _fee_when_paid(conn: Connection, state: ChargeState) -> int:
    """The charge's 延滞金, now that its 本税 is paid off: over its tax payments by date."""
    a = allocations.c
    paid = [(r.applied_on, r.amount) for r in conn.execute(
        select(a.applied_on, a.amount).where(a.charge_id == state.id, a.part == "tax",
                                             a.amount > 0))]
    return late_fee(state.amount, state.due_date, paid).amount


def _allocate(conn: Connection, payment_id: int, charge_id: int | None, part: str,
              amount: int, applied_on: date) -> None:
    conn.execute(insert(allocations).values(
        payment_id=payment_id, charge_id=charge_id, part=part, amount=amount,
        applied_on=applied_on, applied_at=utcnow()))
