"""Standard layouts: coverage of every tenant table, the generated documentation, the
byte-for-byte round trip, and every kind of bad input reported with nothing stored."""

from __future__ import annotations

import csv
import filecmp
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from kumomura.collection import debit
from kumomura.collection.payments import import_file
from kumomura.collection.tables import charges
from kumomura.inhabitant_tax import batch as tax_batch
from kumomura.inhabitant_tax import income_data
from kumomura.inhabitant_tax import service as tax_service
from kumomura.inhabitant_tax.models import IncomeReturnIn
from kumomura.platform import events, installation, params
from kumomura.platform.exchange.exports import MANIFEST, export_tenant
from kumomura.platform.exchange.imports import REPORT, import_tenant
from kumomura.platform.exchange.layout_doc import render
from kumomura.platform.exchange.layouts import all_layouts
from kumomura.platform.exchange.layouts import get as get_layout
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database, tenant_metadata
from kumomura.platform.storage.migrate import drop_tenant_storage, provision_tenant
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import certificates
from kumomura.residents import changes as ch
from kumomura.residents.models import CertificateRequest, Death, ProtectionOrderIn
from kumomura.residents.service import add_protection
from kumomura.residents.tables import resident_versions
from kumomura.seal_registration import service as seals
from kumomura.seal_registration.models import SealRegistrationIn
from tests.conftest import NAGAI, make_tenant
from tests.crash import kill_while_copying
from tests.residents.factories import CTX, OFFICE, family

ROOT = Path(__file__).resolve().parents[2]
CODE = "062022"
TODAY = date(2026, 11, 24)


def test_every_tenant_table_has_a_layout() -> None:
    from kumomura.platform.exchange.layouts import NOT_EXPORTED

    declared = {lay.name for lay in all_layouts()}
    assert declared | set(NOT_EXPORTED) == {t.name for t in tenant_metadata.sorted_tables}
    assert not declared & set(NOT_EXPORTED)
    assert set(NOT_EXPORTED) == {"job_chunks"}  # each exclusion is a decision, with a reason


def test_docs_are_generated_from_the_declarations() -> None:
    assert (ROOT / "docs" / "layouts.md").read_text(encoding="utf-8") == render(
        installation.standard_layouts()), \
        "docs/layouts.md is stale: run `kumomura layouts doc --out docs/layouts.md`"


def _populate(db: Database) -> None:
    with db.tenant_tx(CODE) as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=CTX, reason="設定")
        head, wife, child = ch.move_in(conn, CTX, family(), today=TODAY).atena_nos
        ch.death(conn, CTX, Death(atena_no=child, died_on=date(2026, 6, 1),
                                  notified_on=date(2026, 6, 2)), today=TODAY)
        add_protection(conn, CTX, ProtectionOrderIn(atena_no=wife, starts_on=date(2026, 7, 1),
                                                    reason="申出"))
        certificates.issue(conn, CTX, OFFICE, CertificateRequest(
            kind="copy", atena_nos=[head], applicant_kind="self", purpose="就職"),
            may_override=False, today=TODAY)
        seals.register(conn, CTX, SealRegistrationIn(
            atena_no=head, registered_on=date(2026, 5, 1), impression_text="山田",
            impression_png_base64="iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
                                  "nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="))
        _tax_returns(conn, head, wife)
    events.dispatch(db, CODE)
    jobs.run_in_process(db, tax_batch.start(db, CODE, 2026, actor="test"))
    with db.tenant_tx(CODE) as conn:
        income_data.record_return(conn, CTX, _tax_return(head, 6_300_000))
        tax_service.correct(conn, CTX, head, 2026, note="給与支払報告書の訂正")
    events.dispatch(db, CODE)  # collection takes the charges and the correction's change
    with db.tenant_tx(CODE) as conn:
        number = conn.execute(select(charges.c.payment_no).order_by(charges.c.id)
                              ).scalars().first()
        import_file(conn, CTX, "窓口.csv", f"納付番号,納付日,納付額\n{number},2026-07-31,"
                    "1000000\n".encode())  # late, and more than owed: every part of 消込
        for name, value in (("debit_consignor_code", "1234567890"),
                            ("debit_consignor_name", "ﾖﾈｻﾞﾜｼ")):
            params.set_value(conn, "collection", name, value, effective_from=date(2026, 4, 1),
                             ctx=CTX, reason="指定金融機関")
        # The household's tax is withheld by employers: an enrolment, nothing to ask yet.
        debit.enrol(conn, CTX, atena_no=head, levy="inhabitant_tax", bank_code="0117",
                    branch_code="201", account_type=1, account_no="1111111",
                    holder="ヤマダ タロウ", starts_on=date(2026, 6, 1))
        assert debit.request(conn, CTX, "inhabitant_tax", date(2026, 6, 30)).count(b"\r\n") == 3


