"""納税通知書 (普通徴収) and 特別徴収税額の決定通知書 (特別徴収義務者用), as PDF pages.

A file holds many notices, one taxpayer (or one employer's list) after another, so that
a print run is a few large files; the fonts are embedded once per file. The text of the
appeal notice (教示) is the one 行政不服審査法 第82条 requires on a 処分.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm

from kumomura.platform.core.japanese import era_date, era_year
from kumomura.platform.printing import GOTHIC, MARGIN, PAGE_HEIGHT, PAGE_WIDTH, Page, new_document

EMPLOYEES_PER_PAGE = 20
MONTHS = ("6月", "7月", "8月", "9月", "10月", "11月", "12月", "1月", "2月", "3月", "4月", "5月")


@dataclass(frozen=True)
class NoticeHeader:
    """What every notice of one municipality and fiscal year shares."""

    fiscal_year: int
    municipality: str  # e.g. 米沢市
    prefecture: str  # e.g. 山形県
    mayor_title: str
    mayor_name: str
    issued_on: date
    due_dates: tuple[date, ...]
    office: str = "税務課"

    @property
    def municipal_tax(self) -> str:
        """市民税, 町民税 or 村民税 (特別区: 特別区民税), after the municipality's kind."""
        if self.municipality.endswith("区"):
            return "特別区民税"
        return f"{self.municipality[-1]}民税" if self.municipality[-1] in "市町村" else "市町村民税"

    @property
    def prefectural_tax(self) -> str:
        return f"{self.prefecture[-1]}民税" if self.prefecture[-1] in "都道府県" else "道府県民税"

    @property
    def era_year(self) -> str:
        return era_year(date(self.fiscal_year, 4, 1)) + "度"

    @property
    def taxes(self) -> str:
        return f"{self.municipal_tax}・{self.prefectural_tax}・森林環境税"


def _yen(value: int) -> str:
    return f"{value:,}円"


def _appeal(page: Page, header: NoticeHeader, y: float) -> None:
    lines = (
        "この処分に不服がある場合は、この通知を受けた日の翌日から起算して3か月以内に、"
        f"{header.mayor_title}に対して審査請求をすることができます。",
        "この処分の取消しの訴えは、審査請求に対する裁決の送達を受けた日の翌日から起算して"
        f"6か月以内に、{header.municipality}を被告として提起することができます。",
    )
    page.text(MARGIN, y, "【教示】", size=8.5, font=GOTHIC)
    for i, line in enumerate(lines):
        page.text(MARGIN, y - (i + 1) * 11, line, size=page.fit(line, page.width, 7.5))


def _number_block(page: Page, header: NoticeHeader, row: Mapping[str, Any]) -> None:
    x = PAGE_WIDTH - MARGIN - 70 * mm
    top = PAGE_HEIGHT - MARGIN - 8
    for i, (label, value) in enumerate((
            ("通知書番号", f"{header.fiscal_year}-{row['atena_no']}"),
            ("宛名番号", str(row["atena_no"])),
            ("発行日", era_date(header.issued_on)),
            ("問合せ先", f"{header.municipality} {header.office}"))):
        page.text(x, top - i * 14, label, size=8.5, font=GOTHIC)
        page.text(x + 20 * mm, top - i * 14, value, size=9.5)


def _ordinary_page(page: Page, header: NoticeHeader, row: Mapping[str, Any]) -> None:
    page.addressee(row.get("postal_code"), row.get("address"), row["name"])
    _number_block(page, header, row)
    page.y = PAGE_HEIGHT - MARGIN - 80
    page.canvas.setFont(GOTHIC, 13)
    page.canvas.drawCentredString(PAGE_WIDTH / 2, page.y,
                                  f"{header.era_year} {header.taxes} 税額決定・納税通知書")
    page.y -= 14
    half = 0.5
    muni, pref = header.municipal_tax, header.prefectural_tax
    page.row([("総所得金額", _yen(row["total_income"]), half),
              ("所得控除額", _yen(row["deductions_total"]), half)])
    page.row([("課税標準額", _yen(row["taxable_base"]), half),
              ("調整控除", _yen(row["municipal_adjustment_credit"]
                                + row["prefectural_adjustment_credit"]), half)])
    flat = row["municipal_flat_reduction"] + row["prefectural_flat_reduction"]

    def both(side: str) -> str:
        return _yen(row[f"municipal_{side}"] + row[f"prefectural_{side}"])

    page.row([("配当控除", both("dividend_credit"), half),
              ("住宅ローン控除", both("housing_loan_credit"), half)])
    page.row([("寄附金税額控除", both("donation_credit"), half),
              ("定額減税額", _yen(flat), half)])
    page.row([(f"{muni}所得割", _yen(row["municipal_income_levy"]), half),
              (f"{pref}所得割", _yen(row["prefectural_income_levy"]), half)])
    page.row([(f"{muni}均等割", _yen(row["municipal_per_capita"]), half),
              (f"{pref}均等割", _yen(row["prefectural_per_capita"]), half)])
    page.row([("森林環境税", _yen(row["forest_environment_tax"]), 1.0)])
    page.row([("年税額", _yen(row["total"]), 1.0)], height=11 * mm)
    page.gap(14)
    page.text(MARGIN, page.y, "納期と納付額", size=10.5, font=GOTHIC)
    page.gap(6)
    page.row([("期別", "納期限", 0.5), ("", "納付額", 0.5)], height=7 * mm)
    for i in range(4):
        page.row([(f"第{i + 1}期", era_date(header.due_dates[i]), 0.5),
                  ("", _yen(row[f"ordinary_{i + 1}"]), 0.5)], height=8 * mm)
    page.gap(16)
    page.text(MARGIN, page.y, "上記のとおり決定したので通知します。", size=10.5)
    page.text(PAGE_WIDTH - MARGIN - 95 * mm, page.y - 26,
              f"{header.mayor_title}　{header.mayor_name}", size=12)
    page.seal(PAGE_WIDTH - MARGIN - 22 * mm, page.y - 40, header.mayor_title)
    _appeal(page, header, MARGIN + 30)


