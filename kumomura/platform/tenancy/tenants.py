"""Control plane: the member municipalities, their lifecycle and per-business go-live dates.

A tenant is created in state ``onboarding`` together with its storage (schema and role,
or SQLite file), in one step that either completes or leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from kumomura.platform.core.businesses import BUSINESSES, validate_business
from kumomura.platform.core.errors import Conflict, InvalidInput, NotFound
from kumomura.platform.core.japanese import LgCodeError, validate_lg_code
from kumomura.platform.core.timeutil import Timestamp, utcnow
from kumomura.platform.storage.db import Database, platform_metadata
from kumomura.platform.storage.logins import REPLACEABLE_STATES
from kumomura.platform.storage.migrate import provision_tenant

PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)  # fmt: skip
"""In 都道府県コード order (JIS X 0401), so index + 1 is the code's first two digits."""


class TenantState(StrEnum):
    ONBOARDING = "onboarding"
    LIVE = "live"
    RESTORING = "restoring"
    SUSPENDED = "suspended"
    LEFT = "left"


STATE_NAMES = {TenantState.ONBOARDING: "移行中", TenantState.LIVE: "本稼働中",
               TenantState.RESTORING: "復元中", TenantState.SUSPENDED: "停止中",
               TenantState.LEFT: "脱退済み"}

REPLACEABLE = frozenset(TenantState(state) for state in REPLACEABLE_STATES)
"""The states in which an import may replace a municipality's tables: before it goes
live, and during a restore two people agreed to."""

_ALLOWED_TRANSITIONS: dict[TenantState, set[TenantState]] = {
    TenantState.ONBOARDING: {TenantState.LIVE, TenantState.LEFT},
    TenantState.LIVE: {TenantState.SUSPENDED, TenantState.LEFT},
    TenantState.RESTORING: {TenantState.LIVE},
    TenantState.SUSPENDED: {TenantState.LIVE, TenantState.LEFT},
    TenantState.LEFT: set(),
}
"""``restoring`` is entered only through an approved restore request (resilience)."""