def _tax_return(atena_no: str, salary: int, spouse: bool = True) -> IncomeReturnIn:
    nobody = {"salary_revenue": 0, "pension_revenue": 0, "other_income": 0}
    return IncomeReturnIn.model_validate({
        "atena_no": atena_no, "income_year": 2025, "employer_no": "0000012345",
        "employer_name": "株式会社 雲村商事",
        "taxpayer": {"birth_date": "1980-04-01", "salary_revenue": salary,
                     "pension_revenue": 0, "other_income": 0},
        "deductions": {"social_insurance": 800_000, "life_insurance": {"old_general": 90_000}},
        "spouse": {"birth_date": "1982-07-07", **nobody} if spouse else None,
        "dependents": [{"birth_date": "2015-01-20", "living_together": True, **nobody}]})


def _tax_returns(conn: Connection, head: str, wife: str) -> None:
    """課税資料 with a family, for the inhabitant-tax layouts."""
    income_data.record_return(conn, CTX, _tax_return(head, 6_000_000))
    income_data.record_return(conn, CTX, _tax_return(wife, 0, spouse=False))


def test_round_trip_is_byte_for_byte(db: Database, yonezawa: Tenant, tmp_path: Path) -> None:
    _populate(db)
    first, second = tmp_path / "first", tmp_path / "second"
    files = export_tenant(db, CODE, first, ctx=CTX)
    assert {f.layout for f in files} == {lay.name for lay in all_layouts()}
    rows = {f.layout: f.rows for f in files}
    assert rows["resident_versions"] == 4
    # Two returns with their family, three versions of assessments (one corrected), and
    # the child's death noted for the tax.
    assert (rows["income_returns"], rows["income_family"], rows["assessments"],
            rows["tax_departures"]) == (2, 3, 3, 1)
    assert all(rows[t] for t in ("charges", "charge_changes", "payment_files", "payments",
                                 "allocations", "debit_accounts"))
    refused = import_tenant(db, make_tenant(db, NAGAI).lg_code, first,
                            report_dir=tmp_path / "report")
    assert [p.column for p in refused.problems] == ["lg_code"]  # never into another town
    drop_tenant_storage(db, CODE)  # the same municipality, fresh (as after a restore)
    provision_tenant(db, CODE)
    fresh = yonezawa
    result = import_tenant(db, fresh.lg_code, first, report_dir=tmp_path / "report")
    assert result.ok, result.problems
    assert result.written
    export_tenant(db, fresh.lg_code, second, ctx=CTX)
    for lay in all_layouts():
        assert filecmp.cmp(first / lay.file, second / lay.file, shallow=False), lay.file
    assert json.loads((first / MANIFEST).read_text())["files"] == \
        json.loads((second / MANIFEST).read_text())["files"]
    again = import_tenant(db, fresh.lg_code, first, report_dir=tmp_path / "report")
    assert again.ok
    third = tmp_path / "third"
    export_tenant(db, fresh.lg_code, third, ctx=CTX)
    assert filecmp.cmp(first / "resident_versions.csv", third / "resident_versions.csv",
                       shallow=False)
    with db.tenant_tx(fresh.lg_code) as conn:  # numbering goes on where it stopped
        result_ids = ch.move_in(conn, CTX, family(), today=TODAY).atena_nos
    assert int(result_ids[0][:-1]) == 4


