"""The registry's part in degraded operation (縮退運用): certificates issued at the town
hall from its own copy are numbered in a D series; when the cloud is back they are
carried into the municipality's log in the cloud, each with an audit entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.storage.db import Database
from kumomura.residents.certificates import DEGRADED_PREFIX
from kumomura.residents.tables import certificate_issues

PACKAGE_LAYOUTS = frozenset({"atena", "households", "changes", "resident_versions",
                             "protection_orders", "certificate_issues"})
"""The registry and its history, protection orders (so that the block holds offline
too) and the certificates issued (numbering)."""


def issuance_log(local: Database, lg_code: str) -> list[dict[str, Any]]:
    """The certificates issued in degraded operation (their own D series)."""
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
