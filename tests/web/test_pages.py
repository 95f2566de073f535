"""Staff pages through HTTP: login, sessions that end, the counter's forms with errors
beside the fields, and another municipality's staff kept out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from io import BytesIO
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import update

from kumomura.inhabitant_tax import income_data
from kumomura.inhabitant_tax.models import IncomeReturnIn
from kumomura.platform import audit, params
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.identity import auth
from kumomura.platform.identity.auth import Scope, users_of
from kumomura.platform.identity.sessions import web_sessions
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import service as residents
from kumomura.seal_registration import service as seals
from kumomura.web.app import create_app
from tests.conftest import NAGAI, make_tenant

PW = "correct horse battery staple"


def _user(db: Database, name: str, roles: list[str], code: str | None = "062022",
          scope: Scope = Scope.TENANT) -> None:
    auth.create_user(db, username=name, password=PW, display_name=name, scope=scope,
                     lg_code=code, role_names=roles)


@pytest.fixture
def client(db: Database, yonezawa: Tenant) -> Iterator[TestClient]:
    make_tenant(db, NAGAI)
    _user(db, "clerk", ["counter_clerk"])
    with db.tenant_tx("062022") as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=AuditContext(actor="test"), reason="設定")
    with TestClient(create_app(db=db)) as c:
        yield c


def _login(client: TestClient, name: str = "clerk", password: str = PW) -> None:
    r = client.post("/login", data={"username": name, "password": password, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


MOVE_IN = {
    "moved_on": "2026-04-01", "notified_on": "2026-04-03",
    "previous_address": "宮城県仙台市青葉区国分町三丁目7番1号",
    "address.postal_code": "992-0012", "address.town": "金池三丁目1番55号",
    "persons.0.name": "佐藤 健一", "persons.0.kana": "サトウ ケンイチ",
    "persons.0.birth_date": "1975-05-05", "persons.0.sex": "1",
    "persons.0.relationship": "世帯主",
    "persons.1.name": "佐藤 由美", "persons.1.kana": "サトウ ユミ",
    "persons.1.birth_date": "1978-08-08", "persons.1.sex": "2", "persons.1.relationship": "妻",
}


def test_login_search_move_in_record_and_certificate(client: TestClient) -> None:
    r = client.get("/t/062022/residents", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=/t/062022/residents")
    bad = client.post("/login", data={"username": "clerk", "password": "nope"})
    assert bad.status_code == 401
    assert "ユーザー名またはパスワードが正しくありません" in bad.text
    _login(client)
    home = client.get("/")
    assert "米沢市" in home.text
    assert "住民記録" in home.text

    refused = client.post("/t/062022/residents/move-in",
                          data={**MOVE_IN, "persons.1.kana": "Sato", "moved_on": ""})
    assert refused.status_code == 422
    assert 'id="persons-1-kana-error"' in refused.text
    assert 'id="moved_on-error"' in refused.text
    assert "佐藤 由美" in refused.text  # what was typed stays in the form

    done = client.post("/t/062022/residents/move-in", data=MOVE_IN, follow_redirects=False)
    assert done.status_code == 303, done.text
    record = client.get(done.headers["location"])
    assert "転入を登録しました (2人)" in record.text
    assert "佐藤 由美" in record.text
    atena_no = done.headers["location"].split("/")[4].split("?")[0]

    found = client.get("/t/062022/residents/results", params={"kana": "ｻﾄｳ"})
    assert found.text.count("/t/062022/residents/0") == 2
    none = client.get("/t/062022/residents/results", params={"kana": "abc"})
    assert "フリガナはカタカナ・ひらがなで入力してください" in none.text

    pdf = client.post(f"/t/062022/residents/{atena_no}/certificate",
                      data={"kind": "copy", "scope": "household", "applicant_kind": "self",
                            "purpose": "就職", "items": ["householder"]})
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    no_purpose = client.post(f"/t/062022/residents/{atena_no}/certificate",
                             data={"kind": "copy", "scope": "person", "applicant_kind": "self",
                                   "purpose": ""})
    assert no_purpose.status_code == 422
    assert 'id="purpose-error"' in no_purpose.text


def test_sessions_end_at_logout_and_when_idle(client: TestClient, db: Database) -> None:
    _login(client)
    assert client.get("/").status_code == 200
    client.post("/logout")
    assert client.get("/", follow_redirects=False).status_code == 303
    _login(client)
    with db.platform_tx() as conn:
        conn.execute(update(web_sessions).values(last_seen_at=utcnow() - timedelta(hours=1)))
    idle = client.get("/", follow_redirects=False)
    assert idle.status_code == 303
    assert "%E4%B8%80%E5%AE%9A%E6%99%82%E9%96%93" in idle.headers["location"]  # 一定時間


def test_lock_out_after_repeated_failures(client: TestClient) -> None:
    for _ in range(5):
        client.post("/login", data={"username": "clerk", "password": "wrong"})
    locked = client.post("/login", data={"username": "clerk", "password": PW})
    assert locked.status_code == 401
    assert "ロックされています" in locked.text


def test_another_municipality_cannot_reach_a_resident_by_url(client: TestClient,
                                                             db: Database) -> None:
    _login(client)
    done = client.post("/t/062022/residents/move-in", data=MOVE_IN, follow_redirects=False)
    atena_no = done.headers["location"].split("/")[4].split("?")[0]
    client.post("/logout")
    _user(db, "nagai_clerk", ["counter_clerk"], code="062090")
    _login(client, "nagai_clerk")
    for path in (f"/t/062022/residents/{atena_no}", f"/t/062090/residents/{atena_no}",
                 "/t/062022/residents/results?kana=サトウ"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "佐藤" not in r.text


def _finish(db: Database, location: str) -> int:
    """The job the page started (on PostgreSQL this test is the worker)."""
    job_id = int(location.rstrip("/").split("/")[-1])
    if jobs.get_job(db, job_id).status != jobs.JobStatus.DONE:
        jobs.run_in_process(db, job_id)
    return job_id


def test_tax_office_pages(client: TestClient, db: Database) -> None:
    _user(db, "tax", ["tax_officer"])
    _user(db, "clerk2", ["counter_clerk"])
    _login(client)
    done = client.post("/t/062022/residents/move-in", data={
        **MOVE_IN, "moved_on": "2024-04-01", "notified_on": "2024-04-01"},
        follow_redirects=False)
    atena_no = done.headers["location"].split("/")[4].split("?")[0]
    client.post("/logout")
    _login(client, "tax")
    with db.tenant_tx("062022") as conn:
        income_data.record_return(conn, AuditContext(actor="test"), IncomeReturnIn.model_validate({
            "atena_no": atena_no, "income_year": 2025,
            "taxpayer": {"birth_date": "1975-05-05", "salary_revenue": 5_000_000,
                         "pension_revenue": 0, "other_income": 0},
            "deductions": {"social_insurance": 750_000}}))
    simulated = client.post("/t/062022/tax/simulate", data={
        "fiscal_year": "2026", "birth_date": "1975-05-05", "salary_revenue": "5000000",
        "pension_revenue": "0", "other_income": "0", "social_insurance": "750000",
        "spouse_income": "", "dependents": ""})
    assert simulated.status_code == 200
    assert '<span id="total">240,500円</span>' in simulated.text
    wrong = client.post("/t/062022/tax/simulate", data={
        "fiscal_year": "2026", "birth_date": "1975-02-30", "salary_revenue": "-1",
        "pension_revenue": "0", "other_income": "0"})
    assert wrong.status_code == 422
    assert 'id="salary_revenue-error"' in wrong.text
    assert 'id="birth_date-error"' in wrong.text
    credits = client.post("/t/062022/tax/simulate", data={
        "fiscal_year": "2026", "birth_date": "1975-05-05", "salary_revenue": "5000000",
        "pension_revenue": "0", "other_income": "0", "social_insurance": "750000",
        "housing_loan_available": "200000", "housing_loan_used": "50000"})
    assert credits.status_code == 200
    assert '<span id="total">240,500円</span>' not in credits.text  # the loan credit taken
    too_much = client.post("/t/062022/tax/simulate", data={
        "fiscal_year": "2026", "birth_date": "1975-05-05", "salary_revenue": "5000000",
        "pension_revenue": "0", "other_income": "0", "housing_loan_available": "100",
        "housing_loan_used": "200"})
    assert too_much.status_code == 422
    assert 'id="housing_loan_used-error"' in too_much.text

    started = client.post("/t/062022/tax/assess", data={"year": "2026"},
                          follow_redirects=False)
    job_id = _finish(db, started.headers["location"])
    progress = client.get(f"/t/062022/jobs/{job_id}/progress")
    assert 'data-status="done"' in progress.text
    assert "hx-trigger" not in progress.text  # finished: the page stops asking
    page = client.get(f"/t/062022/tax/{atena_no}?year=2026")
    assert '<strong id="total">240,500円</strong>' in page.text
    fixed = client.post(f"/t/062022/tax/{atena_no}/correction",
                        data={"year": "2026", "note": "確認"}, follow_redirects=True)
    assert "変更はありません" in fixed.text
    pdf = client.get(f"/t/062022/tax/{atena_no}/notice.pdf?year=2026")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert client.get("/t/062022/jobs").status_code == 200
    client.post("/logout")
    _login(client, "clerk2")  # a counter clerk has no tax rights
    assert client.get(f"/t/062022/tax/{atena_no}").status_code == 403


def test_parameters_and_the_console(client: TestClient, db: Database) -> None:
    _user(db, "it", ["municipal_it"])
    _user(db, "sec", ["secretariat"], code=None, scope=Scope.CONSORTIUM)
    _login(client, "it")
    page = client.get("/t/062022/params")
    assert "idle_timeout_minutes" in page.text
    changed = client.post("/t/062022/params", data={
        "module": "inhabitant_tax", "name": "prefectural_per_capita", "value": "2000",
        "effective_from": "2024-04-01", "reason": "やまがた緑環境税"}, follow_redirects=True)
    assert "inhabitant_tax.prefectural_per_capita を変更しました" in changed.text
    assert "<strong>2000</strong>" in changed.text
    refused = client.post("/t/062022/params", data={
        "module": "inhabitant_tax", "name": "grade", "value": "7",
        "effective_from": "2024-04-01"}, follow_redirects=True)
    assert "変更できません" in refused.text
    assert client.get("/console").status_code == 403
    client.post("/logout")
    _login(client, "sec")
    console = client.get("/console")
    assert "米沢市" in console.text
    assert "長井市" in console.text
    diff = client.get("/console/params")
    assert "inhabitant_tax.prefectural_per_capita" in diff.text
    assert client.get("/t/062022/residents").status_code == 404  # no personal data


def test_birth_and_household_changes_at_the_counter(client: TestClient) -> None:
    _login(client)
    done = client.post("/t/062022/residents/move-in", data=MOVE_IN, follow_redirects=False)
    head = done.headers["location"].split("/")[4].split("?")[0]
    page = client.get(f"/t/062022/residents/{head}")
    wife = next(a for a in page.text.split('href="/t/062022/residents/')[1:]
                if "佐藤 由美" in a).split('"')[0]
    base = f"/t/062022/residents/{head}/change"
    missing = client.post(f"{base}/birth", data={"notified_on": "2026-11-10",
                                                 "person.birth_date": "2026-11-01"})
    assert missing.status_code == 422
    assert 'id="person-name-error"' in missing.text
    born = client.post(f"{base}/birth", data={
        "notified_on": "2026-11-10", "person.name": "佐藤 花", "person.kana": "サトウ ハナ",
        "person.birth_date": "2026-11-01", "person.sex": "2", "person.relationship": "子"},
        follow_redirects=True)
    assert "出生届を登録しました" in born.text
    assert "佐藤 花" in born.text
    changed = client.post(f"/t/062022/residents/{wife}/change/household", data={
        "kind": "new_householder", "effective_on": "2026-11-15", "notified_on": "2026-11-16",
        "former_relationship": "夫"}, follow_redirects=True)
    assert "世帯変更届を登録しました" in changed.text
    assert "<th>続柄</th><td>世帯主</td>" in changed.text
    split = client.post(f"{base}/household", data={
        "kind": "split", "effective_on": "2026-11-20", "notified_on": "2026-11-20"},
        follow_redirects=True)
    assert "世帯変更届を登録しました" in split.text
    assert "世帯 (1人)" in split.text


def test_a_declaration_taken_at_the_tax_counter(client: TestClient, db: Database) -> None:
    _user(db, "tax", ["tax_officer"])
    _login(client)
    done = client.post("/t/062022/residents/move-in", data={
        **MOVE_IN, "moved_on": "2024-04-01", "notified_on": "2024-04-01"},
        follow_redirects=False)
    atena_no = done.headers["location"].split("/")[4].split("?")[0]
    client.post("/logout")
    _login(client, "tax")
    form = client.get(f"/t/062022/tax/{atena_no}/return?year=2026")
    assert 'value="1975-05-05"' in form.text  # the birth date from the registry
    base = {"year": "2026", "birth_date": "1975-05-05", "salary_revenue": "5000000",
            "social_insurance": "750000"}
    wrong = client.post(f"/t/062022/tax/{atena_no}/return",
                        data={**base, "salary_revenue": "-1", "spouse_birth_date": "1978-02-30"})
    assert wrong.status_code == 422
    assert 'id="salary_revenue-error"' in wrong.text
    assert 'id="spouse_birth_date-error"' in wrong.text
    taken = client.post(f"/t/062022/tax/{atena_no}/return", follow_redirects=True,
                        data={**base, "spouse_birth_date": "1978-08-08", "spouse_salary": "0"})
    assert "2025年分の課税資料を受け付けました" in taken.text
    assert "配偶者 昭和53年8月8日生" in taken.text
    # A declaration after the annual assessment is assessed through 更正 (version 1).
    assessed = client.post(f"/t/062022/tax/{atena_no}/correction", follow_redirects=True,
                           data={"year": "2026", "note": "申告による課税"})
    assert "第1版に更正しました" in assessed.text
    assert "配偶者" in assessed.text


def test_seal_registration_pages(client: TestClient, db: Database) -> None:
    """印鑑登録 at the counter on both databases: a child refused (field beside), a bad
    image refused, a seal registered with its image, the certificate, the abolition;
    another municipality's clerk sees nothing."""
    _login(client)
    done = client.post("/t/062022/residents/move-in", data={
        **MOVE_IN, "persons.1.birth_date": "2015-08-08", "persons.1.relationship": "子"},
        follow_redirects=False)
    record = client.get(done.headers["location"]).text
    assert "/t/062022/seals/" in record  # the record links to the seal page
    atena_no = done.headers["location"].split("/")[4].split("?")[0]
    with db.tenant_tx("062022") as conn:
        members = residents.living_members(conn, residents.current(conn, atena_no)[
            "household_no"])
    child = next(m["atena_no"] for m in members if m["atena_no"] != atena_no)

    too_young = client.post(f"/t/062022/seals/{child}/register",
                            data={"registered_on": "2026-11-24", "impression_text": "佐藤"})
    assert too_young.status_code == 422
    assert "15歳未満の方は印鑑登録できません" in too_young.text
    not_png = client.post(f"/t/062022/seals/{atena_no}/register",
                          data={"registered_on": "2026-11-24", "impression_text": "佐藤"},
                          files={"impression": ("seal.png", b"GIF89a", "image/png")})
    assert not_png.status_code == 422
    assert 'id="impression-error"' in not_png.text
    damaged = client.post(f"/t/062022/seals/{atena_no}/register",
                          data={"registered_on": "2026-11-24", "impression_text": "佐藤"},
                          files={"impression": ("seal.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
                                                "image/png")})
    assert damaged.status_code == 422  # a PNG header on nothing: it would fail every print
    assert 'id="impression-error"' in damaged.text
    buffer = BytesIO()
    Image.new("RGB", (40, 40), (196, 30, 40)).save(buffer, format="PNG")
    png = buffer.getvalue()
    registered = client.post(f"/t/062022/seals/{atena_no}/register",
                             data={"registered_on": "2026-11-24", "impression_text": "佐藤"},
                             files={"impression": ("seal.png", png, "image/png")},
                             follow_redirects=False)
    assert registered.status_code == 303, registered.text
    page = client.get(registered.headers["location"]).text
    assert "印鑑を登録しました" in page
    number = page.split("登録番号 ")[1].split(")")[0]
    image = client.get(f"/t/062022/seals/{atena_no}/{number}/impression.png")
    assert (image.headers["content-type"], image.content) == ("image/png", png)
    assert client.get(f"/t/062022/seals/{child}/{number}/impression.png").status_code == 404

    # Another person's page cannot act on this registration, whatever the address says.
    for action, data in (("certificate", {"purpose": "不動産登記"}),
                         ("abolish", {"abolished_on": "2026-11-25", "reason": "亡失"})):
        other = client.post(f"/t/062022/seals/{child}/{number}/{action}", data=data)
        assert other.status_code == 422, action
        assert f"登録番号 {number} の印鑑登録はありません" in other.text
    with db.tenant_tx("062022") as conn:
        assert [r["status"] for r in seals.of_person(conn, atena_no, ctx=AuditContext(
            actor="t"))] == ["active"]
    assert "seal_registration.impression_viewed" in [
        e["action"] for e in audit.entries(db, "062022", atena_no=atena_no)]
    pdf = client.post(f"/t/062022/seals/{atena_no}/{number}/certificate",
                      data={"purpose": "不動産登記"})
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    early = client.post(f"/t/062022/seals/{atena_no}/{number}/abolish",
                        data={"abolished_on": "2026-01-01", "reason": "亡失"})
    assert early.status_code == 422
    assert "廃止日が登録日より前です" in early.text
    abolished = client.post(f"/t/062022/seals/{atena_no}/{number}/abolish",
                            data={"abolished_on": "2026-11-25", "reason": "亡失"},
                            follow_redirects=False)
    assert abolished.status_code == 303
    assert "亡失" in client.get(abolished.headers["location"]).text

    client.post("/logout")
    _user(db, "nagai_clerk", ["counter_clerk"], code="062090")
    _login(client, "nagai_clerk")
    for path in (f"/t/062022/seals/{atena_no}", f"/t/062090/seals/{atena_no}"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "佐藤" not in r.text
    assert client.get(f"/t/062022/seals/{atena_no}/{number}/impression.png").status_code == 404


def order_household(conn: Any, atena_no: str) -> str:
    return str(residents.current(conn, atena_no)["household_no"])


def test_protection_orders_on_the_record(client: TestClient, db: Database) -> None:
    """支援措置 from the record, for the registry administrator only: a refused field
    beside its input, an order for a year, an extension refused before its time, a lift."""
    _login(client)
    done = client.post("/t/062022/residents/move-in", data=MOVE_IN, follow_redirects=False)
    where = done.headers["location"].split("?")[0]
    atena_no = where.split("/")[4]
    assert "支援措置の申出を登録" not in client.get(where).text  # not the clerk's
    assert client.post(f"{where}/protection", data={
        "kind": "support", "starts_on": "2026-11-24", "reason": "DV"}).status_code == 403
    client.post("/logout")
    _user(db, "registry", ["registry_editor"])
    _login(client, "registry")
    assert "支援措置はありません" in client.get(where).text

    refused = client.post(f"{where}/protection",
                          data={"kind": "support", "starts_on": "2026-11-24", "reason": ""})
    assert refused.status_code == 422
    assert 'id="reason-error"' in refused.text
    added = client.post(f"{where}/protection", data={
        "kind": "support", "starts_on": date.today().isoformat(),
        "reason": "配偶者からの暴力"}, follow_redirects=False)
    assert added.status_code == 303, added.text
    page = client.get(added.headers["location"]).text
    assert "支援措置を登録しました" in page
    assert "支援措置の対象者です" in page  # the banner every clerk sees
    with db.tenant_tx("062022") as conn:
        (order,) = residents.protection_history(conn, atena_no)
    early = client.post(f"{where}/protection/{order['id']}/extend")
    assert early.status_code == 422
    assert "延長の申出は終了日の1か月前から受け付けます" in early.text
    with db.tenant_tx("062022") as conn:
        (spouse,) = [m["atena_no"] for m in residents.living_members(conn, order_household(
            conn, atena_no)) if m["atena_no"] != atena_no]
    other = client.post(f"/t/062022/residents/{spouse}/protection/{order['id']}/lift")
    assert other.status_code == 422  # not this person's order: nothing lifted
    assert f"支援措置 {order['id']} はありません" in other.text
    before = client.post(f"{where}/protection/{order['id']}/lift",
                         data={"lifted_on": (date.today() - timedelta(days=1)).isoformat()})
    assert before.status_code == 422
    assert "解除日が支援措置" in before.text
    lifted = client.post(f"{where}/protection/{order['id']}/lift",
                         data={"lifted_on": date.today().isoformat()}, follow_redirects=False)
    assert lifted.status_code == 303
    page = client.get(lifted.headers["location"]).text
    assert f"支援措置 {order['id']} を解除しました" in page
    assert "支援措置の対象者です" not in page


def test_correction_and_cancellation_by_the_registry_administrator(client: TestClient,
                                                                     db: Database) -> None:
    """職権修正 changes only what was edited (errors beside the fields), and 異動の取消し
    undoes the latest change; neither is the clerk's."""
    from kumomura.residents.models import CORRECTABLE
    from kumomura.residents.ui import CORRECTION_FIELDS

    assert {f for f, _, _ in CORRECTION_FIELDS} == set(CORRECTABLE)
    _login(client)
    done = client.post("/t/062022/residents/move-in", data=MOVE_IN, follow_redirects=False)
    where = done.headers["location"].split("?")[0]
    atena_no = where.split("/")[4]
    assert client.get(f"{where}/correction").status_code == 403
    client.post("/logout")
    _user(db, "registry", ["registry_editor"])
    _login(client, "registry")
    form = client.get(f"{where}/correction").text
    assert 'value="サトウ ケンイチ"' in form
    current = {"name": "佐藤 健一", "kana": "サトウ ケンイチ", "birth_date": "1975-05-05",
               "sex": "1", "postal_code": "992-0012", "effective_on": "2026-11-24"}
    nothing = client.post(f"{where}/correction", data={**current, "reason": "照合"})
    assert nothing.status_code == 422
    assert "修正する項目がありません" in nothing.text
    bad = client.post(f"{where}/correction", data={**current, "kana": "Sato", "reason": ""})
    assert bad.status_code == 422
    assert 'id="kana-error"' in bad.text
    assert 'id="reason-error"' in bad.text
    fixed = client.post(f"{where}/correction", data={
        **current, "name": "佐藤 健市", "reason": "戸籍の附票との照合"}, follow_redirects=False)
    assert fixed.status_code == 303, fixed.text
    record = client.get(fixed.headers["location"]).text
    assert "職権修正を登録しました (1項目)" in record
    assert "佐藤 健市" in record
    with db.tenant_tx("062022") as conn:
        (latest,) = [h for h in residents.history(conn, AuditContext(actor="t"), atena_no)
                     if h["valid_to"] is None]
        assert latest["postal_code"] == "992-0012"  # untouched fields stay as they were
    change_id = latest["change_id"]
    assert f"/cancel/{change_id}" in record
    # A post without the postal code leaves it as it is (only an emptied field clears).
    partial = client.post(f"{where}/correction", data={
        "effective_on": "2026-11-24", "reason": "照合", "hittousha": "佐藤 健市"},
        follow_redirects=False)
    assert partial.status_code == 303, partial.text
    with db.tenant_tx("062022") as conn:
        assert residents.current(conn, atena_no)["postal_code"] == "992-0012"
        (spouse,) = [m["atena_no"] for m in residents.living_members(
            conn, order_household(conn, atena_no)) if m["atena_no"] != atena_no]
    assert client.get(f"/t/062022/residents/{spouse}/cancel/{change_id}").status_code == 404
    elsewhere = client.post(f"/t/062022/residents/{spouse}/cancel/{change_id}",
                            data={"reason": "別人の修正を誤入力"})
    assert elsewhere.status_code == 404  # not the spouse's change: nothing undone
    with db.tenant_tx("062022") as conn:
        change_id = residents.current(conn, atena_no)["change_id"]
    shown = client.get(f"{where}/cancel/{change_id}").text
    assert "<td>職権修正</td>" in shown
    no_reason = client.post(f"{where}/cancel/{change_id}", data={"reason": ""})
    assert no_reason.status_code == 422
    undone = client.post(f"{where}/cancel/{change_id}", data={"reason": "別人の修正を誤入力"},
                         follow_redirects=False)
    assert undone.status_code == 303
    record = client.get(undone.headers["location"]).text
    assert f"異動 {change_id} を取り消しました" in record
    with db.tenant_tx("062022") as conn:  # the latest correction undone, the first kept
        now = residents.current(conn, atena_no)
    assert (now["name"], now["hittousha"]) == ("佐藤 健市", None)
    again = client.post(f"{where}/cancel/{change_id}", data={"reason": "二度目"})
    assert again.status_code == 422
    assert "取消し済みです" in again.text


def _secret(page: str) -> str:
    return page.split('name="secret" value="')[1].split('"')[0]


def test_own_second_factor_confirmed_by_password_and_code(client: TestClient) -> None:
    _login(client)
    assert "未設定" in client.get("/account").text
    form = client.get("/account/totp").text
    assert "<svg" in form  # the QR code, inline
    secret = _secret(form)
    wrong = client.post("/account/totp", data={"secret": secret, "password": "nope",
                                               "code": "000000"})
    assert wrong.status_code == 422
    assert 'id="password-error"' in wrong.text
    assert 'id="code-error"' in wrong.text
    assert _secret(wrong.text) == secret  # the same secret to try again with
    done = client.post("/account/totp", follow_redirects=False, data={
        "secret": secret, "password": PW, "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 303
    assert "設定済み" in client.get("/account").text
    client.post("/logout")
    assert client.post("/login", data={"username": "clerk", "password": PW}).status_code == 401
    ok = client.post("/login", follow_redirects=False, data={
        "username": "clerk", "password": PW, "totp": pyotp.TOTP(secret).now()})
    assert ok.status_code == 303


def test_it_lead_enrols_the_municipalitys_users_only(client: TestClient,
                                                      db: Database) -> None:
    _user(db, "it", ["municipal_it"])
    _user(db, "nagai_it", ["municipal_it"], code="062090")
    _login(client, "it")
    listing = client.get("/t/062022/users").text
    assert "clerk" in listing
    assert "nagai_it" not in listing
    form = client.get("/t/062022/users/clerk/totp").text
    secret = _secret(form)
    done = client.post("/t/062022/users/clerk/totp", follow_redirects=False,
                       data={"secret": secret, "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 303
    assert "clerk の二要素認証を設定しました" in client.get(done.headers["location"]).text
    assert client.get("/t/062022/users/nagai_it/totp").status_code == 404
    assert client.post("/t/062022/users/nagai_it/totp", data={
        "secret": secret, "code": pyotp.TOTP(secret).now()}).status_code == 404
    client.post("/logout")
    _login(client, "nagai_it")
    assert client.get("/t/062022/users").status_code == 404
    assert client.get("/t/062090/users/clerk/totp").status_code == 404
    client.post("/logout")
    assert client.post("/login", follow_redirects=False, data={  # the clerk, now with TOTP
        "username": "clerk", "password": PW, "totp": pyotp.TOTP(secret).now()}
    ).status_code == 303
    assert client.get("/t/062022/users").status_code == 403  # no IT rights


def test_it_lead_adds_resets_and_suspends_users(client: TestClient, db: Database) -> None:
    """The municipal IT lead: a user added (errors beside the fields, nothing stored on a
    refusal), a password reset, a suspension that also ends the user's open session."""
    _user(db, "it", ["municipal_it"])
    _user(db, "nagai_clerk", ["counter_clerk"], code="062090")
    _login(client, "it")
    refused = client.post("/t/062022/users", data={"username": "new clerk", "password": "short"})
    assert refused.status_code == 422
    assert 'id="username-error"' in refused.text
    assert 'id="password-error"' in refused.text
    assert "役割を1つ以上選んでください" in refused.text  # all three named at once
    assert "new clerk" not in [u["username"] for u in users_of(db, "062022")]
    added = client.post("/t/062022/users", follow_redirects=False, data={
        "username": "clerk2", "display_name": "窓口 二郎", "password": PW,
        "roles": ["counter_clerk"]})
    assert added.status_code == 303, added.text
    listing = client.get(added.headers["location"]).text
    assert "利用者 clerk2 を登録しました" in listing
    assert "counter_clerk" in listing
    short = client.post("/t/062022/users/clerk2/password", data={"password": "short"})
    assert short.status_code == 422
    assert "パスワードは10文字以上にしてください" in short.text
    assert client.post("/t/062022/users/clerk2/password", follow_redirects=False,
                       data={"password": "another long passphrase"}).status_code == 303
    assert client.post("/t/062022/users/nagai_clerk/password",
                       data={"password": "another long passphrase"}).status_code == 404
    itself = client.post("/t/062022/users/it/active", data={"active": "false"})
    assert itself.status_code == 422

    clerk = TestClient(client.app)
    assert clerk.post("/login", follow_redirects=False, data={
        "username": "clerk2", "password": "another long passphrase"}).status_code == 303
    assert clerk.get("/").status_code == 200
    assert client.post("/t/062022/users/clerk2/active", follow_redirects=False,
                       data={"active": "false"}).status_code == 303
    assert clerk.get("/", follow_redirects=False).status_code == 303  # back to the login
    assert clerk.post("/login", data={"username": "clerk2",
                                      "password": "another long passphrase"}).status_code == 401
    assert client.post("/t/062022/users/clerk2/active", follow_redirects=False,
                       data={"active": "true"}).status_code == 303
    assert clerk.get("/", follow_redirects=False).status_code == 303  # ended, not paused
    slash = client.post("/t/062022/users", data={"username": "a/b", "password": PW,
                                                 "roles": ["counter_clerk"]})
    assert slash.status_code == 422
    assert 'id="username-error"' in slash.text
    actions = [e["action"] for e in audit.entries(db, "062022")]
    for action in ("platform.user_created", "platform.password_reset",
                   "platform.user_suspended", "platform.user_resumed"):
        assert action in actions, action
    bad_secret = client.post("/t/062022/users/clerk2/totp",
                             data={"secret": "not base32 at all!", "code": "123456"})
    assert bad_secret.status_code == 422
    assert 'id="code-error"' in bad_secret.text


def test_the_operator_cannot_administer_a_municipalitys_staff(client: TestClient,
                                                              db: Database) -> None:
    """The operator holds the platform's admin right, not a municipality's: its users page
    (and through it a way to personal data) is a 404, as for anyone outside."""
    _user(db, "op", ["operator"], code=None, scope=Scope.OPERATOR)
    _login(client, "op")
    assert client.get("/t/062022/users").status_code == 404
    assert client.post("/t/062022/users", data={
        "username": "spy", "password": PW, "roles": ["tax_officer"]}).status_code == 404
    assert client.post("/t/062022/users/clerk/password",
                       data={"password": "another long passphrase"}).status_code == 404


def test_it_lead_changes_roles_from_the_next_request(client: TestClient,
                                                      db: Database) -> None:
    _user(db, "it", ["municipal_it"])
    _user(db, "nagai_clerk", ["counter_clerk"], code="062090")
    clerk = TestClient(client.app)
    assert clerk.post("/login", follow_redirects=False,
                      data={"username": "clerk", "password": PW}).status_code == 303
    assert clerk.get("/t/062022/tax").status_code == 403
    _login(client, "it")
    changed = client.post("/t/062022/users/clerk/roles", follow_redirects=False,
                          data={"roles": ["counter_clerk", "tax_officer"]})
    assert changed.status_code == 303
    assert clerk.get("/t/062022/tax").status_code == 200  # the open session, next request
    none = client.post("/t/062022/users/clerk/roles", data={})
    assert none.status_code == 422
    assert "役割を1つ以上選んでください" in none.text
    wrong = client.post("/t/062022/users/clerk/roles", data={"roles": ["secretariat"]})
    assert wrong.status_code == 422
    own = client.post("/t/062022/users/it/roles", data={"roles": ["counter_clerk"]})
    assert own.status_code == 422
    assert "自分の情報主管課の役割は外せません" in own.text
    assert client.post("/t/062022/users/nagai_clerk/roles",
                       data={"roles": ["tax_officer"]}).status_code == 404


def test_replacing_a_second_factor_needs_the_current_one(client: TestClient,
                                                         db: Database) -> None:
    _login(client)
    first = _secret(client.get("/account/totp").text)
    assert client.post("/account/totp", follow_redirects=False, data={
        "secret": first, "password": PW, "code": pyotp.TOTP(first).now()}).status_code == 303
    form = client.get("/account/totp").text
    assert 'id="current_code"' in form
    second = _secret(form)
    without = client.post("/account/totp", data={
        "secret": second, "password": PW, "code": pyotp.TOTP(second).now()})
    assert without.status_code == 422
    assert 'id="current_code-error"' in without.text
    assert client.post("/account/totp", follow_redirects=False, data={
        "secret": second, "password": PW, "code": pyotp.TOTP(second).now(),
        "current_code": pyotp.TOTP(first).now()}).status_code == 303
    # Wrong passwords here count as failed logins: enough of them lock the account.
    for _ in range(5):
        client.post("/account/totp", data={"secret": second, "password": "wrong",
                                           "code": "000000"})
    client.post("/logout")
    locked = client.post("/login", data={"username": "clerk", "password": PW,
                                         "totp": pyotp.TOTP(second).now()})
    assert locked.status_code == 401
    assert "ロックされています" in locked.text