def _rewrite(path: Path, edit: list[tuple[int, str, str]]) -> None:
    """Set (row index after the header, field, value) in a CSV file."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    for index, field, value in edit:
        rows[index + 1][header.index(field)] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.fixture
def exported(db: Database, yonezawa: Tenant, tmp_path: Path) -> Path:
    _populate(db)
    out = tmp_path / "export"
    export_tenant(db, CODE, out, ctx=CTX)
    (out / MANIFEST).unlink()  # files as another system would deliver them
    make_tenant(db, NAGAI)
    return out


def _count(db: Database, code: str) -> int:
    with db.tenant_tx(code) as conn:
        return int(conn.execute(select(func.count()).select_from(resident_versions))
                   .scalar_one())


def test_every_kind_of_bad_input_is_reported_and_nothing_stored(
        db: Database, exported: Path) -> None:
    _rewrite(exported / "resident_versions.csv", [
        (0, "birth_date", "2026-02-30"), (1, "sex", "3"), (2, "household_no", "999999999999999"),
        (3, "name", "")])
    _rewrite(exported / "households.csv", [(0, "created_on", "令和8年4月1日")])  # era: fine
    atena = exported / "atena.csv"
    atena.write_text(atena.read_text(encoding="utf-8") + "000000000000019,resident,x\n",
                     encoding="utf-8")  # ragged, and a duplicate key if it were whole
    (exported / "protection_orders.csv").write_text(
        "id,atena_no,kind,starts_on,ends_on,lifted_on,reason,created_by,created_at,colour\n",
        encoding="utf-8")
    (exported / "changes.csv").write_bytes((exported / "changes.csv").read_bytes()[:-40])
    (exported / "counters.csv").write_bytes("series,last_value\n\x82\xa0,1\n".encode()
                                            .replace(b"\xc2", b"\xff"))
    (exported / "legacy_tax.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    result = import_tenant(db, NAGAI[0], exported)
    assert not result.written
    reasons = " | ".join(f"{p.file}:{p.line}:{p.column}:{p.reason}" for p in result.problems)
    assert any(p.file == "resident_versions.csv" and p.column == "birth_date" and p.line == 2
               for p in result.problems), reasons
    assert any(p.column == "sex" and "使えない値" in p.reason for p in result.problems), reasons
    assert any(p.column == "household_no" and "households.household_no" in p.reason
               for p in result.problems), reasons
    assert any(p.column == "name" and "必須" in p.reason for p in result.problems), reasons
    assert any(p.file == "atena.csv" and "項目数" in p.reason for p in result.problems), reasons
    assert any(p.column == "colour" for p in result.problems), reasons
    assert any(p.file == "changes.csv" and "改行" in p.reason for p in result.problems), reasons
    assert any(p.file == "counters.csv" and "文字コード" in p.reason
               for p in result.problems), reasons
    assert any(p.file == "legacy_tax.csv" for p in result.problems), reasons
    assert not any(p.file == "households.csv" for p in result.problems), reasons
    assert _count(db, NAGAI[0]) == 0
    with (exported / REPORT).open(encoding="utf-8") as handle:
        report = list(csv.reader(handle))
    assert report[0] == ["区分", "ファイル", "行", "項目", "理由"]
    assert len(report) == len(result.problems) + 1


def test_shift_jis_without_header_and_era_dates(db: Database, exported: Path) -> None:
    path = exported / "resident_versions.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    birth = rows[0].index("birth_date")
    rows[1][birth] = "S55.04.01"  # 昭和55年4月1日, as a host system writes it
    path.write_bytes(_csv_text(rows[1:]).encode("cp932"))  # no header, Shift_JIS
    result = import_tenant(db, NAGAI[0], exported, dry_run=True)
    assert result.ok, result.problems[:5]
    assert not result.written
    assert _count(db, NAGAI[0]) == 0
    result = import_tenant(db, NAGAI[0], exported)
    assert result.written
    with db.tenant_tx(NAGAI[0]) as conn:
        births = conn.execute(select(resident_versions.c.birth_date)).scalars().all()
    assert date(1980, 4, 1) in births


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def test_registry_invariants_refuse_the_import(db: Database, exported: Path) -> None:
    """A tenant with data keeps it when the import that would replace it is refused."""
    with db.tenant_tx(NAGAI[0]) as conn:
        ch.move_in(conn, CTX, family(), today=TODAY)
    _rewrite(exported / "resident_versions.csv", [(1, "relationship", "世帯主")])  # 2 heads
    result = import_tenant(db, NAGAI[0], exported)
    assert not result.written
    assert any("世帯主が2人" in p.reason for p in result.problems), result.problems
    assert _count(db, NAGAI[0]) == 3


def test_quarantine_sets_bad_rows_aside(db: Database, exported: Path) -> None:
    _rewrite(exported / "certificate_issues.csv", [(0, "fee", "三百")])
    result = import_tenant(db, NAGAI[0], exported, quarantine=True)
    assert result.written
    assert [(p.file, p.column) for p in result.quarantined] == [("certificate_issues.csv",
                                                                "fee")]
    assert _count(db, NAGAI[0]) == 4


def test_quarantine_takes_the_rows_that_refer_to_a_row_set_aside(
        db: Database, exported: Path) -> None:
    """Across files (a return's family and assessments) and within one (a change that
    cancels a change set aside)."""
    _rewrite(exported / "income_returns.csv", [(0, "disability", "blind")])
    path = exported / "changes.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    change_id, cancels = rows[0].index("change_id"), rows[0].index("cancels_change")
    # A chain: a third change cancels the second, which cancels the first, which is bad.
    third = list(rows[2])
    third[change_id], third[cancels] = "9999", rows[2][change_id]
    rows[2][cancels] = rows[1][change_id]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([*rows, third])
    _rewrite(path, [(0, "effective_on", "2026-02-30")])
    result = import_tenant(db, NAGAI[0], exported, quarantine=True, dry_run=True)
    aside = {(p.file, p.line, p.column) for p in result.quarantined}
    assert ("income_returns.csv", 2, "disability") in aside
    assert {(f, c) for f, _, c in aside if f in ("income_family.csv", "assessments.csv")} == {
        ("income_family.csv", "return_id"), ("assessments.csv", "return_id")}
    assert sum(1 for f, _, _ in aside if f == "income_family.csv") == 2  # spouse and child
    assert ("changes.csv", 2, "effective_on") in aside
    assert ("changes.csv", 3, "cancels_change") in aside
    assert ("changes.csv", 4, "cancels_change") in aside


def test_a_missing_file_is_reported_and_its_table_left_alone(
        db: Database, exported: Path) -> None:
    for name in ("seal_registrations.csv", "seal_certificate_issues.csv"):
        (exported / name).unlink()
    result = import_tenant(db, NAGAI[0], exported)
    assert result.written, result.problems[:3]
    assert result.absent == ["seal_certificate_issues.csv", "seal_registrations.csv"]
    assert "ファイルなし" in result.summary()
    with (exported / REPORT).open(encoding="utf-8") as handle:
        report = list(csv.reader(handle))
    assert ["ファイルなし", "seal_registrations.csv", "0", "",
            "取り込みません (この表は現在のまま)"] in report


def test_an_import_killed_while_writing_leaves_the_tenant_as_it_was(
        pg_db: Database, tmp_path: Path) -> None:
    """A real crash: SIGKILL while the import's transaction is inserting rows."""
    from kumomura.residents import bulk
    from kumomura.residents.synthetic import Population

    make_tenant(pg_db)
    bulk.load(pg_db, CODE, Population(seed=1, pool=300).households(
        10_000, TODAY, office="山形県米沢市"), on=TODAY, ctx=CTX, source="test")
    export_tenant(pg_db, CODE, tmp_path / "big", ctx=CTX)
    (tmp_path / "big" / MANIFEST).unlink()  # as files from another system
    target = make_tenant(pg_db, NAGAI).lg_code
    with pg_db.tenant_tx(target) as conn:
        ch.move_in(conn, CTX, family(), today=TODAY)
    env = {**os.environ, "KUMOMURA_DATABASE_URL": str(pg_db.url)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from kumomura.cli import main; main()", "import", "-t", target,
         str(tmp_path / "big")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writing = kill_while_copying(pg_db, proc, f"t_{target}.resident_versions")
    assert writing, "the import finished before it could be interrupted"
    assert _count(pg_db, target) == 3  # as it was: the family, nothing of the import
    result = import_tenant(pg_db, target, tmp_path / "big")  # and again, to the end
    assert result.written
    assert _count(pg_db, target) == 10_000


def _fixed(value: str, width: int) -> bytes:
    data = value.encode("cp932")
    assert len(data) <= width
    return data + b" " * (width - len(data))


def test_fixed_width_records_of_an_old_host(db: Database, exported: Path) -> None:
    with (exported / "households.csv").open(encoding="utf-8", newline="") as handle:
        households = list(csv.DictReader(handle))
    (exported / "households.csv").unlink()
    widths = [("household_no", 15), ("created_on", 8), ("dissolved_on", 8),
              ("created_by_change", 6)]
    records = [b"".join(_fixed(h[name].replace("-", ""), width) for name, width in widths)
               for h in households]
    (exported / "SETAI.DAT").write_bytes(b"\r\n".join(records) + b"\r\n")
    (exported / "fixed_width.json").write_text(json.dumps(
        {"households": {"file": "SETAI.DAT", "encoding": "cp932", "fields": widths}}),
        encoding="utf-8")
    result = import_tenant(db, NAGAI[0], exported)
    assert result.ok, result.problems
    assert result.rows["households"] == len(households)
    (exported / "SETAI.DAT").write_bytes(b"\r\n".join([*records, records[0][:-3]]) + b"\r\n")
    result = import_tenant(db, NAGAI[0], exported, dry_run=True)
    assert [(p.file, p.line) for p in result.problems] == [("SETAI.DAT", len(records) + 1)]
    assert "レコード長" in result.problems[0].reason


def test_the_column_checks_read_what_the_row_checks_read(exported: Path) -> None:
    """Written-form files take the Polars path; it must give exactly the same records."""
    from kumomura.platform.exchange.imports import _csv_rows, _fast_read, _read_layout

    taken = set()
    for lay in all_layouts():
        path = exported / lay.file
        fast = _fast_read(lay, path, None)
        if fast is None:  # quoted values (JSON): the row path reads it
            assert b'"' in path.read_bytes(), lay.file
            continue
        taken.add(lay.name)
        problems: list[object] = []
        slow = _read_layout(lay, _csv_rows(path, None, problems), path.name,  # type: ignore[arg-type]
                            problems, None)  # type: ignore[arg-type]
        assert problems == []
        fast.as_records()
        assert fast.records == slow.records, lay.file
    assert {"atena", "households", "resident_versions"} <= taken
    _rewrite(exported / "resident_versions.csv", [(0, "birth_date", "S55.04.01")])
    assert _fast_read(get_layout("resident_versions"), exported / "resident_versions.csv",
                      None) is None  # an era date: the row path reads it


def test_export_and_import_from_the_command_line(db: Database, yonezawa: Tenant,
                                                 tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_cli import run

    _populate(db)
    code, out, err = run(capsys, "export", "--tenant", CODE, str(tmp_path / "out"))
    assert code == 0, err
    assert f"{len(all_layouts())} files" in out
    make_tenant(db, NAGAI)
    _rewrite(tmp_path / "out" / "atena.csv", [(0, "sex", "9")])
    code, out, err = run(capsys, "import", "--tenant", NAGAI[0], str(tmp_path / "out"))
    assert code == 2
    assert "atena.csv:2 sex" in err
    assert "書込み: なし" in out


def test_the_manifest_guards_an_export(db: Database, yonezawa: Tenant, tmp_path: Path) -> None:
    _populate(db)
    out = tmp_path / "export"
    export_tenant(db, CODE, out, ctx=CTX)
    make_tenant(db, NAGAI)
    path = out / "households.csv"
    path.write_bytes(path.read_bytes().replace(b"2026-04-01", b"2026-04-02"))
    manifest = json.loads((out / MANIFEST).read_text())
    next(f for f in manifest["files"] if f["layout"] == "atena")["version"] = "0.9"
    (out / MANIFEST).write_text(json.dumps(manifest))
    result = import_tenant(db, NAGAI[0], out)
    assert not result.written
    reasons = {(p.file, p.reason.split(" ")[0]) for p in result.problems}
    assert ("households.csv", "SHA-256") in reasons
    assert any(p.file == "atena.csv" and "版" in p.reason for p in result.problems)
    assert _count(db, NAGAI[0]) == 0


def test_values_read_strictly() -> None:
    from kumomura.platform.exchange.layouts import BadValue, Field, parse

    day = Field("d", "日付", "date", None, False)
    assert parse(day, "20260401") == parse(day, "R08.04.01") == date(2026, 4, 1)
    number = Field("n", "数", "integer", None, False)
    assert parse(number, "１，２００") == 1200
    for field, raw in ((day, "202411"), (day, "2026-02-30"), (number, "1_000"),
                       (number, "1.0")):
        with pytest.raises(BadValue):
            parse(field, raw)
    moment = Field("t", "日時", "datetime", None, False)
    assert parse(moment, "2026-04-01T09:00:00").utcoffset().total_seconds() == 9 * 3600


def test_a_damaged_utf8_file_is_not_read_as_shift_jis(db: Database, exported: Path) -> None:
    path = exported / "resident_versions.csv"
    path.write_bytes(path.read_bytes().replace("山田".encode(), b"\xff\xfe", 1))
    result = import_tenant(db, NAGAI[0], exported, dry_run=True)
    assert any(p.file == "resident_versions.csv" and "文字コード" in p.reason
               for p in result.problems), result.problems
