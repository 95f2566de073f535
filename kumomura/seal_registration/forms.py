"""印鑑登録証明書: the registered impression, the person, and the certification."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader

from kumomura.platform.core.japanese import era_date, kana_display
from kumomura.platform.printing import (
    GOTHIC,
    MARGIN,
    MINCHO,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    SEAL_RED,
    Page,
    new_document,
)

TITLE = "印鑑登録証明書"
IMPRESSION = 30 * mm


@dataclass(frozen=True)
class SealCertificateDoc:
    registration_no: str
    impression_text: str
    impression_png: bytes | None
    name: str
    kana: str
    birth_date: date
    sex: str
    address: str
    issue_no: str
    issued_on: date
    certification: str
    mayor_title: str
    mayor_name: str
    fee: int


def _impression(page: Page, doc: SealCertificateDoc, x: float, y: float) -> None:
    """The registered impression: the scanned PNG, or the seal's characters in red."""
    c = page.canvas
    if doc.impression_png:
        c.drawImage(ImageReader(io.BytesIO(doc.impression_png)), x, y, IMPRESSION, IMPRESSION,
                    preserveAspectRatio=True, mask="auto")
        return
    c.setStrokeColor(SEAL_RED)
    c.setFillColor(SEAL_RED)
    c.setLineWidth(2)
    c.circle(x + IMPRESSION / 2, y + IMPRESSION / 2, IMPRESSION / 2 - 2)
    chars = list(doc.impression_text)
    size = min(22.0, (IMPRESSION - 14) / len(chars))
    c.setFont(MINCHO, size)
    top = y + IMPRESSION / 2 + size * len(chars) / 2 - size * 0.85
    for i, ch in enumerate(chars):
        c.drawCentredString(x + IMPRESSION / 2, top - i * size, ch)
    c.setFillColorRGB(0, 0, 0)
    c.setStrokeColorRGB(0, 0, 0)


def seal_certificate_pdf(doc: SealCertificateDoc) -> bytes:
    buffer, canvas = new_document(TITLE, doc.mayor_title)
    page = Page(canvas)
    page.text(PAGE_WIDTH - MARGIN - 50 * mm, PAGE_HEIGHT - 12 * mm, f"発行番号 {doc.issue_no}",
              size=8.5, font=GOTHIC)
    page.title(TITLE)
    box_y = page.y - IMPRESSION - 10 * mm
    canvas.rect(MARGIN, box_y, IMPRESSION + 10 * mm, IMPRESSION + 10 * mm)
    _impression(page, doc, MARGIN + 5 * mm, box_y + 5 * mm)
    page.text(MARGIN + IMPRESSION + 14 * mm, page.y - 8 * mm, "印影", size=9, font=GOTHIC)
    page.y = box_y - 6 * mm
    page.row([("登録番号", doc.registration_no, 1.0)])
    page.row([("氏名", f"{doc.name}（{kana_display(doc.kana)}）", 0.55),
              ("生年月日", era_date(doc.birth_date), 0.30),
              ("性別", {"1": "男", "2": "女"}.get(doc.sex, ""), 0.15)])
    page.row([("住所", doc.address, 1.0)])
    page.certification(page.y - 20 * mm, text=doc.certification, issued_on=doc.issued_on,
                       certifier_title=doc.mayor_title, certifier_name=doc.mayor_name,
                       fee=doc.fee, issue_no=doc.issue_no)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
