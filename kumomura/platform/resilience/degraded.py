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
from typing import Any

from sqlalchemy import insert, select

from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import Conflict, InvalidInput
from kumomura.platform.resilience import backup
from kumomura.platform.storage.db import Database
from kumomura.platform.storage.migrate import upgrade_platform
from kumomura.platform.tenancy.tenants import add_tenant, get_tenant, list_tenants

PACKAGE_LAYOUTS = frozenset({
    "atena", "households", "changes", "resident_versions", "protection_orders",
    "certificate_issues", "counters", "param_changes", "seal_registrations",
    "assessments", "income_returns"})
"""What a town hall needs to serve its counter: the registry and its history, protection
orders (so that the block holds offline too), certificates issued (numbering), the
certifier's parameters, seals, and the assessments (with the returns they point to)."""

WRITES_ALLOWED = ("/login", "/logout")


def package(db: Database, lg_code: str, target: Path, *, key_dir: Path,
            ctx: AuditContext) -> backup.BackupInfo:
    tenant = get_tenant(db, lg_code)
    return backup.run(db, lg_code, target, key_dir=key_dir, ctx=ctx, keep=3,
                      only=PACKAGE_LAYOUTS,
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
    upgrade_platform(local)
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


def issuance_log(local: Database, lg_code: str) -> list[dict[str, Any]]:
    """The certificates issued in degraded operation (their own D series)."""
    from kumomura.residents.certificates import DEGRADED_PREFIX
    from kumomura.residents.tables import certificate_issues

    with local.tenant_tx(lg_code) as conn:
        rows = conn.execute(select(certificate_issues).where(
            certificate_issues.c.issue_no.startswith(DEGRADED_PREFIX))
            .order_by(certificate_issues.c.issue_no)).mappings().all()
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows]


def bring_back(db: Database, lg_code: str, rows: list[dict[str, Any]],
               ctx: AuditContext) -> int:
    """Record in the cloud the certificates issued at the town hall; those already
    brought back are skipped, so bringing a log back twice changes nothing."""
    from datetime import datetime

    from kumomura.residents.certificates import DEGRADED_PREFIX
    from kumomura.residents.tables import certificate_issues

    added = 0
    with db.tenant_tx(lg_code) as conn:
        known = set(conn.execute(select(certificate_issues.c.issue_no).where(
            certificate_issues.c.issue_no.startswith(DEGRADED_PREFIX))).scalars())
        for row in rows:
            if not str(row["issue_no"]).startswith(DEGRADED_PREFIX):
                raise InvalidInput(f"{row['issue_no']} は縮退運用の番号ではありません",
                                   field="issue_no")
            if row["issue_no"] in known:
                continue
            conn.execute(insert(certificate_issues).values(
                **{**row, "issued_at": datetime.fromisoformat(str(row["issued_at"]))}))
            for atena_no in row["atena_nos"] or [None]:
                audit.record(conn, ctx, "residents.certificate_issued_degraded",
                             atena_no=atena_no, detail={
                                 "issue_no": row["issue_no"], "issued_by": row["issued_by"],
                                 "issued_at": row["issued_at"], "purpose": row["purpose"]})
            added += 1
    return added
