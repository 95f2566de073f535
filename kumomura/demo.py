"""The demo consortium: the eight Okitama (置賜) municipalities on one deployment.

Codes are the real 全国地方公共団体コード. Populations are those the Okitama joint
outsourcing project published for its members (山形県「山形県置賜地域(7市町)における共同
アウトソーシング」, 2010-02-09, as of 2009-10-01; total 229,519). Running it twice changes
nothing: what exists is kept.
"""

from __future__ import annotations

from datetime import date

from faker import Faker
from rich.progress import Progress

from kumomura.collection import public as collection
from kumomura.costs import public as costs
from kumomura.inhabitant_tax import public as tax
from kumomura.platform import events, installation, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.core.errors import Conflict
from kumomura.platform.deployment import upgrade_platform
from kumomura.platform.identity import auth, second_factor
from kumomura.platform.identity.auth import Scope
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import (
    TenantState,
    add_tenant,
    list_tenants,
    set_go_live,
    set_state,
)
from kumomura.residents import public as residents

DEMO_PASSWORD = "kumomura-demo"  # noqa: S105 - printed for the demo's synthetic users

OKITAMA: list[tuple[str, str, int]] = [
    ("062022", "米沢市", 90258),
    ("062090", "長井市", 29642),
    ("062138", "南陽市", 34126),
    ("063819", "高畠町", 25242),
    ("063827", "川西町", 17584),
    ("064017", "小国町", 9095),
    ("064025", "白鷹町", 15462),
    ("064033", "飯豊町", 8110),
]

# Staggered go-live (さみだれ方式): the first wave goes live with 住民記録 and tax together;
# later members follow a few months apart; the last two are still onboarding.
WAVES: dict[str, list[tuple[str, date]]] = {
    "062022": [("residents", date(2026, 1, 4)), ("inhabitant_tax", date(2026, 1, 4))],
    "062090": [("residents", date(2026, 1, 4)), ("inhabitant_tax", date(2026, 4, 1))],
    "062138": [("residents", date(2026, 5, 7)), ("inhabitant_tax", date(2026, 5, 7))],
    "063819": [("residents", date(2026, 5, 7)), ("inhabitant_tax", date(2026, 10, 1))],
    "063827": [("residents", date(2026, 10, 1)), ("inhabitant_tax", date(2026, 10, 1))],
    "064025": [("residents", date(2026, 10, 1))],
    "064033": [("residents", date(2027, 1, 4))],
    "064017": [("residents", date(2027, 4, 1))],
}

# Where members depart from the national defaults, as real members do.
DEPARTURES: dict[str, list[tuple[str, object]]] = {
    "062022": [("idle_timeout_minutes", 20)],
    "062138": [("mfa_required_for_personal_data", True), ("idle_timeout_minutes", 60)],
}
MFA_MEMBERS = {"062138"}
"""Members whose staff log in with a second factor: the demo enrolls TOTP for them."""


def _ensure_user(db: Database, username: str, display: str, scope: Scope, code: str | None,
                 roles: list[str]) -> str | None:
    """Create a demo user (kept from an earlier run otherwise); where the member requires a
    second factor, enroll TOTP and return the authenticator URI to print."""
    try:
        auth.create_user(db, username=username, password=DEMO_PASSWORD, display_name=display,
                         scope=scope, lg_code=code, role_names=roles)
    except Conflict:
        return None
    return second_factor.enrol_unconfirmed(db, username) if code in MFA_MEMBERS else None


DEMO = AuditContext(actor="demo")
DEMO_DAY = date(2026, 11, 1)


def _certifier(db: Database, code: str, name: str, fake: Faker) -> None:
    """The mayor (a synthetic name) who certifies the member's certificates."""
    title = f"{name}長"
    with db.tenant_tx(code) as conn:
        for field, value in (("mayor_title", title), ("mayor_name", fake.name())):
            params.set_value(conn, "residents", field, value, effective_from=date(2024, 4, 1),
                             ctx=DEMO, reason="首長")


OWN_PAYMENTS = {"063827": [("birth_gift", "amount", 50_000)]}
"""Members paying a benefit of their own through a plugin, with its (synthetic) amount:
川西町 its 出生祝金 through the example plugin, where that plugin is installed."""


def _own_payments(db: Database, code: str) -> None:
    installed = {o.name for o in installation.options()}
    with db.tenant_tx(code) as conn:
        for module, field, value in OWN_PAYMENTS.get(code, []):
            if module not in installed:
                continue
            for group, name, setting in (("options", module, True), (module, field, value)):
                params.set_value(conn, group, name, setting, effective_from=date(2026, 4, 1),
                                 ctx=DEMO, reason="町独自の給付 (条例)")


def _residents(db: Database, code: str, name: str, people: int, progress: Progress) -> None:
    """Synthetic residents for a member whose registry is still empty."""
    with db.tenant_tx(code) as conn:
        if residents.count(conn) > 0 or people == 0:
            return
    task = progress.add_task(f"{name} 住民 {people:,}人", total=people)
    population = residents.Population(seed=int(code))
    households = population.households(people, DEMO_DAY, office=f"山形県{name}")
    residents.load_households(db, code, households, on=DEMO_DAY, ctx=DEMO,
                              source="demo (Faker ja_JP)",
                              progress=lambda n: progress.advance(task, n))


