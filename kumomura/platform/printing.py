"""Printed documents: Japanese fonts embedded in every PDF, A4 pages, and the pieces every
form shares (title, labelled boxes, the certification block).

The fonts are IPAex明朝 and IPAexゴシック (IPA Font License), TrueType, so reportlab embeds
the glyphs a document uses: a certificate looks the same on every printer and viewer.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from reportlab import rl_config
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from kumomura.platform.core.config import get_settings
from kumomura.platform.core.japanese import era_date

MINCHO = "IPAexMincho"
GOTHIC = "IPAexGothic"
FONT_FILES = {MINCHO: ("ipaexfont-mincho", "ipaexm.ttf"),
              GOTHIC: ("ipaexfont-gothic", "ipaexg.ttf")}
DEBIAN_FONTS = Path("/usr/share/fonts/opentype")
SEAL_RED = Color(0.8, 0.1, 0.1)
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
# Page streams compressed and left binary: ASCII85 on top of them costs a fifth of the time
# of a bulk notice run and makes the files a fifth larger (measured: docs/performance.md).
rl_config.useA85 = 0


class FontMissing(RuntimeError):
    """The Japanese fonts are not installed: nothing can be printed."""


def _font_path(package: str, filename: str) -> Path:
    font_dir = get_settings().font_dir
    candidates = ([font_dir / filename] if font_dir else []) + [DEBIAN_FONTS / package / filename]
    for path in candidates:
        if path.is_file():
            return path
    raise FontMissing(f"Japanese font {filename} not found in {', '.join(map(str, candidates))}:"
                      f" install fonts-ipaexfont (./dev does) or set KUMOMURA_FONT_DIR")


@lru_cache(maxsize=1)
def register_fonts() -> None:
    """Load the fonts once per process (parsing a 4 MB font costs more than a page)."""
    for name, (package, filename) in FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(_font_path(package, filename))))


@lru_cache(maxsize=4096)
def _fitted(value: str, width: float, size: float, font: str) -> float:
    """Labels repeat on every page of a bulk run: their widths are measured once."""
    needed = pdfmetrics.stringWidth(value, font, size)
    return size if needed <= width else max(5.0, size * width / needed)


@dataclass
class Page:
    """A canvas with a cursor moving down an A4 page."""

    canvas: Canvas
    y: float = PAGE_HEIGHT - MARGIN

    @property
    def width(self) -> float:
        return PAGE_WIDTH - 2 * MARGIN

    def text(self, x: float, y: float, value: str, *, size: float = 10.5,
             font: str = MINCHO) -> None:
        self.canvas.setFont(font, size)
        self.canvas.drawString(x, y, value)

    def fit(self, value: str, width: float, size: float, font: str = MINCHO) -> float:
        """The largest size up to ``size`` at which ``value`` fits ``width`` (文字溢れ)."""
        return _fitted(value, width, size, font)

    def title(self, value: str) -> None:
        self.canvas.setFont(GOTHIC, 18)
        self.canvas.drawCentredString(PAGE_WIDTH / 2, self.y - 18, value)
        self.y -= 34

    def row(self, cells: list[tuple[str, str, float]], *, height: float = 9 * mm) -> None:
        """One boxed row of (label, value, share of the width) cells."""
        x = MARGIN
        c = self.canvas
        c.setLineWidth(0.6)
        c.setStrokeColor(black)
        for label, value, share in cells:
            w = self.width * share
            label_w = min(24 * mm, max(12 * mm, w * 0.4)) if label else 0
            c.rect(x, self.y - height, w, height)
            if label:
                c.line(x + label_w, self.y - height, x + label_w, self.y)
                self.text(x + 2, self.y - height / 2 - 3, label,
                          size=self.fit(label, label_w - 4, 8.5, GOTHIC), font=GOTHIC)
            room = w - label_w - 6
            self.text(x + label_w + 3, self.y - height / 2 - 3.5, value,
                      size=self.fit(value, room, 10.5))
            x += w
        self.y -= height

    def addressee(self, postal_code: str | None, address: str | None, name: str, *,
                  honorific: str = "様") -> None:
        """The boxed addressee at the top left, where a window envelope shows it (a
        person is 様, a company or office 御中)."""
        top = PAGE_HEIGHT - MARGIN - 8
        if postal_code:
            self.text(MARGIN + 4, top, f"〒{postal_code}", size=10)
        shown = str(address or "")
        self.text(MARGIN + 4, top - 16, shown, size=self.fit(shown, 95 * mm, 10.5))
        named = f"{name}　{honorific}"
        self.text(MARGIN + 4, top - 40, named, size=self.fit(named, 95 * mm, 15))
        self.canvas.setLineWidth(0.4)
        self.canvas.rect(MARGIN, top - 52, 100 * mm, 66)

    def gap(self, points: float) -> None:
        self.y -= points

    def certification(self, y: float, *, text: str, issued_on: date, certifier_title: str,
                      certifier_name: str, fee: int, issue_no: str) -> None:
        """The certification block every certificate ends with: the text, the date in the
        Japanese era, the certifier with the office seal; the fee and number at the foot."""
        self.text(MARGIN, y, text, size=11)
        self.text(MARGIN, y - 11 * mm, era_date(issued_on), size=11)
        self.text(PAGE_WIDTH - MARGIN - 95 * mm, y - 24 * mm,
                  f"{certifier_title}　{certifier_name}", size=13)
        self.seal(PAGE_WIDTH - MARGIN - 22 * mm, y - 32 * mm, certifier_title)
        self.text(MARGIN, MARGIN, f"手数料 {fee:,}円　発行番号 {issue_no}", size=8.5,
                  font=GOTHIC)

    def seal(self, x: float, y: float, label: str) -> None:
        """The electronic official seal (電子公印): a red square with the office's title."""
        c = self.canvas
        size = 20 * mm
        c.setStrokeColor(SEAL_RED)
        c.setFillColor(SEAL_RED)
        c.setLineWidth(1.6)
        c.rect(x, y, size, size)
        chars = list(label + "之印")
        per_column = (len(chars) + 1) // 2
        font_size = min(16.0, (size - 6) / max(per_column, 1))
        c.setFont(MINCHO, font_size)
        for i, ch in enumerate(chars):  # read top to bottom, right column first
            column, position = divmod(i, per_column)
            cx = x + size * (0.72 if column == 0 else 0.28)
            cy = y + size - 4 - font_size * (position + 1) + 2
            c.drawCentredString(cx, cy, ch)
        c.setFillColor(black)
        c.setStrokeColor(black)


def new_document(title: str, author: str) -> tuple[io.BytesIO, Canvas]:
    register_fonts()
    buffer = io.BytesIO()
    # The initial font is declared in every PDF: make it the embedded one, not Helvetica.
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1,
                    initialFontName=MINCHO,  # type: ignore[arg-type]  # stubs say float
                    initialFontSize=10.5)
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setCreator("kumomura")
    return buffer, canvas
