"""収納管理 (collection): one account per addressee across every levy.

Where things are: law.py (延滞金 rates per calendar year), late_fee.py (the calculation),
params.py (督促手数料), tables.py, service.py (charges taken from the levies' events, the
account), payments.py (payment files matched and applied), zengin.py and debit.py
(口座振替: the 全銀協 file, enrolment, request and results), demands.py (督促 job),
slips.py (納付書 with the convenience-store barcode), arrears.py (滞納 with aging, and
the list as a job), plans.py (分納誓約), write_offs.py (執行停止, 時効 and 不納欠損),
certificate.py (納税証明書), cvs.py (コンビニ速報・確報), refunds.py (還付・充当
with 還付加算金), public.py, layout.py, ui.py (the counter's page), cli.py.
"""

from __future__ import annotations

from pathlib import Path

from kumomura.collection import arrears, cli, demands, events, layout, public, tables, ui
from kumomura.collection.params import MODULE as CODE
from kumomura.collection.params import PARAMS
from kumomura.collection.service import take_charges
from kumomura.inhabitant_tax.events import Charged as InhabitantTaxCharged
from kumomura.platform.modules import BusinessModule, MenuItem

HERE = Path(__file__).parent

MODULE = BusinessModule(
    code=CODE,
    name="収納管理",
    package=__package__ or "kumomura.collection",
    tables=(tables.charges, tables.charge_changes, tables.payment_files, tables.payments,
            tables.allocations, tables.debit_accounts, tables.debit_items, tables.demands,
            tables.refunds, tables.installment_plans, tables.plan_installments,
            tables.enforcement_stays, tables.write_offs, tables.employers),
    params=PARAMS,
    publishes=events.PUBLISHED,
    handlers={InhabitantTaxCharged: take_charges},
    jobs=(demands.DEMANDS_JOB, arrears.ARREARS_JOB),
    layouts=layout.LAYOUTS,
    migrations=HERE / "migrations",
    pages=ui.ui,
    templates=HERE / "templates",
    cli=cli.app,
    cli_name="collection",
    menu=(MenuItem("/t/{lg}/collection", "収納"),),
    public=public,
)
