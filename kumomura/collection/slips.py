"""納付書: a person's payment slips of a levy's year, one band per installment (期別) in
its three parts (領収証書 for the payer, 納付書 for the bank, 領収済通知書 back to the
municipality), each with its 納期限, amount and 納付番号, and the convenience-store
barcode where the municipality has a 収納企業コード and the amount is one a store takes.

The barcode is GS1-128 (Code 128, FNC1 first) of 44 digits, as the コンビニ収納 guideline
(GS1 Japan / 流通システム開発センター) lays it out: AI 91, the 6-digit company code, 21
digits the issuer uses (here the 納付番号 without its own check digit), 再発行区分, the
支払期限 YYMMDD, 印紙フラグ (0: public money needs no revenue stamp), the amount in 6
digits, and a check digit (modulus 10, weights 3 and 1 from the right). Stores take at
most 300,000 yen a slip; above it the band says so and has no barcode.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from sqlalchemy import Connection, func, select

from kumomura.collection.params import MODULE, CollectionParameters
from kumomura.collection.service import ChargeState, charge_states, levy_name
from kumomura.collection.tables import charges
from kumomura.platform import audit, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.core.japanese import era_date, era_year
from kumomura.platform.levies import check_digit
from kumomura.platform.printing import GOTHIC, MARGIN, PAGE_HEIGHT, PAGE_WIDTH, Page, new_document
from kumomura.platform.tenancy.profile import Office
from kumomura.residents import public as residents

STORE_LIMIT = 300_000


def cvs_digits(company_code: str, payment_no: str, due: date, amount: int,
               reissue: int = 0) -> str:
    """The 44 digits of the convenience-store barcode."""
    if not (company_code.isdigit() and len(company_code) == 6):
        raise InvalidInput("収納企業コードは6桁の数字です", field="cvs_company_code")
    if not 0 < amount <= STORE_LIMIT:
        raise InvalidInput(f"コンビニで納付できるのは{STORE_LIMIT:,}円までです", field="amount")
    free = payment_no[:-1]  # the 納付番号's own check digit is left to the barcode's
    if not (free.isdigit() and len(free) == 21):
        raise InvalidInput(f"納付番号 {payment_no} はバーコードにできません", field="payment_no")
    body = f"91{company_code}{free}{reissue % 10}{due:%y%m%d}0{amount:06d}"
    return body + check_digit(body)


def slips(states: list[ChargeState], person: dict[str, Any], *, municipality: str,
          company_code: str, issued: date) -> bytes:
    """The person's 納付書, four installments a page."""
    buffer, canvas = new_document("納付書", municipality)
    for start in range(0, len(states), 4):
        page = Page(canvas)
        _head(page, person, municipality, issued)
        for i, state in enumerate(states[start:start + 4]):
            _band(page, state, PAGE_HEIGHT - MARGIN - 70 - i * 62 * mm,
                  str(person.get("name") or "（宛名不明）"), municipality, company_code)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _head(page: Page, person: dict[str, Any], municipality: str, issued: date) -> None:
    top = PAGE_HEIGHT - MARGIN - 8
    name = f"{person.get('name') or '（宛名不明）'}　様"
    page.text(MARGIN, top, name, size=page.fit(name, 100 * mm, 14))
    page.text(MARGIN, top - 18, str(person.get("address") or ""), size=9.5)
    page.text(PAGE_WIDTH - MARGIN - 62 * mm, top, f"{municipality}　納付書", size=12,
              font=GOTHIC)
    page.text(PAGE_WIDTH - MARGIN - 62 * mm, top - 16, f"発行日 {era_date(issued)}", size=9)


PARTS = (("領収証書", "納税者保管"), ("納付書", "金融機関保管"), ("領収済通知書", "市町村へ送付"))
"""The three parts of one installment's slip: the payer's receipt, the bank's copy, and
the notice of receipt that comes back to the municipality."""


WIDTHS = (46 * mm, 46 * mm, PAGE_WIDTH - 2 * MARGIN - 92 * mm)
"""The parts' widths: the last one holds the barcode whole (the store scans it before
the parts are torn apart)."""