def ordinary_notices(header: NoticeHeader, rows: Iterable[Mapping[str, Any]]) -> bytes:
    """One 納税通知書 page per taxpayer, in the order given (the mailing order)."""
    buffer, canvas = new_document(f"{header.era_year} 納税通知書", header.municipality)
    for row in rows:
        _ordinary_page(Page(canvas), header, row)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _employer_page(page: Page, header: NoticeHeader, employer: Mapping[str, Any],
                   employees: Sequence[Mapping[str, Any]], sheet: int, sheets: int,
                   totals: list[int] | None) -> None:
    """One sheet of an employer's list; the last sheet ends with the totals."""
    width, height = landscape(A4)
    c = page.canvas
    top = height - MARGIN
    c.setFont(GOTHIC, 13)
    c.drawCentredString(width / 2, top - 4, f"{header.era_year} 特別徴収税額の決定通知書"
                                             "（特別徴収義務者用）")
    page.text(MARGIN, top - 26, f"特別徴収義務者指定番号 {employer['employer_no']}", size=9.5)
    page.text(MARGIN, top - 40, f"{employer.get('employer_name') or ''}　御中", size=11)
    page.text(width - MARGIN - 80 * mm, top - 26,
              f"{header.mayor_title}　{header.mayor_name}", size=10.5)
    page.text(width - MARGIN - 80 * mm, top - 40,
              f"発行日 {era_date(header.issued_on)}　{sheet}/{sheets}枚", size=9)
    columns = (("宛名番号", 30 * mm), ("氏名", 34 * mm), ("年税額", 19 * mm),
               *((m, 14.5 * mm) for m in MONTHS))
    y = top - 62
    c.setLineWidth(0.4)
    x = MARGIN
    for label, w in columns:
        c.rect(x, y - 4, w, 14)
        page.text(x + 2, y, label, size=7.5, font=GOTHIC)
        x += w
    lines = [(str(p["atena_no"]), str(p["name"]), f"{p['total']:,}",
              *(f"{p[f'special_{i}']:,}" for i in range(1, 13))) for p in employees]
    if totals is not None:
        lines.append(("", "合計", *(f"{v:,}" for v in totals)))
    for cells in lines:
        y -= 14
        x = MARGIN
        for (_, w), value in zip(columns, cells, strict=True):
            c.rect(x, y - 4, w, 14)
            size = page.fit(value, w - 4, 8) if w > 30 * mm else 8
            page.text(x + 2, y, value, size=size)
            x += w
    page.text(MARGIN, MARGIN, "毎月の特別徴収税額を翌月10日までに納入してください"
                              "（地方税法第321条の5）。", size=8.5)


def employer_notices(header: NoticeHeader,
                     employers: Iterable[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]],
                     ) -> tuple[bytes, list[tuple[str, int]]]:
    """Each employer's list of employees with the twelve monthly amounts (June to May),
    20 to a landscape page; returns the PDF and (employer_no, first page) for the index."""
    buffer, canvas = new_document("特別徴収税額の決定通知書", header.municipality)
    canvas.setPageSize(landscape(A4))
    starts: list[tuple[str, int]] = []
    page_no = 0
    for employer, employees in employers:
        sheets = max(1, -(-len(employees) // EMPLOYEES_PER_PAGE))
        starts.append((str(employer["employer_no"]), page_no + 1))
        totals = [sum(int(p["total"]) for p in employees),
                  *(sum(int(p[f"special_{i}"]) for p in employees) for i in range(1, 13))]
        for sheet in range(sheets):
            part = employees[sheet * EMPLOYEES_PER_PAGE:(sheet + 1) * EMPLOYEES_PER_PAGE]
            _employer_page(Page(canvas), header, employer, part, sheet + 1, sheets,
                           totals if sheet == sheets - 1 else None)
            canvas.showPage()
            canvas.setPageSize(landscape(A4))
            page_no += 1
    canvas.save()
    return buffer.getvalue(), starts

