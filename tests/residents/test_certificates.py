"""Certificates: real PDFs, rendered to PNG and read back with poppler; numbering, fees,
items, the protection-order block and its override, and the issue log."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kumomura.platform import audit, params
from kumomura.platform.core.errors import Forbidden, InvalidInput
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import certificates, service
from kumomura.residents import changes as ch
from kumomura.residents.models import CertificateRequest, Death, ProtectionOrderIn
from kumomura.residents.tables import certificate_issues
from tests.residents.factories import CTX, OFFICE, family

CODE = "062022"
TODAY = date(2026, 11, 24)


@pytest.fixture
def household(db: Database, yonezawa: Tenant) -> tuple[list[str], str]:
    with db.tenant_tx(CODE) as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄"),
                            ("certificate_fee", "350")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=CTX, reason="条例")
        result = ch.move_in(conn, CTX, family(), today=TODAY)
    return result.atena_nos, result.household_nos[0]


def _issue(db: Database, *, may_override: bool = False,
           **fields: Any) -> certificates.IssuedCertificate:
    req = CertificateRequest.model_validate({"kind": "copy", "applicant_kind": "self",
                                             "purpose": "勤務先提出", **fields})
    with db.tenant_tx(CODE) as conn:
        return certificates.issue(conn, CTX, OFFICE, req, may_override=may_override,
                                  today=TODAY)


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(tmp_path / "page")],
                   check=True)
    pngs = sorted(tmp_path.glob("page*.png"))
    assert pngs
    assert all(p.stat().st_size > 10_000 for p in pngs)  # a drawn page, not a blank one
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True,
                           text=True).stdout
    assert "IPAexMincho" in fonts
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:])  # embedded
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_household_copy_shows_everyone_and_the_chosen_items(
        db: Database, household: tuple[list[str], str], tmp_path: Path) -> None:
    atena_nos, household_no = household
    issued = _issue(db, household_no=household_no, items=["householder", "honseki"])
    text = _text(issued.pdf, tmp_path)
    assert issued.issue_no == "2026-000001"
    assert issued.fee == 350
    assert issued.atena_nos == atena_nos
    for expected in ("住民票の写し", "山田 太郎", "山田 花子", "山田 一郎", "世帯主",
                     "山形県米沢市金池三丁目1番55号", "2026-000001", "令和8年11月24日",
                     "米沢市長", "上杉 鷹雄", "昭和55年4月1日", "山形県米沢市丸の内一丁目2番",
                     "手数料 350円", "この写しは、住民票の原本と相違ないことを証明する。"):
        assert expected in text, expected
    assert "12345678901" not in text  # 住民票コード not asked for


def test_single_person_without_optional_items(
        db: Database, household: tuple[list[str], str], tmp_path: Path) -> None:
    atena_nos, _ = household
    _issue(db, atena_nos=[atena_nos[1]])
    issued = _issue(db, atena_nos=[atena_nos[0]], items=["resident_card_code"])
    text = _text(issued.pdf, tmp_path)
    assert issued.issue_no == "2026-000002"
    assert "12345678901" in text
    assert "山田 花子" not in text
    assert "本籍" not in text
    assert "続柄" not in text


def test_removed_copy_and_entries_certificate(
        db: Database, household: tuple[list[str], str], tmp_path: Path) -> None:
    (_, wife, child), _ = household
    with db.tenant_tx(CODE) as conn:
        ch.death(conn, CTX, Death(atena_no=child, died_on=date(2026, 10, 1),
                                  notified_on=date(2026, 10, 2)), today=TODAY)
    with pytest.raises(InvalidInput) as caught:
        _issue(db, atena_nos=[child])
    assert "除票の写し" in caught.value.message
    removed = _issue(db, kind="removed_copy", atena_nos=[child])
    text = _text(removed.pdf, tmp_path)
    assert "住民票の除票の写し" in text
    assert "令和8年10月1日" in text
    assert "死亡" in text
    entries = _issue(db, kind="entries", atena_nos=[wife])
    assert "住民票記載事項証明書" in _text(entries.pdf, tmp_path / "..")
    with db.tenant_tx(CODE) as conn:
        log = conn.execute(select(certificate_issues.c.kind, certificate_issues.c.purpose)
                           .order_by(certificate_issues.c.issue_no)).all()
    assert [k for k, _ in log] == ["removed_copy", "entries"]


def test_protection_order_blocks_third_parties(
        db: Database, household: tuple[list[str], str]) -> None:
    (head, wife, _), household_no = household
    with db.tenant_tx(CODE) as conn:
        order = service.add_protection(conn, CTX, ProtectionOrderIn(
            atena_no=wife, starts_on=date(2026, 6, 1), reason="DV 支援措置申出"))
    assert order["ends_on"] == date(2027, 5, 31)
    third: dict[str, Any] = {"applicant_kind": "third_party", "applicant_name": "債権者 株式会社"}
    _issue(db, atena_nos=[head], **third)  # not protected
    with pytest.raises(InvalidInput) as caught:
        _issue(db, household_no=household_no, **third)
    assert caught.value.field == "applicant_kind"
    with pytest.raises(Forbidden):
        _issue(db, household_no=household_no, override_reason="裁判所の嘱託", **third)
    issued = _issue(db, household_no=household_no, override_reason="裁判所の嘱託",
                    may_override=True, **third)
    assert issued.protection_overridden
    _issue(db, atena_nos=[wife])  # the person herself may always have her record
    entries = [e for e in audit.entries(db, CODE, atena_no=wife)
               if e["action"] == "residents.certificate_issued"]
    assert entries[1]["detail"]["protection_override"] == "裁判所の嘱託"
    assert entries[1]["purpose"] == "勤務先提出"


def test_certificate_refuses_without_a_certifier(db: Database, yonezawa: Tenant) -> None:
    with db.tenant_tx(CODE) as conn:
        atena_no = ch.move_in(conn, CTX, family(), today=TODAY).atena_nos[0]
    with pytest.raises(InvalidInput) as caught:
        _issue(db, atena_nos=[atena_no])
    assert caught.value.field == "mayor_name"
    with db.tenant_tx(CODE) as conn:
        assert conn.execute(select(certificate_issues)).first() is None
