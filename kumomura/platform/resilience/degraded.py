"""縮退運用: a town hall's own copy of its registry, and a counter that runs from it when
the data center or the line is down.

``package`` writes the municipal package: a backup (same encryption, same checks) of the
registry, households, seal registrations and assessments, with the certifier's settings,
and nothing else (no logs; the returns only as the assessments point to them).
``open_local`` puts it into a local SQLite deployment; the web app in degraded mode
(``KUMOMURA_DEGRADED=1``) then answers only reads, logins and certificate issues, and
numbers certificates in a series of their own (``D2026-000001``). When the cloud is back,
``issuance_log`` and ``bring_back`` carry the certificates issued in the meantime into the
municipality's own log in the cloud, each with an audit entry, so numbering and audit
stay whole.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import Conflict, InvalidInput
from kumomura.platform.resilience import backup
from kumomura.platform.storage.db import Database
from kumomura.platform.storage.migrate import upgrade_control_plane
from kumomura.platform.tenancy.tenants import add_tenant, get_tenant, list_tenants

WRITES_ALLOWED = ("/login", "/logout")


def package(db: Database, lg_code: str, target: Path, *, key_dir: Path,
            ctx: AuditContext, layouts: frozenset[str]) -> backup.BackupInfo:
    """The municipal package of ``layouts``: what each installed module's offline hooks
    name (the registry and its history, protection orders, certificates issued, the
    certifier's parameters, seals, assessments)."""
    tenant = get_tenant(db, lg_code)
    return backup.run(db, lg_code, target, key_dir=key_dir, ctx=ctx, keep=3,
                      only=layouts,
                      extra={"kind": "municipal", "name": tenant.name,
                             "prefecture": tenant.prefecture,
                             "population": tenant.population})


def open_local(local: Database, path: Path, *, key_dir: Path, username: str) -> str:
    """Set up (once) the local deployment from a municipal package; return a one-time
    password for the local counter user (the cloud's accounts are not in the package)."""
    from kumomura.platform.identity import auth

    header = backup.read_header(path)
    if header.get("kind") != "municipal":
        raise InvalidInput("団体保管用パッケージではありません", field="package")
    code = str(header["lg_code"])
    upgrade_control_plane(local)
    with local.platform_tx() as conn:
        auth.ensure_builtin_roles(conn)
    if code not in {t.lg_code for t in list_tenants(local)}:
        add_tenant(local, code=code, name=str(header["name"]),
                   prefecture=str(header["prefecture"]),
                   population=int(str(header["population"])), actor="degraded")
        result = backup.restore(local, code, path, key_dir=key_dir)
        if not result.written:
            raise InvalidInput("; ".join(p.reason for p in result.problems[:5]),
                               field="package")
    password = secrets.token_urlsafe(12)
    try:
        auth.create_user(local, username=username, password=password,
                         display_name=f"{header['name']} 縮退運用", scope=auth.Scope.TENANT,
                         lg_code=code, role_names=["counter_clerk"])
    except Conflict:
        auth.set_password(local, username, password)
    return password
