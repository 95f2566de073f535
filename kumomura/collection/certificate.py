"""納税証明書 (完納証明): that a person owes nothing of what has fallen due, on a day, for
every levy collection keeps: refused, naming what is owed, where something is.

Issued at the counter with a purpose, numbered per fiscal year, signed by the certifier
of the residents' parameters; the fee is the municipality's (条例), a parameter.
"""

from __future__ import annotations

from datetime import date

from reportlab.lib.units import mm
from sqlalchemy import Connection

from kumomura.collection.params import MODULE, CollectionParameters
from kumomura.collection.service import charge_states, levy_name
from kumomura.collection.tables import charges
from kumomura.platform import audit, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.core.japanese import era_date
from kumomura.platform.params import fiscal_year
from kumomura.platform.printing import GOTHIC, MARGIN, PAGE_HEIGHT, Page, new_document
from kumomura.platform.storage.numbering import next_value_apart
from kumomura.platform.tenancy.profile import Office
from kumomura.residents import public as residents


def paid_in_full(conn: Connection, ctx: AuditContext, atena_no: str, on: date, *,
                 purpose: str, municipality: str, prefecture: str) -> bytes:
    """The 完納証明 of a person as of ``on``; the issue is audited with its purpose."""
    if not purpose.strip():
        raise InvalidInput("請求の目的を入力してください", field="purpose")
    c = charges.c
    states = charge_states(conn, (c.payer_kind == "person") & (c.payer_no == atena_no[:20]),
                           on)
    owing = [s for s in states if s.due_date < on and (s.balance > 0 or s.late_fee_due > 0)]
    if owing:
        first = owing[0]
        raise InvalidInput(f"未納があるため完納証明書は交付できません ({len(owing)}件、例: "
                           f"{levy_name(first.levy)} {first.fiscal_year}年度 "
                           f"{first.label} 納期限 {first.due_date})", field="atena_no")
    values = params.values_on(conn, MODULE, on)
    assert isinstance(values, CollectionParameters)
    signer = residents.certifier(conn, on)
    if not signer.is_set:
        raise InvalidInput("住民記録のパラメータ mayor_title / mayor_name (証明者) が未設定です",
                           field="mayor_title")
    people = residents.mailing_list(conn, ctx, Office("", f"{prefecture}{municipality}"),
                                    [atena_no[:15]]).to_dicts()
    if not people:
        raise InvalidInput(f"宛名番号 {atena_no} の方は見つかりません", field="atena_no")
    year = fiscal_year(on)
    issue_no = f"{year}-N{next_value_apart(conn, f'collection_certificate:{year}'):06d}"
    audit.record(conn, ctx, "collection.certificate_issued", atena_no=atena_no,
                 detail={"issue_no": issue_no, "purpose": purpose, "on": on.isoformat()})
    levies = sorted({levy_name(s.levy) for s in states}) or [levy_name("inhabitant_tax")]
    buffer, canvas = new_document("納税証明書", municipality)
    page = Page(canvas)
    page.y = PAGE_HEIGHT - MARGIN - 20
    page.title("納 税 証 明 書 (完納証明)")
    page.gap(10)
    person = people[0]
    page.row([("住所", str(person.get("address") or ""), 1.0)])
    page.row([("氏名", str(person["name"]), 0.6), ("宛名番号", atena_no, 0.4)])
    page.row([("税目", "・".join(levies), 1.0)])
    page.row([("証明の内容", f"{era_date(on)}現在、納期限の到来した上記の税に未納はありません",
               1.0)], height=12 * mm)
    page.row([("請求の目的", purpose, 1.0)])
    page.certification(page.y - 20 * mm, text="上記のとおり相違ないことを証明します。",
                       issued_on=on, certifier_title=signer.title, certifier_name=signer.name,
                       fee=values.certificate_fee, issue_no=issue_no)
    page.text(MARGIN, MARGIN + 14, f"{municipality} 収納担当", size=8.5, font=GOTHIC)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