tenants = Table(
    "tenants",
    platform_metadata,
    Column("lg_code", String(6), primary_key=True),
    Column("name", Text, nullable=False),
    Column("prefecture", Text, nullable=False),
    Column("population", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("placement", String(64), nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
)

tenant_businesses = Table(
    "tenant_businesses",
    platform_metadata,
    Column("lg_code", String(6), ForeignKey("platform.tenants.lg_code"), primary_key=True),
    Column("business", String(64), primary_key=True),
    Column("go_live", Date, nullable=False),
)

tenant_state_changes = Table(
    "tenant_state_changes",
    platform_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lg_code", String(6), ForeignKey("platform.tenants.lg_code"), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("at", Timestamp(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text),
)


@dataclass(frozen=True)
class Tenant:
    lg_code: str
    name: str
    prefecture: str
    population: int
    state: TenantState
    placement: str
    go_live: dict[str, date]

    @property
    def schema(self) -> str:
        return f"t_{self.lg_code}"

    def is_live_for(self, business: str, on: date) -> bool:
        """Whether the business serves this municipality on a date (staggered go-live)."""
        start = self.go_live.get(business)
        return self.state == TenantState.LIVE and start is not None and start <= on


def parse_lg_code(code: str) -> str:
    """Validate a code from user input, as InvalidInput naming the field."""
    try:
        return validate_lg_code(code)
    except LgCodeError as exc:
        raise InvalidInput(str(exc), field="lg_code") from exc


def _validate_new(code: str, name: str, prefecture: str, population: int) -> None:
    parse_lg_code(code)
    if not name.strip():
        raise InvalidInput("name: must not be empty", field="name")
    if prefecture not in PREFECTURES:
        raise InvalidInput(f"prefecture {prefecture!r} is not a prefecture name (e.g. 山形県)",
                           field="prefecture")
    expected = PREFECTURES[int(code[:2]) - 1]
    if prefecture != expected:
        raise InvalidInput(
            f"prefecture {prefecture} does not match lg_code {code}, which is in {expected}",
            field="prefecture",
        )
    if population <= 0:
        raise InvalidInput(f"population {population}: must be a positive number",
                           field="population")


def add_tenant(
    db: Database,
    *,
    code: str,
    name: str,
    prefecture: str,
    population: int,
    actor: str,
    placement: str = "primary",
) -> Tenant:
    """Register a municipality and create its storage, all or nothing."""
    _validate_new(code, name, prefecture, population)
    now = utcnow()
    with db.owner_tx() as conn:  # the schema and its login are made: the owner's step
        exists = conn.execute(select(tenants.c.lg_code).where(tenants.c.lg_code == code))
        if exists.first() is not None:
            raise Conflict(f"tenant {code} already exists", field="lg_code")
        conn.execute(
            insert(tenants).values(
                lg_code=code, name=name.strip(), prefecture=prefecture,
                population=population, state=TenantState.ONBOARDING, placement=placement,
                created_at=now, updated_at=now,
            )
        )
        conn.execute(
            insert(tenant_state_changes).values(
                lg_code=code, from_state=None, to_state=TenantState.ONBOARDING, at=now,
                actor=actor, reason="tenant added",
            )
        )
        # On PostgreSQL the schema, role and tables join this transaction; on SQLite the
        # file is created and removed again if anything below fails.
        provision_tenant(db, code, conn)
    return get_tenant(db, code)


def _row_to_tenant(row: dict[str, object], go_live: dict[str, date]) -> Tenant:
    return Tenant(
        lg_code=str(row["lg_code"]), name=str(row["name"]), prefecture=str(row["prefecture"]),
        population=int(str(row["population"])), state=TenantState(str(row["state"])),
        placement=str(row["placement"]), go_live=go_live,
    )


def list_tenants(db: Database, *, include_left: bool = True) -> list[Tenant]:
    with db.platform_tx() as conn:
        rows = conn.execute(select(tenants).order_by(tenants.c.lg_code)).mappings().all()
        lives = conn.execute(select(tenant_businesses)).all()
    by_code: dict[str, dict[str, date]] = {}
    for lg_code, business, go_live in lives:
        by_code.setdefault(lg_code, {})[business] = go_live
    result = [_row_to_tenant(dict(r), by_code.get(r["lg_code"], {})) for r in rows]
    if not include_left:
        result = [t for t in result if t.state != TenantState.LEFT]
    return result


def get_tenant(db: Database, code: str) -> Tenant:
    parse_lg_code(code)
    with db.platform_tx() as conn:
        row = conn.execute(select(tenants).where(tenants.c.lg_code == code)).mappings().first()
        lives = conn.execute(
            select(tenant_businesses.c.business, tenant_businesses.c.go_live).where(
                tenant_businesses.c.lg_code == code
            )
        ).all()
    if row is None:
        raise NotFound(f"tenant {code} does not exist", field="lg_code")
    return _row_to_tenant(dict(row), {b: d for b, d in lives})


def set_state(db: Database, code: str, to: TenantState, *, actor: str, reason: str) -> Tenant:
    """Move a tenant through its lifecycle; a transition the lifecycle forbids is refused."""
    current = get_tenant(db, code)
    if to not in _ALLOWED_TRANSITIONS[current.state]:
        raise Conflict(f"tenant {code}: cannot go from {current.state} to {to}", field="state")
    return _move(db, current, to, actor=actor, reason=reason)


def begin_restore(db: Database, code: str, *, actor: str, reason: str) -> Tenant:
    """Put a live (or suspended) municipality into ``restoring`` for an approved restore;
    only the restore itself calls this, never the lifecycle command."""
    current = get_tenant(db, code)
    if current.state not in (TenantState.LIVE, TenantState.SUSPENDED):
        raise Conflict(f"tenant {code} is {current.state}: only a live or suspended member "
                       "is restored through a request", field="state")
    return _move(db, current, TenantState.RESTORING, actor=actor, reason=reason)


def _move(db: Database, current: Tenant, to: TenantState, *, actor: str, reason: str,
          ) -> Tenant:
    code = current.lg_code
    now = utcnow()
    with db.platform_tx() as conn:
        conn.execute(
            update(tenants).where(tenants.c.lg_code == code).values(state=to, updated_at=now)
        )
        conn.execute(
            insert(tenant_state_changes).values(
                lg_code=code, from_state=current.state, to_state=to, at=now, actor=actor,
                reason=reason,
            )
        )
    return get_tenant(db, code)


def set_go_live(db: Database, code: str, business: str, go_live: date) -> Tenant:
    """Schedule (or move) the date a business starts serving this municipality."""
    validate_business(business)
    tenant = get_tenant(db, code)
    if tenant.state == TenantState.LEFT:
        raise Conflict(f"tenant {code} has left the consortium", field="state")
    with db.platform_tx() as conn:
        if business in tenant.go_live:
            conn.execute(
                update(tenant_businesses)
                .where(tenant_businesses.c.lg_code == code)
                .where(tenant_businesses.c.business == business)
                .values(go_live=go_live)
            )
        else:
            conn.execute(
                insert(tenant_businesses).values(lg_code=code, business=business,
                                                 go_live=go_live)
            )
    return get_tenant(db, code)


def state_history(db: Database, code: str) -> list[dict[str, object]]:
    get_tenant(db, code)
    with db.platform_tx() as conn:
        rows = conn.execute(
            select(tenant_state_changes)
            .where(tenant_state_changes.c.lg_code == code)
            .order_by(tenant_state_changes.c.id)
        ).mappings().all()
    return [dict(r) for r in rows]


def tenant_codes(db: Database) -> list[str]:
    """Every member's code, left ones included (their storage is still migrated)."""
    with db.platform_tx() as conn:
        return list(conn.execute(select(tenants.c.lg_code).order_by(tenants.c.lg_code))
                    .scalars())


def business_name(code: str) -> str:
    return BUSINESSES[code]
