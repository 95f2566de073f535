"""口座振替: enrolment per payer and levy, the request file of an 引落日 (the 納期限), and
the bank's result file taken back: what was debited is paid (a payment on the 引落日, as
any other, 本税 first), what was not stays owed with the bank's reason.

The 委託者 (the municipality at its bank: code, names, the account paid into) is the
municipality's parameter; a request is refused while it is not set.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from kumomura.collection import zengin
from kumomura.collection.params import MODULE, CollectionParameters
from kumomura.collection.payments import ImportReport, new_file_digest, new_payment, settle
from kumomura.collection.service import charge_states
from kumomura.collection.tables import charges, debit_accounts, debit_items, payment_files
from kumomura.platform import audit, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.core.timeutil import utcnow


def enrol(conn: Connection, ctx: AuditContext, *, atena_no: str, levy: str, bank_code: str,
          branch_code: str, account_type: int, account_no: str, holder: str,
          starts_on: date) -> int:
    """口座振替の申込 of a person for a levy; a previous one of the same levy ends the day
    before the new one starts."""
    for value, size, name in ((bank_code, 4, "bank_code"), (branch_code, 3, "branch_code"),
                              (account_no, 7, "account_no")):
        if not (value.isdigit() and len(value) == size):
            raise InvalidInput(f"{name} は{size}桁の数字です", field=name)
    if account_type not in (1, 2, 9):
        raise InvalidInput("預金種目は 1 普通, 2 当座, 9 その他 です", field="account_type")
    if not zengin.kana(holder, 30).strip():
        raise InvalidInput("口座名義 (カナ) を入力してください", field="holder")
    d = debit_accounts.c
    conn.execute(update(debit_accounts).where(
        d.payer_kind == "person", d.payer_no == atena_no, d.levy == levy,
        or_(d.ends_on.is_(None), d.ends_on >= starts_on)).values(ends_on=starts_on))
    new_id = int(conn.execute(insert(debit_accounts).values(
        payer_kind="person", payer_no=atena_no, levy=levy, bank_code=bank_code,
        branch_code=branch_code, account_type=account_type, account_no=account_no,
        holder=zengin.kana(holder, 30).decode("cp932").rstrip(), starts_on=starts_on,
        registered_by=ctx.actor, registered_at=utcnow()).returning(d.id)).scalar_one())
    audit.record(conn, ctx, "collection.debit_enrolled", atena_no=atena_no,
                 detail={"levy": levy, "bank_code": bank_code, "starts_on": str(starts_on)})
    return new_id


def _consignor(conn: Connection, on: date) -> zengin.Consignor:
    values = params.values_on(conn, MODULE, on)
    assert isinstance(values, CollectionParameters)
    if not values.debit_consignor_code:
        raise InvalidInput("口座振替の委託者コード (debit_consignor_code) が設定されていません",
                           field="debit_consignor_code")
    return zengin.Consignor(
        code=values.debit_consignor_code, name=values.debit_consignor_name,
        bank_code=values.debit_bank_code, bank_name=values.debit_bank_name,
        branch_code=values.debit_branch_code, branch_name=values.debit_branch_name,
        account_type=values.debit_account_type, account_no=values.debit_account_no)


def request(conn: Connection, ctx: AuditContext, levy: str, debit_on: date) -> bytes:
    """The request file of an 引落日: every charge of the levy due that day, still owed, of
    a payer enrolled then; each asked once per day (asking again gives the same file)."""
    consignor = _consignor(conn, debit_on)
    c, d, i = charges.c, debit_accounts.c, debit_items.c
    rows = conn.execute(select(c.id, d.id.label("account_id")).join(debit_accounts, and_(
        d.payer_kind == c.payer_kind, d.payer_no == c.payer_no, d.levy == c.levy,
        d.starts_on <= debit_on, or_(d.ends_on.is_(None), d.ends_on > debit_on)))
        .where(c.levy == levy, c.due_date == debit_on).order_by(c.id)).all()
    states = {s.id: s for s in charge_states(conn, c.id.in_([r.id for r in rows]), debit_on)}
    asked = {r.charge_id for r in conn.execute(select(i.charge_id).where(i.debit_on == debit_on))}
    now = utcnow()
    new = [{"charge_id": r.id, "account_id": r.account_id, "debit_on": debit_on,
            "amount": states[r.id].balance, "requested_at": now}
           for r in rows if r.id not in asked and states[r.id].balance > 0]
    if new:
        conn.execute(insert(debit_items), new)
    items = conn.execute(select(i.id, i.amount, i.account_id, d.bank_code, d.branch_code,
                                d.account_type, d.account_no, d.holder, d.starts_on)
                         .join(debit_accounts, d.id == i.account_id)
                         .join(charges, c.id == i.charge_id)
                         .where(i.debit_on == debit_on, c.levy == levy).order_by(i.id)).all()
    debits = [zengin.Debit(bank_code=r.bank_code, branch_code=r.branch_code,
                           account_type=r.account_type, account_no=r.account_no,
                           holder=r.holder, amount=r.amount, customer_no=r.id)
              for r in items]
    audit.record(conn, ctx, "collection.debit_requested",
                 detail={"levy": levy, "debit_on": str(debit_on), "records": len(debits),
                         "total": sum(x.amount for x in debits)})
    return zengin.request_file(consignor, debit_on, debits)


def take_results(conn: Connection, ctx: AuditContext, name: str, content: bytes
                 ) -> dict[str, Any]:
    """The bank's result file: each record checked against what was asked (its 顧客番号,
    amount and 引落日); the debited ones paid on the 引落日; the file taken once, whole."""
    digest = new_file_digest(conn, name, content)
    found = zengin.read_results(name, content)
    i = debit_items.c
    asked = {r.id: r for r in conn.execute(select(debit_items).where(
        i.id.in_([d.customer_no for d in found.debits]))).all()}
    problems = []
    for n, debit in enumerate(found.debits, start=2):
        item = asked.get(debit.customer_no)
        if item is None:
            problems.append(f"{name}:{n}: 顧客番号 {debit.customer_no} の依頼はありません")
        elif item.result is not None:
            problems.append(f"{name}:{n}: 顧客番号 {debit.customer_no} の結果は取込済みです")
        elif item.amount != debit.amount or item.debit_on.strftime("%m%d") != found.month_day:
            problems.append(f"{name}:{n}: 顧客番号 {debit.customer_no} の金額か引落日が依頼"
                            "と違います")
    if problems:
        raise InvalidInput("; ".join(problems[:20]), field="file")
    file_id = int(conn.execute(insert(payment_files).values(
        name=name[:200], sha256=digest, kind="zengin_debit", records=len(found.debits),
        total=sum(d.amount for d in found.debits if d.result == 0), imported_by=ctx.actor,
        imported_at=utcnow()).returning(payment_files.c.id)).scalar_one())
    report = ImportReport(file=name, file_id=file_id, records=len(found.debits))
    failed: dict[str, int] = {}
    for n, debit in enumerate(found.debits, start=2):
        item = asked[debit.customer_no]
        conn.execute(update(debit_items).where(i.id == item.id).values(
            result=debit.result, result_file_id=file_id))
        if debit.result != 0:
            reason = zengin.RESULTS[debit.result]
            failed[reason] = failed.get(reason, 0) + 1
            continue
        state = charge_states(conn, charges.c.id == item.charge_id, item.debit_on)
        payer = conn.execute(select(charges.c.payer_kind, charges.c.payer_no).where(
            charges.c.id == item.charge_id)).one()
        payment_id = new_payment(conn, report, line=n, paid_on=item.debit_on,
                                 amount=debit.amount, payment_no=None, channel="debit",
                                 payer=(payer.payer_kind, payer.payer_no))
        settle(conn, report, payment_id, state, debit.amount, item.debit_on,
               (payer.payer_kind, payer.payer_no))
        report.total += debit.amount
    audit.record(conn, ctx, "collection.debit_results",
                 detail={"file": name, "debited": report.applied, "failed": failed})
    return {"file": name, "records": report.records, "debited": report.applied,
            "total": report.total, "failed": failed}
