"""The printed certificates of the registry: 住民票の写し (one person or the household),
住民票の除票の写し and 住民票記載事項証明書.

Items the applicant did not ask for (世帯主・続柄, 本籍・筆頭者, 住民票コード) are left off,
as 住民基本台帳法 第12条第5項 allows. The certification text, the date in the Japanese era,
the certifier with the office seal, and the issue number go on the last page only; the
issue number and the page count go on every page (標準仕様書 証明 1.10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from reportlab.lib.units import mm

from kumomura.platform.core.japanese import era_date, kana_display
from kumomura.platform.printing import GOTHIC, MARGIN, PAGE_HEIGHT, PAGE_WIDTH, Page, new_document

TITLES = {"copy": "住民票の写し", "removed_copy": "住民票の除票の写し",
          "entries": "住民票記載事項証明書"}
SEX = {"1": "男", "2": "女"}
ROW = 9 * mm
FOOTER_HEIGHT = 62 * mm


@dataclass(frozen=True)
class CertificateDoc:
    kind: str
    office_prefix: str
    entries: list[dict[str, Any]]
    householder_name: str | None
    items: frozenset[str]
    issue_no: str
    issued_on: date
    certification: str
    mayor_title: str
    mayor_name: str
    fee: int


def _day(value: date | None, foreign: bool = False) -> str:
    """Era dates for Japanese residents; the Western calendar for foreign residents."""
    if value is None:
        return ""
    if foreign:
        return f"{value.year}年{value.month}月{value.day}日"
    return era_date(value)


def _address(doc: CertificateDoc, entry: dict[str, Any]) -> str:
    line = f" {entry['address_line']}" if entry["address_line"] else ""
    return f"{doc.office_prefix}{entry['address_town']}{line}"


def _rows(doc: CertificateDoc, e: dict[str, Any]) -> int:
    """How many rows a person's block takes (the layout of ``_person``)."""
    return int(3 + bool(e["is_foreign"] or "honseki" in doc.items)
               + ("resident_card_code" in doc.items) + (e["status"] == "removed"))


def _pages(doc: CertificateDoc) -> list[list[dict[str, Any]]]:
    """People per page: as many blocks as fit above the footer's room."""
    header = 12 * mm + 34 + ROW * (1 + ("householder" in doc.items)) + 5 * mm
    room = PAGE_HEIGHT - 2 * MARGIN - header - FOOTER_HEIGHT
    pages: list[list[dict[str, Any]]] = [[]]
    used = 0.0
    for e in doc.entries:
        height = _rows(doc, e) * ROW + 4 * mm
        if pages[-1] and used + height > room:
            pages.append([])
            used = 0.0
        pages[-1].append(e)
        used += height
    return pages


def _person(page: Page, doc: CertificateDoc, e: dict[str, Any]) -> None:
    foreign = bool(e["is_foreign"])
    page.row([("氏名", f"{e['name']}（{kana_display(e['kana'])}）", 0.55),
              ("生年月日", _day(e["birth_date"], foreign), 0.30),
              ("性別", SEX.get(e["sex"], ""), 0.15)])
    moved = [("住民となった日", _day(e["became_resident_on"], foreign), 0.35),
             ("住所を定めた日", _day(e["address_set_on"], foreign), 0.35)]
    if "householder" in doc.items:
        page.row([("続柄", e["relationship"], 0.30), *moved])
    else:
        page.row([(label, value, 0.5) for label, value, _ in moved])
    page.row([("前住所", e["previous_address"] or "", 1.0)])
    if foreign:
        page.row([("国籍・地域", e["nationality"] or "", 0.30),
                  ("在留資格", e["residence_status"] or "", 0.35),
                  ("在留期間満了日", _day(e["residence_until"], True), 0.35)])
    elif "honseki" in doc.items:
        page.row([("本籍", e["honseki"] or "", 0.65), ("筆頭者", e["hittousha"] or "", 0.35)])
    if "resident_card_code" in doc.items:
        page.row([("住民票コード", e["resident_card_code"] or "", 1.0)])
    if e["status"] == "removed":
        page.row([("消除", f"{_day(e['removed_on'], foreign)}　{e['removal_reason']}", 1.0)])
    page.gap(4 * mm)


def _page_header(page: Page, doc: CertificateDoc, number: int, pages: int) -> None:
    page.text(PAGE_WIDTH - MARGIN - 62 * mm, PAGE_HEIGHT - 12 * mm,
              f"発行番号 {doc.issue_no}　{number}/{pages}頁", size=8.5, font=GOTHIC)
    page.title(TITLES[doc.kind])
    first = doc.entries[0]
    page.row([("住所", _address(doc, first), 1.0)])
    if "householder" in doc.items:
        page.row([("世帯主", doc.householder_name or "", 1.0)])
    page.gap(5 * mm)


def _footer(page: Page, doc: CertificateDoc) -> None:
    page.certification(MARGIN + FOOTER_HEIGHT - 10 * mm, text=doc.certification,
                       issued_on=doc.issued_on, certifier_title=doc.mayor_title,
                       certifier_name=doc.mayor_name, fee=doc.fee, issue_no=doc.issue_no)


def certificate_pdf(doc: CertificateDoc) -> bytes:
    """The certificate as PDF bytes, with the IPAex fonts embedded."""
    buffer, canvas = new_document(TITLES[doc.kind], doc.mayor_title)
    chunks = _pages(doc)
    for number, chunk in enumerate(chunks, start=1):
        page = Page(canvas)
        _page_header(page, doc, number, len(chunks))
        for entry in chunk:
            _person(page, doc, entry)
        if number == len(chunks):
            _footer(page, doc)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
