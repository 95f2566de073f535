"""Seal registration: register, abolish, certify; and abolition ex officio when the
registry removes the person (death, move-out), delivered as an event.

The person is read through the residents module's service, never its tables.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from kumomura.platform import audit, events, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import Conflict, InvalidInput, NotFound
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.params import fiscal_year
from kumomura.platform.storage.numbering import next_value, next_value_apart, with_check_digit
from kumomura.platform.tenancy.profile import Office
from kumomura.residents import public as residents
from kumomura.residents.events import Died, RegistryChanged
from kumomura.seal_registration.events import Abolished, Registered
from kumomura.seal_registration.forms import SealCertificateDoc, seal_certificate_pdf
from kumomura.seal_registration.models import AbolishIn, SealCertificateRequest, SealRegistrationIn
from kumomura.seal_registration.params import MODULE, SealParameters
from kumomura.seal_registration.tables import seal_certificate_issues, seal_registrations

sr = seal_registrations
SYSTEM = AuditContext(actor="system:seal_registration", purpose="住民記録の消除に伴う職権廃止")


def _age(born: date, on: date) -> int:
    """Age in full years (年齢計算ニ関スル法律: a year is complete the day before the
    birthday; comparing month and day gives the same answer for these rules)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _settings(conn: Connection, on: date) -> SealParameters:
    value = params.values_on(conn, MODULE, on)
    assert isinstance(value, SealParameters)
    return value


def register(conn: Connection, ctx: AuditContext, req: SealRegistrationIn) -> dict[str, Any]:
    """A resident of at least the minimum age, with no other seal registered."""
    person = residents.current(conn, req.atena_no)
    if person["status"] != "resident":
        raise InvalidInput(f"{req.atena_no} は住民ではないため登録できません", field="atena_no")
    settings = _settings(conn, req.registered_on)
    if _age(person["birth_date"], req.registered_on) < settings.min_age:
        raise InvalidInput(f"{settings.min_age}歳未満の方は印鑑登録できません", field="atena_no")
    active = conn.execute(select(sr.c.registration_no).where(
        sr.c.atena_no == req.atena_no, sr.c.status == "active").with_for_update()).first()
    if active is not None:
        raise Conflict(f"{req.atena_no} は登録番号 {active[0]} で登録済みです (廃止してから登録)",
                       field="atena_no")
    number = with_check_digit(next_value(conn, "seal_registration_no"), 15)
    row = {"registration_no": number, "atena_no": req.atena_no,
           "registered_on": req.registered_on, "impression_text": req.impression_text,
           "impression_png": req.png(), "status": "active", "registered_by": ctx.actor,
           "created_at": utcnow()}
    try:
        with conn.begin_nested():  # the unique index decides between concurrent clerks
            conn.execute(insert(sr).values(**row))
    except IntegrityError:
        raise Conflict(f"{req.atena_no} は同時に別の印鑑が登録されました", field="atena_no") \
            from None
    events.emit(conn, Registered(registration_no=number, atena_no=req.atena_no),
                atena_no=req.atena_no, request_id=ctx.request_id)
    audit.record(conn, ctx, "seal_registration.register", atena_no=req.atena_no,
                 detail={"registration_no": number})
    return {k: v for k, v in row.items() if k != "impression_png"}


def _registration(conn: Connection, registration_no: str) -> dict[str, Any]:
    row = conn.execute(select(sr).where(sr.c.registration_no == registration_no)
                       .with_for_update()).mappings().first()
    if row is None:
        raise NotFound(f"登録番号 {registration_no} の印鑑登録はありません",
                       field="registration_no")
    return dict(row)


def abolish(conn: Connection, ctx: AuditContext, registration_no: str, req: AbolishIn) -> None:
    reg = _registration(conn, registration_no)
    if reg["status"] != "active":
        raise Conflict(f"登録番号 {registration_no} は{reg['abolished_on']}に廃止済みです",
                       field="registration_no")
    if req.abolished_on < reg["registered_on"]:
        raise InvalidInput("廃止日が登録日より前です", field="abolished_on")
    conn.execute(update(sr).where(sr.c.registration_no == registration_no).values(
        status="abolished", abolished_on=req.abolished_on, abolish_reason=req.reason))
    events.emit(conn, Abolished(registration_no=registration_no, reason=req.reason),
                atena_no=reg["atena_no"], request_id=ctx.request_id)
    audit.record(conn, ctx, "seal_registration.abolish", atena_no=reg["atena_no"],
                 detail={"registration_no": registration_no, "reason": req.reason})


