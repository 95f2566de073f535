"""The consortium's published table as a PDF: each member's cost before and after joining,
the saving and its rate, its share of the bill, the totals, and bars that show the two
side by side."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from kumomura.costs.service import item_label, member_label
from kumomura.platform.core.japanese import era_year
from kumomura.platform.printing import GOTHIC, MARGIN, MINCHO, new_document

BEFORE = Color(0.62, 0.66, 0.72)
AFTER = Color(0.04, 0.36, 0.68)


def _yen(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _rate(value: object) -> str:
    return "" if value is None else str(value)


def report_pdf(s: dict[str, Any], consortium: str) -> bytes:
    """Landscape A4: the published table with the bars beside it, then each member's
    charge by cost item."""
    buffer, c = new_document(f"{consortium} 費用負担と削減効果", consortium)
    width, height = landscape(A4)
    c.setPageSize((width, height))
    year = era_year(date(s["fiscal_year"], 4, 1))
    c.setFont(GOTHIC, 15)
    c.drawString(MARGIN, height - MARGIN - 6,
                 f"{year}度 {consortium} 共同利用の費用負担と削減効果")
    c.setFont(MINCHO, 9)
    note = ("単位: 円　削減率 = (発注前 − 発注後) ÷ 発注前 (小数第1位、四捨五入)"
            "　構成割合 = 発注後 ÷ 発注後の合計 (小数第2位、四捨五入)")
    if s["guarantee"] is not None:
        note += f"　削減率の保証: {float(s['guarantee']):.1f}%"
    c.drawString(MARGIN, height - MARGIN - 22, note)
    columns = (("団体名", 30 * mm), ("発注前年間経費", 32 * mm), ("発注後年間経費", 32 * mm),
               ("削減額", 30 * mm), ("削減率(%)", 19 * mm), ("構成割合(%)", 21 * mm))
    y = height - MARGIN - 44
    rows = [(member_label(r), _yen(r["standalone"]),
             _yen(r["charge"]), _yen(r["saving"]), _rate(r["rate"]), _rate(r["share"]))
            for r in s["rows"]]
    rows.append(("合計", _yen(s["standalone_total"]), _yen(s["total"]), _yen(s["saving_total"]),
                 _rate(s["rate_total"]), _rate(s["share_total"])))
    y = _table(c, columns, rows, y)
    c.setFont(MINCHO, 8)
    c.drawString(MARGIN, y - 6, "(nか月) 年度の途中で稼働した団体: 発注前年間経費は稼働した月数分 "
                                "(月割、円未満切捨て)")
    if s["bound"]:
        c.drawString(MARGIN, y - 18, "※ 削減率の保証により負担を上限に抑えた団体 (差額は他の団体が"
                                     "負担額に応じて分担)")
    _bars(c, s, MARGIN + 170 * mm, height - MARGIN - 58, width - MARGIN)
    c.showPage()
    if s["items"]:
        _items_page(c, s, f"{year}度 {consortium} 費目別の負担額", width, height)
    c.save()
    return buffer.getvalue()


def _table(c: Any, columns: tuple[tuple[str, float], ...],
           rows: Sequence[Sequence[str]], y: float) -> float:
    """A boxed table: the header (a heading "name (detail)" on two lines), the rows and,
    last, the totals row in gothic; numbers right-aligned; text shrunk to fit its cell.
    Returns the y below it."""
    header = [h for h, _ in columns]
    two_lines = any(" (" in h for h in header)
    for index, cells in enumerate([header, *rows]):
        x = MARGIN
        tall = 12 if index == 0 and two_lines else 0
        font = GOTHIC if index == 0 or index == len(rows) else MINCHO
        for (_, w), value in zip(columns, cells, strict=True):
            c.setLineWidth(0.4)
            c.setStrokeColor(black)
            c.rect(x, y - 4 - tall, w, 15 + tall)
            lines = value.split(" (", 1) if index == 0 else [value]
            if len(lines) == 2:
                lines[1] = f"({lines[1]}"
            for n, text in enumerate(lines):
                size = min(9.0, 9.0 * (w - 6) / max(stringWidth(text, font, 9), 1))
                c.setFont(font, size if n == 0 else min(size, 7.5))
                if index and text and (text[0].isdigit() or text.startswith("-")):
                    c.drawRightString(x + w - 3, y, text)
                else:
                    c.drawString(x + 3, y - n * 11, text)
            x += w
        y -= 15 + tall
    return y


def _items_page(c: Any, s: dict[str, Any], title: str, width: float, height: float) -> None:
    """Each member's charge by cost item (with the businesses it serves), and the totals."""
    c.setPageSize((width, height))
    c.setFont(GOTHIC, 15)
    c.drawString(MARGIN, height - MARGIN - 6, title)
    c.setFont(MINCHO, 9)
    c.drawString(MARGIN, height - MARGIN - 22, "単位: 円　保証による調整は発注後年間経費に含む")
    items = s["items"]
    each = (width - 2 * MARGIN - 34 * mm - 30 * mm - 26 * mm) / len(items)
    columns = (("団体名", 34 * mm), *((item_label(i), each) for i in items),
               ("保証による調整", 26 * mm), ("発注後年間経費", 30 * mm))
    rows = [(member_label(r), *(_yen(r["items"][i["code"]]) for i in items),
             _yen(r["adjustment"]), _yen(r["charge"])) for r in s["rows"]]
    rows.append(("合計", *(_yen(i["amount"]) for i in items), _yen(0), _yen(s["total"])))
    _table(c, columns, rows, height - MARGIN - 44)
    c.showPage()


def _bars(c: Any, s: dict[str, Any], left: float, top: float, right: float) -> None:
    """Per member, the standalone cost (grey) over the charge (blue), to one scale."""
    rows = [r for r in s["rows"] if r["standalone"]]
    if not rows:
        return
    largest = max(max(r["standalone"], r["charge"]) for r in rows)
    label = 24 * mm
    span = right - left - label
    c.setFont(GOTHIC, 9)
    c.drawString(left, top + 12, "発注前 (灰) と発注後 (青)")
    y = top
    for r in rows:
        c.setFont(MINCHO, 8)
        c.drawString(left, y - 2, r["name"][:8])
        for offset, value, color in ((0, r["standalone"], BEFORE), (7, r["charge"], AFTER)):
            c.setFillColor(color)
            c.rect(left + label, y - offset, span * value / largest, 6, stroke=0, fill=1)
        c.setFillColor(black)
        y -= 20
