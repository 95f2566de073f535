"""納税証明書 (完納証明): refused, naming what is owed, while anything due is unpaid;
issued with its number, purpose and certifier once all is paid; real PDF text."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest

from kumomura.collection import certificate
from kumomura.collection.payments import import_file
from kumomura.platform import audit
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.storage.db import Database
from tests.collection.test_demands import owing
from tests.collection.test_payments import _csv
from tests.residents.factories import CTX

__all__ = ["owing"]  # the fixture


def _issue(db: Database, person: str, on: date) -> bytes:
    with db.tenant_tx("062022") as conn:
        return certificate.paid_in_full(conn, CTX, person, on, purpose="入札参加資格の申請",
                                        municipality="米沢市", prefecture="山形県")


def test_paid_in_full_only_when_nothing_due_is_owed(
        owing: tuple[Database, list[str], list[str]], tmp_path: Path) -> None:
    db, people, numbers = owing
    with pytest.raises(InvalidInput, match="未納があるため") as refused:
        _issue(db, people[1], date(2026, 7, 15))  # its 第1期 (6/30) unpaid
    assert "第1期" in refused.value.message
    pdf = _issue(db, people[0], date(2026, 7, 15))  # paid its 第1期; the rest not yet due
    path = tmp_path / "cert.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "完納証明" in text
    assert "令和8年7月15日現在、納期限の到来した上記の税に未納はありません" in text
    assert "米沢市長" in text
    assert "2026-N000001" in text
    issued = [e for e in audit.entries(db, "062022", atena_no=people[0])
              if e["action"] == "collection.certificate_issued"]
    assert issued[0]["detail"]["purpose"] == "入札参加資格の申請"
    with db.tenant_tx("062022") as conn:  # the other pays its 第1期: now it may have one
        import_file(conn, CTX, "b.csv", _csv(f"{numbers[1]},2026-07-16,26000,"))
    assert _issue(db, people[1], date(2026, 7, 17)).startswith(b"%PDF")
    with pytest.raises(InvalidInput, match="請求の目的"), db.tenant_tx("062022") as conn:
        certificate.paid_in_full(conn, CTX, people[0], date(2026, 7, 17), purpose=" ",
                                 municipality="米沢市", prefecture="山形県")