def of_person(conn: Connection, atena_no: str, *, ctx: AuditContext) -> list[dict[str, Any]]:
    """A person's registrations, active and abolished (the look is audited)."""
    audit.record(conn, ctx, "seal_registration.view", atena_no=atena_no)
    rows = conn.execute(select(sr).where(sr.c.atena_no == atena_no)
                        .order_by(sr.c.registered_on)).mappings().all()
    return [{k: v for k, v in r.items() if k != "impression_png"}
            | {"has_impression": r["impression_png"] is not None} for r in rows]


def impression(conn: Connection, ctx: AuditContext, atena_no: str,
               registration_no: str) -> bytes:
    """The scanned impression of a person's registration, for the counter to compare
    with the seal presented; the look is audited."""
    png = conn.execute(select(sr.c.impression_png).where(
        sr.c.registration_no == registration_no, sr.c.atena_no == atena_no)).scalar()
    if png is None:
        raise NotFound(f"登録番号 {registration_no} の印影の画像はありません",
                       field="registration_no")
    audit.record(conn, ctx, "seal_registration.impression_viewed", atena_no=atena_no,
                 detail={"registration_no": registration_no})
    return bytes(png)


def check_owner(conn: Connection, atena_no: str, registration_no: str) -> None:
    """Refuse a registration number that is not this person's (a page acts on the
    person it shows, whatever number is put in its address)."""
    if _registration(conn, registration_no)["atena_no"] != atena_no:
        raise NotFound(f"登録番号 {registration_no} の印鑑登録はありません",
                       field="registration_no")


def issue_certificate(conn: Connection, ctx: AuditContext, office: Office, registration_no: str,
                      req: SealCertificateRequest, *, today: date | None = None
                      ) -> tuple[str, int, bytes]:
    """印鑑登録証明書 of an active registration of a current resident."""
    today = today or date.today()
    reg = _registration(conn, registration_no)
    if reg["status"] != "active":
        raise InvalidInput(f"登録番号 {registration_no} は廃止されています",
                           field="registration_no")
    person = residents.current(conn, reg["atena_no"])
    if person["status"] != "resident":
        raise InvalidInput("住民でない方の証明書は発行できません", field="registration_no")
    settings = _settings(conn, today)
    signer = residents.certifier(conn, today)
    if not signer.is_set:
        raise InvalidInput("認証者 (パラメータ residents.mayor_title, mayor_name) が"
                           "設定されていません", field="mayor_name")
    issue_no = f"{fiscal_year(today)}-S{next_value_apart(conn, f'seal:{fiscal_year(today)}'):06d}"
    line = f" {person['address_line']}" if person["address_line"] else ""
    pdf = seal_certificate_pdf(SealCertificateDoc(
        registration_no=registration_no, impression_text=reg["impression_text"],
        impression_png=reg["impression_png"], name=person["name"], kana=person["kana"],
        birth_date=person["birth_date"], sex=person["sex"],
        address=f"{office.prefix}{person['address_town']}{line}", issue_no=issue_no,
        issued_on=today, certification=settings.certification,
        mayor_title=signer.title, mayor_name=signer.name,
        fee=settings.certificate_fee))
    conn.execute(insert(seal_certificate_issues).values(
        issue_no=issue_no, registration_no=registration_no, atena_no=reg["atena_no"],
        purpose=req.purpose, fee=settings.certificate_fee, issued_by=ctx.actor,
        issued_at=utcnow(), request_id=ctx.request_id))
    audit.record(conn, dataclasses.replace(ctx, purpose=req.purpose),
                 "seal_registration.certificate_issued", atena_no=reg["atena_no"],
                 detail={"issue_no": issue_no, "registration_no": registration_no})
    return issue_no, settings.certificate_fee, pdf


def on_resident_removed(conn: Connection, event: RegistryChanged,
                        envelope: events.Event) -> None:
    """印鑑登録証明事務処理要領 第6: the registration ends ex officio when the person
    dies or moves out. Idempotent: a redelivered event finds nothing active."""
    if event.status != "removed":
        return
    reason = "死亡による職権廃止" if isinstance(event, Died) else "転出による職権廃止"
    active = conn.execute(select(sr.c.registration_no, sr.c.registered_on).where(
        sr.c.atena_no == event.atena_no, sr.c.status == "active")).all()
    for number, registered_on in active:
        abolish(conn, dataclasses.replace(SYSTEM, request_id=envelope.request_id), number,
                AbolishIn(abolished_on=max(event.effective_on, registered_on), reason=reason))
