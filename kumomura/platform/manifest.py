"""The platform's own part, declared like a module: the tables every municipality's
schema and the control plane hold for the platform, its parameters (login rules), the
layouts of its tenant tables, the import job and its migrations."""

from __future__ import annotations

from kumomura.platform.audit import audit_head, audit_log, audit_pending
from kumomura.platform.core.businesses import PLATFORM_MODULE
from kumomura.platform.events import event_failures, event_offsets, outbox
from kumomura.platform.exchange.imports import IMPORT_JOB
from kumomura.platform.exchange.platform_layouts import NOT_EXPORTED, PLATFORM_LAYOUTS
from kumomura.platform.identity.auth import AUTH_PARAMS
from kumomura.platform.identity.tables import (
    api_tokens,
    auth_events,
    login_throttle,
    oidc_clients,
    oidc_codes,
    oidc_tokens,
    role_permissions,
    roles,
    user_roles,
    users,
    web_sessions,
)
from kumomura.platform.jobs.queue import job_chunks, job_log, jobs
from kumomura.platform.modules import BusinessModule, OfflineHooks
from kumomura.platform.params import param_changes
from kumomura.platform.resilience.backup import backup_drills
from kumomura.platform.resilience.restores import RESTORE_JOB, restore_requests
from kumomura.platform.storage.numbering import counters
from kumomura.platform.tenancy.tenants import tenant_businesses, tenant_state_changes, tenants
from kumomura.platform.tenancy.usage import api_calls_daily

PLATFORM = BusinessModule(
    code=PLATFORM_MODULE,
    name="共通基盤",
    package="kumomura.platform",
    tables=(
        # in each municipality's schema
        param_changes, counters, audit_log, audit_pending, audit_head, outbox, event_offsets,
        event_failures, job_chunks,
        # in the control plane
        tenants, tenant_businesses, tenant_state_changes, users, roles, role_permissions,
        user_roles, api_tokens, web_sessions, jobs, job_log, api_calls_daily, backup_drills,
        restore_requests, login_throttle, auth_events, oidc_clients, oidc_codes, oidc_tokens,
    ),
    params=AUTH_PARAMS,
    layouts=PLATFORM_LAYOUTS,
    not_exported=NOT_EXPORTED,
    jobs=(IMPORT_JOB, RESTORE_JOB),
    # the number series and the certifier's parameters travel to the town hall
    offline=OfflineHooks(layouts=frozenset({"counters", "param_changes"})),
)
"""Its migrations are the trees' own version folders (``storage/migrations``)."""
