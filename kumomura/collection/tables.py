"""収納管理's tables in each municipality's schema: charges (調定) and their history,
payment files, payments and what each was applied to."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from kumomura.platform.core.timeutil import Timestamp
from kumomura.platform.storage.db import tenant_metadata

charges = Table(
    "charges",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("levy", String(32), nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("payer_kind", String(8), nullable=False),  # person | employer
    Column("payer_no", String(20), nullable=False),
    Column("atena_no", String(15), nullable=False),
    Column("installment", Integer, nullable=False),
    Column("label", String(20), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("payment_no", String(32), nullable=False, index=True),
    Column("created_at", Timestamp(), nullable=False),
    UniqueConstraint("levy", "fiscal_year", "payer_kind", "payer_no", "atena_no",
                     "installment", name="uq_charges_installment"),
    Index("ix_charges_payer", "payer_kind", "payer_no", "due_date"),
    Index("ix_charges_person", "atena_no"),
)
"""調定: what is owed per levy, year, payer, subject and installment; ``amount`` is the
current 調定額 (its history in ``charge_changes``). A 納付番号 names one 納付書: a person's
installment, or an employer's month of 特別徴収 for all its employees."""

charge_changes = Table(
    "charge_changes",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("charge_id", Integer, ForeignKey("charges.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # initial | increase | decrease
    Column("delta", BigInteger, nullable=False),
    Column("amount_after", BigInteger, nullable=False),
    Column("reason", String(16), nullable=False),  # the levy's: initial | correction
    Column("event_id", Integer, nullable=False),
    Column("changed_at", Timestamp(), nullable=False),
    UniqueConstraint("charge_id", "event_id", name="uq_charge_changes_event"),
)
"""The 調定's history: the first and every 増額・減額 調定, with the event that made it."""

payment_files = Table(
    "payment_files",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # counter_csv | zengin_debit | cvs_*
    Column("records", Integer, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("imported_by", Text, nullable=False),
    Column("imported_at", Timestamp(), nullable=False),
)
"""Each payment file once (its hash): the same file again changes nothing."""

payments = Table(
    "payments",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_id", Integer, ForeignKey("payment_files.id"), nullable=False),
    Column("line", Integer, nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("payment_no", String(32)),
    Column("channel", String(16), nullable=False),  # counter | bank | convenience | debit
    Column("status", String(16), nullable=False),  # applied | review | provisional | ...
    Column("payer_kind", String(8)),
    Column("payer_no", String(20)),
    Column("note", Text),
    UniqueConstraint("file_id", "line", name="uq_payments_line"),
    Index("ix_payments_payer", "payer_kind", "payer_no"),
)
"""消込: each payment as its file gave it; one the matching could not place waits for
review (``status = 'review'``). A コンビニ速報 is held (``provisional``, no allocation)
until its 確報 pays the charge (the 速報 becomes ``confirmed``, or ``unconfirmed`` when the
確報 of its day has it not)."""

allocations = Table(
    "allocations",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payment_id", Integer, ForeignKey("payments.id"), nullable=False, index=True),
    Column("charge_id", Integer, ForeignKey("charges.id"), index=True),
    Column("part", String(16), nullable=False),  # tax | late_fee | overpaid | refund
    Column("amount", BigInteger, nullable=False),
    Column("applied_on", Date, nullable=False),
    Column("applied_at", Timestamp(), nullable=False),
    Column("refund_id", Integer, index=True),
)
"""What a payment paid: 本税 of a charge first, then its 延滞金 (地方税法 order); what is
left over is 過誤納金 (``overpaid``, no charge) until it is appropriated or refunded. A
還付・充当 moves money with a pair of rows of its ``refund_id``: a negative one where the
money was (``overpaid``, or the 本税 of a charge reduced below what was paid on it) and a
positive one where it went (another charge's ``tax``, or ``refund``), so a payment's rows
always add up to its amount."""

refunds = Table(
    "refunds",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payer_kind", String(8), nullable=False),
    Column("payer_no", String(20), nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("appropriated", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("interest", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("decided_at", Timestamp(), nullable=False),
    Index("ix_refunds_payer", "payer_kind", "payer_no"),
)
"""還付・充当の決定: a payer's 過誤納金 appropriated to what they owe and the rest refunded
on the 支出決定日, with the 還付加算金 and how it was counted (``detail``, JSON)."""

debit_accounts = Table(
    "debit_accounts",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payer_kind", String(8), nullable=False),
    Column("payer_no", String(20), nullable=False),
    Column("levy", String(32), nullable=False),
    Column("bank_code", String(4), nullable=False),
    Column("branch_code", String(3), nullable=False),
    Column("account_type", Integer, nullable=False),
    Column("account_no", String(7), nullable=False),
    Column("holder", String(30), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("registered_by", Text, nullable=False),
    Column("registered_at", Timestamp(), nullable=False),
    Index("ix_debit_accounts_payer", "payer_kind", "payer_no", "levy"),
)
"""口座振替の申込: a payer's account for one levy, from the 納期限 of ``starts_on`` on
(until ``ends_on``, the day it was stopped)."""

debit_items = Table(
    "debit_items",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("charge_id", Integer, ForeignKey("charges.id"), nullable=False, index=True),
    Column("account_id", Integer, ForeignKey("debit_accounts.id"), nullable=False),
    Column("debit_on", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("requested_at", Timestamp(), nullable=False),
    Column("result", Integer),
    Column("result_file_id", Integer, ForeignKey("payment_files.id")),
    UniqueConstraint("charge_id", "debit_on", name="uq_debit_items_charge_day"),
)
"""口座振替依頼: each charge asked of a bank on an 引落日 (its id is the record's 顧客番号),
and what the bank answered (振替結果コード; 0 is paid)."""

demands = Table(
    "demands",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("charge_id", Integer, ForeignKey("charges.id"), nullable=False, unique=True),
    Column("issued_on", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("job_id", Integer, nullable=False),
    Column("file", Text, nullable=False),
    Column("page", Integer, nullable=False),
)
"""督促: the 督促状 of a charge (one ever), the 本税 it named, its 督促手数料, and the page
of the run's file it is on."""

installment_plans = Table(
    "installment_plans",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payer_kind", String(8), nullable=False),
    Column("payer_no", String(20), nullable=False),
    Column("made_on", Date, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("note", Text, nullable=False),
    Column("made_by", Text, nullable=False),
    Column("made_at", Timestamp(), nullable=False),
    Column("cancelled_on", Date),
    Index("ix_installment_plans_payer", "payer_kind", "payer_no"),
)
"""分納誓約: a payer's promise to pay ``total`` (what they owed on ``made_on``) in parts;
kept to or broken is read from what they paid since, against the schedule."""

plan_installments = Table(
    "plan_installments",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", Integer, ForeignKey("installment_plans.id"), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    UniqueConstraint("plan_id", "due_on", name="uq_plan_installments_day"),
)
"""The 分納誓約's schedule: how much by which day."""

enforcement_stays = Table(
    "enforcement_stays",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payer_kind", String(8), nullable=False),
    Column("payer_no", String(20), nullable=False),
    Column("started_on", Date, nullable=False),
    Column("ground", Integer, nullable=False),  # 地方税法第15条の7第1項 第1〜3号
    Column("immediate", Integer, nullable=False),  # 第5項: extinguished at once
    Column("reason", Text, nullable=False),
    Column("lifted_on", Date),
    Column("lift_reason", Text),
    Column("decided_by", Text, nullable=False),
    Column("decided_at", Timestamp(), nullable=False),
    Index("ix_enforcement_stays_payer", "payer_kind", "payer_no"),
)
"""滞納処分の執行停止 (地方税法第15条の7): of a payer's arrears due before ``started_on``,
with its ground; lifted (第15条の8) on ``lifted_on``."""

write_offs = Table(
    "write_offs",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("charge_id", Integer, ForeignKey("charges.id"), nullable=False, unique=True),
    Column("extinguished_on", Date, nullable=False),
    Column("ground", String(16), nullable=False),  # prescription | stay_3_years | stay_at_once
    Column("stay_id", Integer, ForeignKey("enforcement_stays.id")),
    Column("tax", BigInteger, nullable=False),
    Column("late_fee", BigInteger, nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("decided_at", Timestamp(), nullable=False),
)
"""不納欠損: a charge whose 納税義務 was extinguished (時効, or the 執行停止's), the 本税 and
延滞金 written off, and on which ground."""

employers = Table(
    "employers",
    tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payer_no", String(20), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("postal_code", String(8)),
    Column("address", Text),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
)
"""特別徴収義務者: the employers who pay their employees' tax, by 指定番号, with the name
the levy gave and the address the staff keep (or a levy gave), for letters to them."""
