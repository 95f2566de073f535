"""Issuing certificates: who may have which, the protection-order block, the issue
number, the fee, the log of every issue (交付履歴) and its audit, in one transaction.

The PDF is made inside the transaction: if it cannot be made, the number is not used.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, insert

from kumomura.platform import audit, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.config import get_settings
from kumomura.platform.core.errors import FieldProblem, Forbidden, invalid
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.params import fiscal_year
from kumomura.platform.storage.numbering import next_value_apart
from kumomura.platform.tenancy.profile import Office
from kumomura.residents import service
from kumomura.residents.changes import household_members
from kumomura.residents.forms import CertificateDoc, certificate_pdf
from kumomura.residents.models import CertificateRequest
from kumomura.residents.params import MODULE, ResidentsParameters
from kumomura.residents.tables import certificate_issues


@dataclass(frozen=True)
class IssuedCertificate:
    issue_no: str
    kind: str
    fee: int
    atena_nos: list[str]
    protection_overridden: bool
    pdf: bytes


def _fee_and_text(settings: ResidentsParameters, kind: str) -> tuple[int, str]:
    if kind == "copy":
        return settings.certificate_fee, settings.certification_copy
    if kind == "removed_copy":
        return settings.removed_certificate_fee, settings.certification_removed
    return settings.entries_certificate_fee, settings.certification_entries


DEGRADED_PREFIX = "D"
"""Numbers issued in degraded operation (縮退運用) at the town hall: their own series,
which never meets the cloud's when the log is brought back."""


def issue_number(conn: Connection, on: date) -> str:
    """発行番号: the fiscal year and a serial that starts again each April (in degraded
    operation, ``D`` and a series of its own), taken apart from the issue's transaction
    so that no other counter waits while this certificate renders."""
    year = fiscal_year(on)
    if get_settings().degraded:
        return f"{DEGRADED_PREFIX}{year}-{next_value_apart(conn, f'degraded:{year}'):06d}"
    return f"{year}-{next_value_apart(conn, f'certificate:{year}'):06d}"


def issue(conn: Connection, ctx: AuditContext, office: Office, req: CertificateRequest, *,
          may_override: bool, today: date | None = None) -> IssuedCertificate:
    """Issue one certificate. ``may_override``: the caller may lift a protection order's
    block for a third party (住民記録の管理権限), which then needs a recorded reason."""
    today = today or date.today()
    settings = params.values_on(conn, MODULE, today)
    assert isinstance(settings, ResidentsParameters)
    problems: list[FieldProblem] = []
    if not (settings.mayor_title and settings.mayor_name):
        problems.append(FieldProblem("mayor_name", "認証者 (パラメータ residents.mayor_title, "
                                                   "mayor_name) が設定されていません"))
    if req.household_no:
        service.household(conn, req.household_no, audited=False)  # 404 if unknown
        entries = household_members(conn, req.household_no)
        if not entries:
            problems.append(FieldProblem("household_no", "この世帯には住民がいません"))
    else:
        entries = [service.current(conn, a) for a in req.atena_nos]
        if len({e["household_no"] for e in entries}) > 1:
            problems.append(FieldProblem("atena_nos",
                                         "1通の証明書には同じ世帯の人だけを記載します"))
    wanted = "removed" if req.kind == "removed_copy" else "resident"
    hint = ("除票です: 除票の写しを請求してください" if wanted == "resident"
            else "住民です: 住民票の写しを請求してください")
    for e in entries:
        if e["status"] != wanted:
            problems.append(FieldProblem("atena_nos", f"{e['atena_no']} は{hint}"))
    atena_nos = [e["atena_no"] for e in entries]
    protected = service.active_protection(conn, atena_nos, today) if entries else []
    overridden = False
    if protected and req.applicant_kind == "third_party":
        if not req.override_reason:
            problems.append(FieldProblem(
                "applicant_kind", "支援措置の対象者が含まれるため、第三者には交付できません"))
        elif not may_override:
            raise Forbidden("支援措置の対象者を第三者に交付するには住民記録の管理権限が必要です",
                            field="override_reason")
        else:
            overridden = True
    if problems:
        raise invalid(problems)

    fee, certification = _fee_and_text(settings, req.kind)
    first = entries[0]
    as_of = first["removed_on"] - timedelta(days=1) if first["removed_on"] else today
    head = service.householder_on(conn, first["household_no"], as_of)
    number = issue_number(conn, today)
    pdf = certificate_pdf(CertificateDoc(
        kind=req.kind, office_prefix=office.prefix, entries=entries,
        householder_name=head, items=frozenset(req.items),
        issue_no=number, issued_on=today, certification=certification,
        mayor_title=settings.mayor_title, mayor_name=settings.mayor_name, fee=fee))
    conn.execute(insert(certificate_issues).values(
        issue_no=number, kind=req.kind, atena_nos=atena_nos, household_no=req.household_no,
        items=sorted(req.items), applicant_kind=req.applicant_kind,
        applicant_name=req.applicant_name, purpose=req.purpose, fee=fee,
        override_reason=req.override_reason if overridden else None, issued_by=ctx.actor,
        issued_at=utcnow(), request_id=ctx.request_id))
    with_purpose = dataclasses.replace(ctx, purpose=req.purpose)
    for a in atena_nos:
        audit.record(conn, with_purpose, "residents.certificate_issued", atena_no=a,
                     detail={"issue_no": number, "kind": req.kind,
                             "applicant_kind": req.applicant_kind,
                             "protection_override": req.override_reason if overridden else None})
    return IssuedCertificate(issue_no=number, kind=req.kind, fee=fee, atena_nos=atena_nos,
                             protection_overridden=overridden, pdf=pdf)
