"""納付書 with the convenience-store barcode: the 44 digits as the guideline lays them
out (its published check-digit vector), GS1-128 (FNC1 first), and real PDF pages."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest
from reportlab.graphics.barcode.code128 import Code128

from kumomura.collection import slips
from kumomura.platform import params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.levies import check_digit
from kumomura.platform.storage.db import Database
from tests.collection.test_demands import owing
from tests.residents.factories import CTX

__all__ = ["owing"]  # the fixture


def test_the_check_digit_of_the_guidelines_example() -> None:
    """The 44-digit example of a public implementation of the guideline (ALP's 京都府
    code): 91 912345 012345678901234567890 1 010331 0 123000, check digit 3."""
    assert check_digit("9191234501234567890123456789010103310123000") == "3"


def test_the_barcode_digits_and_symbol() -> None:
    digits = slips.cvs_digits("912345", "0126000000000000027011", date(2026, 6, 30), 42_700)
    assert len(digits) == 44
    assert digits[:8] == "91912345"
    assert digits[8:29] == "012600000000000002701"  # the 納付番号 without its check digit
    assert digits[29:36] == "0260630"  # 再発行区分 0, 支払期限 R8.6.30
    assert digits[36:43] == "0042700"  # 印紙フラグ 0, 42,700円
    assert digits[-1] == check_digit(digits[:-1])
    symbol = Code128("\xf1" + digits)
    symbol.validate()  # type: ignore[no-untyped-call]
    assert symbol.encode()[:2] == [105, 102]  # type: ignore[no-untyped-call]  # Start C, FNC1
    with pytest.raises(InvalidInput, match="300,000円まで"):
        slips.cvs_digits("912345", "0126000000000000027011", date(2026, 6, 30), 300_001)


def test_a_persons_slips_are_pdf_pages_with_their_barcodes(
        owing: tuple[Database, list[str], list[str]], tmp_path: Path) -> None:
    db, people, _ = owing
    with db.tenant_tx("062022") as conn:
        params.set_value(conn, "collection", "cvs_company_code", "912345",
                         effective_from=date(2026, 4, 1), ctx=AuditContext(actor="test"),
                         reason="収納代行契約")
        pdf = slips.issue(conn, CTX, people[0], 2026, date(2026, 7, 1), municipality="米沢市",
                          prefecture="山形県")
    path = tmp_path / "slip.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "第1期" not in text  # paid: only what is still owed gets a slip
    assert text.count("納付番号") == 9  # three installments, each in its three parts
    assert text.count("領収済通知書") == 3
    assert text.count("領収日付印") == 3
    assert "91912345" in text  # the barcode's digits under it
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(tmp_path / "p")],
                   check=True)
    assert (tmp_path / "p-1.png").stat().st_size > 10_000
    with db.tenant_tx("062022") as conn, pytest.raises(InvalidInput, match="未納の調定"):
        slips.issue(conn, CTX, people[0], 2025, date(2026, 7, 1), municipality="米沢市",
                    prefecture="山形県")
