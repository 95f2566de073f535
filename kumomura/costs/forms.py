"""The consortium's published table as a PDF: each member's cost before and after joining,
the saving and its rate, its share of the bill, the totals, and bars that show the two
side by side."""

from __future__ import annotations

from datetime import date
from typing import Any

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm

from kumomura.costs.service import member_label
from kumomura.platform.japanese import era_date
from kumomura.platform.printing import GOTHIC, MARGIN, MINCHO, new_document

BEFORE = Color(0.62, 0.66, 0.72)
AFTER = Color(0.04, 0.36, 0.68)


def _yen(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _rate(value: object) -> str:
    return "" if value is None else str(value)


def report_pdf(s: dict[str, Any], consortium: str) -> bytes:
    """One landscape A4 page: the table, and the bars beside it."""
    buffer, c = new_document(f"{consortium} 費用負担と削減効果", consortium)
    width, height = landscape(A4)
    c.setPageSize((width, height))
    year = era_date(date(s["fiscal_year"], 4, 1)).split("年")[0]
    c.setFont(GOTHIC, 15)
    c.drawString(MARGIN, height - MARGIN - 6,
                 f"{year}年度 {consortium} 共同利用の費用負担と削減効果")
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
    for index, cells in enumerate([tuple(h for h, _ in columns), *rows]):
        x = MARGIN
        font = GOTHIC if index == 0 or index == len(rows) else MINCHO
        for (_, w), value in zip(columns, cells, strict=True):
            c.setLineWidth(0.4)
            c.setStrokeColor(black)
            c.rect(x, y - 4, w, 15)
            c.setFont(font, 9)
            if index and value and (value[0].isdigit() or value.startswith("-")):
                c.drawRightString(x + w - 3, y, value)
            else:
                c.drawString(x + 3, y, value)
            x += w
        y -= 15
    c.setFont(MINCHO, 8)
    c.drawString(MARGIN, y - 6, "(nか月) 年度の途中で稼働した団体: 発注前年間経費は稼働した月数分 "
                                "(月割、円未満切捨て)")
    if s["bound"]:
        c.drawString(MARGIN, y - 18, "※ 削減率の保証により負担を上限に抑えた団体 (差額は他の団体が"
                                     "負担額に応じて分担)")
    _bars(c, s, MARGIN + 170 * mm, height - MARGIN - 58, width - MARGIN)
    c.showPage()
    c.save()
    return buffer.getvalue()


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
