"""`kumomura residents ...`: the same use cases from the operator's shell."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from kumomura.platform import params
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from tests.residents.factories import CTX
from tests.residents.test_api import MOVE_IN
from tests.test_cli import run


def _write(tmp_path: Path, name: str, document: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_change_search_show_and_certificate(db: Database, yonezawa: Tenant, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    late = {**MOVE_IN, "notified_on": "2026-05-01"}
    code, out, err = run(capsys, "residents", "change", "move-in", "-t", "062022",
                         _write(tmp_path, "move_in.json", late))
    assert code == 0, err
    assert "届出期間 (14日" in out
    result = json.loads(out[out.index("{"):])
    head = result["atena_nos"][0]
    code, out, _ = run(capsys, "residents", "search", "-t", "062022", "--kana", "さとう")
    assert code == 0
    assert head in out
    assert "2 件" in out
    code, out, _ = run(capsys, "residents", "show", "-t", "062022", head)
    assert "佐藤 健一" in out
    assert "move_in" in out
    with db.tenant_tx("062022") as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
            params.set_value(conn, "residents", name, value,
                             effective_from=date.fromisoformat(result["effective_on"]),
                             ctx=CTX, reason="設定")
    request = {"kind": "copy", "atena_nos": [head], "applicant_kind": "self", "purpose": "就職"}
    pdf = tmp_path / "copy.pdf"
    code, out, err = run(capsys, "residents", "certificate", "-t", "062022",
                         _write(tmp_path, "request.json", request), "--out", str(pdf))
    assert code == 0, err
    assert "手数料 300円" in out
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_bad_documents_exit_2_naming_the_field(db: Database, yonezawa: Tenant, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    broken = {**MOVE_IN, "persons": [{**MOVE_IN["persons"][0], "birth_date": "1975-02-30"}]}
    code, _, err = run(capsys, "residents", "change", "move-in", "-t", "062022",
                       _write(tmp_path, "broken.json", broken))
    assert code == 2
    assert "persons.0.birth_date" in err
    code, _, err = run(capsys, "residents", "change", "divorce", "-t", "062022",
                       _write(tmp_path, "x.json", {}))
    assert code == 2
    assert "kind" in err
    code, _, _ = run(capsys, "residents", "search", "-t", "062022", "--kana", "サトウ")
    assert code == 0
