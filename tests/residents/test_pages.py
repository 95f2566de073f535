"""住民記録's pages through HTTP: search, move-in, the record, certificates, changes,
protection orders, corrections; another municipality's staff kept out."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from kumomura.platform.audit import AuditContext
from kumomura.platform.storage.db import Database
from kumomura.residents import service as residents
from tests.pages import MOVE_IN, _login, _user


def test_login_search_move_in_record_and_certificate(client: TestClient) -> None:
    r = client.get("/t/062022/residents", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=/t/062022/residents")
    bad = client.post("/login", data={"username": "clerk", "password": "nope"})
    assert bad.status_code == 401
    assert "ログインできませんでした" in bad.text
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