def _inhabitant_tax(db: Database, code: str, name: str, progress: Progress) -> None:
    """Synthetic 課税資料 (2025 income) for the member's adults and the 令和8年度 当初課税,
    unless the member has its assessments already. 山形県 levies やまがた緑環境税 with
    the 均等割: 1,000 yen more on the prefecture's part."""
    with db.tenant_tx(code) as conn:
        if tax.count_current(conn, 2026) > 0:
            return
        params.set_value(conn, tax.MODULE, "prefectural_per_capita", 2_000,
                         effective_from=date(2024, 4, 1), ctx=DEMO,
                         reason="やまがた緑環境税 (県民税均等割 1,000円加算)")
        adults = residents.adults_on(conn, date(2026, 1, 1))
    if tax.load_synthetic_returns(db, code, adults, 2025, seed=int(code)) == 0:
        return
    job_id = tax.start_assessment(db, code, 2026, actor="demo", chunk_size=10_000)
    task = progress.add_task(f"{name} 個人住民税 当初課税 {adults.height:,}人",
                             total=jobs.get_job(db, job_id).total_chunks)
    jobs.run_in_process(db, job_id, on_chunk=lambda done, _t: progress.update(task,
                                                                             completed=done))
    # Collection takes the installments as charges (調定) from the assessment's events.
    while events.dispatch(db, code).delivered:
        pass
    with db.tenant_tx(code) as conn:  # and the bank's file of what was paid so far
        collection.load_synthetic_payments(conn, DEMO, date.today(), seed=int(code))


DEMO_COSTS = """code,name,kind,amount,businesses,first_year,years,equal,population,usage,metric
R01,住民記録システム利用料,running,30000000,residents,2026,1,0.3,0.7,0,
T01,個人住民税システム利用料,running,24000000,inhabitant_tax,2026,1,0.3,0.7,0,
D01,データセンター・ネットワーク,running,12000000,residents inhabitant_tax,2026,1,0.5,0.5,0,
P01,納税通知書の印刷・封入,running,6000000,inhabitant_tax,2026,1,0,0,1,notices
S01,移行・構築・研修 (5年で按分),initial,90000000,residents inhabitant_tax,2026,5,0.3,0.7,0,
"""
"""The demo's shared bill for 令和8年度 (synthetic figures, not any consortium's)."""


def _costs(db: Database) -> None:
    """Cost items, usage and standalone costs (synthetic: 12 million yen plus 450 yen a
    resident, as a member alone would pay), unless the secretariat has them already."""
    if costs.inputs(db, 2026).items:
        return
    costs.store_items(db, costs.parse_items(DEMO_COSTS), actor="demo")
    costs.meter(db, 2026)
    for code, _name, population in OKITAMA:
        costs.set_standalone(db, code, 2026, 12_000_000 + 450 * population,
                             basis="単独で導入した場合の見積 (合成)", actor="demo")


def build_demo(db: Database, *, progress: Progress, scale: float = 0.02) -> list[str]:
    """Create (or complete) the demo consortium, with synthetic residents at ``scale`` of
    each member's population; return the login lines to print."""
    fake = Faker("ja_JP")
    fake.seed_instance(2026)
    upgrade_platform(db)
    existing = {t.lg_code for t in list_tenants(db)}
    logins: list[str] = []
    with progress:
        task = progress.add_task("置賜 demo consortium", total=len(OKITAMA))
        for code, name, population in OKITAMA:
            if code not in existing:
                add_tenant(db, code=code, name=name, prefecture="山形県",
                           population=population, actor="demo")
                for business, go_live in WAVES[code]:
                    set_go_live(db, code, business, go_live)
                if min(d for _, d in WAVES[code]) <= date.today():
                    set_state(db, code, TenantState.LIVE, actor="demo", reason="本稼働")
                with db.tenant_tx(code) as conn:
                    for field, value in DEPARTURES.get(code, []):
                        params.set_value(conn, PLATFORM_MODULE, field, value,
                                         effective_from=date(2025, 4, 1),
                                         ctx=DEMO, reason="団体の運用方針")
                _certifier(db, code, name, fake)
                _own_payments(db, code)
            _residents(db, code, name, round(population * scale), progress)
            _inhabitant_tax(db, code, name, progress)
            _ensure_user(db, f"clerk_{code}", f"{name} 窓口", Scope.TENANT, code,
                         ["counter_clerk"])
            _ensure_user(db, f"it_{code}", f"{name} 情報主管課", Scope.TENANT, code,
                         ["municipal_it"])
            _ensure_user(db, f"tax_{code}", f"{name} 税務課", Scope.TENANT, code,
                         ["tax_officer"])
            _ensure_user(db, f"registry_{code}", f"{name} 住民記録担当", Scope.TENANT, code,
                         ["registry_editor"])
            _ensure_user(db, f"collect_{code}", f"{name} 収納担当", Scope.TENANT, code,
                         ["collection_officer"])
            logins.append(f"{name}: clerk_{code} (窓口), registry_{code} (住民記録・支援措置), "
                          f"tax_{code} (税務), collect_{code} (収納), it_{code} (情報主管課)")
            progress.advance(task)
    _costs(db)
    _ensure_user(db, "secretariat", "置賜 事務局", Scope.CONSORTIUM, None, ["secretariat"])
    _ensure_user(db, "operator", "データセンター運用", Scope.OPERATOR, None, ["operator"])
    logins.append("consortium: secretariat (事務局), operator (運用者)")
    return logins