def _band(page: Page, s: ChargeState, y: float, name: str, municipality: str,
          company_code: str) -> None:
    """One installment: its three parts side by side, the payer's with the place of the
    bank's stamp (領収日付印), the last with the convenience-store barcode."""
    c = page.canvas
    c.setDash(3, 3)
    c.line(MARGIN, y + 6 * mm, PAGE_WIDTH - MARGIN, y + 6 * mm)  # cut here
    edges = [MARGIN + sum(WIDTHS[:i]) for i in range(4)]
    for x in edges[1:3]:
        c.line(x, y + 6 * mm, x, y - 50 * mm)
    c.setDash()
    for i, (title, keeper) in enumerate(PARTS):
        x, width = edges[i] + 2 * mm, WIDTHS[i] - 4 * mm
        page.text(x, y, title, size=10.5, font=GOTHIC)
        page.text(x + width - 17 * mm, y, f"({keeper})", size=6.5)
        line = f"{levy_name(s.levy)} {era_year(date(s.fiscal_year, 4, 1))}度 {s.label}"
        page.text(x, y - 13, line, size=page.fit(line, width, 8.5))
        page.text(x, y - 25, f"納期限 {era_date(s.due_date)}", size=8.5)
        page.text(x, y - 37, f"納付番号 {s.payment_no}", size=page.fit(
            f"納付番号 {s.payment_no}", width, 7))
        page.text(x, y - 49, f"{name}　様", size=page.fit(f"{name}　様", width, 8.5))
        page.text(x, y - 65, f"納付額 {s.balance:,}円", size=12, font=GOTHIC)
        page.text(x, y - 77, f"{municipality}会計管理者", size=7)
    c.setDash(1, 2)
    c.circle(edges[1] - 14 * mm, y - 105, 10 * mm)
    c.setDash()
    page.text(edges[1] - 21 * mm, y - 107, "領収日付印", size=7)
    x = edges[2] + 1.5 * mm
    if not company_code:
        page.text(x, y - 100, "金融機関・役所の窓口で納付してください", size=8.5)
        return
    if s.balance > STORE_LIMIT:
        page.text(x, y - 100, f"{STORE_LIMIT:,}円を超えるため、コンビニでは納付できません",
                  size=8)
        return
    digits = cvs_digits(company_code, s.payment_no, s.due_date, s.balance)
    code = Code128("\xf1" + digits, barHeight=10 * mm, barWidth=0.25 * mm, quiet=True)
    code.drawOn(c, x, y - 125)
    page.text(x + 2 * mm, y - 134, digits, size=page.fit(digits, WIDTHS[2] - 6 * mm, 7))


def issue(conn: Connection, ctx: AuditContext, atena_no: str, fiscal_year: int | None, on: date, *,
          municipality: str, prefecture: str) -> bytes:
    """The person's 納付書 of a year (by default the latest they have charges of), for
    what is still owed on each installment; the issue is audited."""
    c = charges.c
    mine = (c.payer_kind == "person") & (c.payer_no == atena_no[:20])
    year = fiscal_year or conn.execute(select(func.max(c.fiscal_year)).where(mine)).scalar()
    owed = [s for s in charge_states(conn, mine & (c.fiscal_year == (year or 0)), on)
            if s.balance > 0]
    if not owed:
        raise InvalidInput(f"宛名番号 {atena_no} に{year or ''}年度の未納の調定はありません",
                           field="atena_no")
    values = params.values_on(conn, MODULE, on)
    assert isinstance(values, CollectionParameters)
    people = residents.mailing_list(conn, ctx, Office("", f"{prefecture}{municipality}"),
                                    [atena_no]).to_dicts()
    audit.record(conn, ctx, "collection.slip_issued", atena_no=atena_no,
                 detail={"fiscal_year": year, "payment_nos": [s.payment_no for s in owed]})
    return slips(owed, people[0] if people else {}, municipality=municipality,
                 company_code=values.cvs_company_code, issued=on)
