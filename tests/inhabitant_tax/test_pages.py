"""個人住民税's pages through HTTP: the overview, a person, the simulator, the 当初課税
job and a declaration taken at the counter."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kumomura.inhabitant_tax import income_data
from kumomura.inhabitant_tax.models import IncomeReturnIn
from kumomura.platform.audit import AuditContext
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from tests.pages import MOVE_IN, _login, _user


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
