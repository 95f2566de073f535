"""The staff pages in a real browser (headless Chromium through Playwright) against a
real server on the demo consortium (embedded SQLite, as ``./dev demo`` runs it).

With KUMOMURA_SCREENSHOTS=<dir> the main pages are also saved as PNG there (that is how
docs/screenshots/ is made).
"""

from __future__ import annotations

import io
import os
import re
import socket
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import func, select

from kumomura import catalog
from kumomura.collection import public as collection
from kumomura.collection.tables import charges, payments
from kumomura.demo import DEMO_PASSWORD, build_demo
from kumomura.platform.clikit import progress
from kumomura.platform.core.config import Settings
from kumomura.platform.identity import tables
from kumomura.platform.storage.db import Database
from kumomura.residents.tables import certificate_issues, resident_versions
from kumomura.web.app import create_app
from tests.ui.relying_party import RelyingParty, served, serving

CHROMIUM = "/usr/bin/chromium"
SHOTS = os.environ.get("KUMOMURA_SCREENSHOTS")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    """The demo consortium served on a free port for the module's tests."""
    catalog.install()
    data = tmp_path_factory.mktemp("demo")
    db = Database(None, data)
    build_demo(db, progress=progress(), scale=0.002)
    settings = Settings(database_url=None, data_dir=data)
    port = _free_port()
    try:
        with served(create_app(settings=settings, db=db), port):
            yield f"http://127.0.0.1:{port}", db
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: ./dev installs Debian's chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page that fails its test when the content policy blocks anything the staff
    pages use (an inline script left in a template, a resource from elsewhere)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    opened = context.new_page()
    blocked: list[str] = []
    opened.on("console", lambda m: blocked.append(m.text)
              if "Content Security Policy" in m.text else None)
    yield opened
    context.close()
    assert blocked == []


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


def _login(page: Page, base: str, user: str, then: str = "/") -> None:
    page.goto(f"{base}{then}")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("ユーザー名").fill(user)
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()


def _a_resident(db: Database) -> tuple[str, str]:
    with db.tenant_tx("062022") as conn:
        row = conn.execute(select(resident_versions.c.atena_no, resident_versions.c.kana)
                           .where(resident_versions.c.valid_to.is_(None))
                           .order_by(resident_versions.c.atena_no).limit(1)).one()
    return str(row.atena_no), str(row.kana)


def test_login_with_the_keyboard_only(demo: tuple[str, Database], page: Page) -> None:
    base, _ = demo
    page.goto(f"{base}/")
    _shot(page, "01-login")
    page.keyboard.type("clerk_062022")  # the user name field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="米沢市")).to_be_visible()


def test_search_move_in_and_certificate(demo: tuple[str, Database], page: Page) -> None:
    base, db = demo
    atena_no, kana = _a_resident(db)
    _login(page, base, "clerk_062022", "/t/062022/residents")
    page.get_by_label("フリガナ (前方一致)").press_sequentially(kana.split()[0][:2], delay=60)
    result = page.get_by_role("link", name=atena_no)
    expect(result).to_be_visible()  # the results came while typing, without a submit
    _shot(page, "02-search")
    result.click()
    expect(page.get_by_role("heading", name=re.compile("世帯"))).to_be_visible()
    _shot(page, "03-record")

    page.goto(f"{base}/t/062022/residents/move-in")
    page.get_by_label("住所を定めた日").fill("2026-11-20")
    page.get_by_label("転入前の住所").fill("宮城県仙台市青葉区国分町三丁目7番1号")
    page.get_by_label("町字・番地").fill("金池三丁目1番55号")
    first = page.get_by_role("group", name="1人目 (世帯主)")
    first.get_by_label("氏名").fill("雲村 太郎")
    first.get_by_label("フリガナ").fill("kumomura")
    first.get_by_label("生年月日").fill("1980-04-01")
    page.get_by_role("button", name="登録する").click()
    error = page.locator("#persons-0-kana-error")
    expect(error).to_contain_text("フリガナ")  # beside the field, and the rest kept
    expect(first.get_by_label("氏名")).to_have_value("雲村 太郎")
    _shot(page, "04-move-in-error")
    first.get_by_label("フリガナ").fill("クモムラ タロウ")
    page.get_by_role("button", name="登録する").click()
    expect(page.get_by_role("status")).to_contain_text("転入を登録しました (1人)")

    page.get_by_role("link", name="証明書の交付").click()
    page.get_by_label("請求の目的").fill("就職")
    with page.expect_popup() as popup_info, page.context.expect_event(
            "response", lambda r: r.url.endswith("/certificate")) as response_info:
        page.get_by_role("button", name="交付する (PDFを開く)").click()
    response = response_info.value
    # The browser shows the PDF in its own viewer (the preview the clerk prints from).
    assert response.headers["content-type"] == "application/pdf"
    issue_no = response.headers["x-issue-no"]
    with db.tenant_tx("062022") as conn:
        issued = conn.execute(select(certificate_issues.c.purpose).where(
            certificate_issues.c.issue_no == issue_no)).scalar_one()
    assert issued == "就職"
    popup = popup_info.value
    expect(popup).to_have_url(re.compile(r"/certificate$"))
    popup.close()


def _impression_image() -> Any:
    """A scanned seal as the counter's scanner gives it: red ring, name read downwards."""
    from PIL import Image, ImageDraw, ImageFont

    from kumomura.platform.printing import FONT_FILES, MINCHO, _font_path

    image = Image.new("RGB", (120, 120), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((6, 6, 114, 114), outline=(196, 30, 40), width=6)
    font = ImageFont.truetype(str(_font_path(*FONT_FILES[MINCHO])), 40)
    for row, char in enumerate("雲村"):
        draw.text((60, 38 + row * 44), char, font=font, fill=(196, 30, 40), anchor="mm")
    return image


def test_seal_registration_at_the_counter(demo: tuple[str, Database], page: Page,
                                         tmp_path: Path) -> None:
    """From the record to 印鑑登録: a refused field shown beside its input, the seal
    registered with its scanned impression, its certificate, then its abolition."""
    from io import BytesIO

    from kumomura.seal_registration.tables import seal_certificate_issues, seal_registrations

    base, db = demo
    atena_no, _ = _a_resident(db)
    _login(page, base, "clerk_062022", f"/t/062022/residents/{atena_no}")
    page.get_by_role("link", name="印鑑登録").click()
    expect(page.get_by_text("登録はありません。")).to_be_visible()
    page.get_by_label("印影の文字").fill("雲村雲村雲村雲村雲")  # nine characters
    page.get_by_role("button", name="登録する").click()
    expect(page.locator("#impression_text-error")).to_be_visible()
    image = BytesIO()
    _impression_image().save(image, format="PNG")
    (tmp_path / "seal.png").write_bytes(image.getvalue())
    page.get_by_label("印影の文字").fill("雲村")
    page.get_by_label("印影の画像 (PNG、任意)").set_input_files(str(tmp_path / "seal.png"))
    page.get_by_role("button", name="登録する").click()
    expect(page.get_by_role("status")).to_contain_text("印鑑を登録しました")
    with db.tenant_tx("062022") as conn:
        number, png = conn.execute(select(
            seal_registrations.c.registration_no, seal_registrations.c.impression_png).where(
            seal_registrations.c.atena_no == atena_no)).one()
    from PIL import Image

    with Image.open(io.BytesIO(png)) as stored, Image.open(image) as sent:  # kept re-encoded
        assert stored.convert("RGB").tobytes() == sent.convert("RGB").tobytes()
    expect(page.get_by_role("img", name="印影 雲村")).to_have_js_property("naturalWidth", 120)
    _shot(page, "12-seals")

    page.get_by_label("請求の目的").fill("不動産登記")
    with page.expect_popup() as popup_info, page.context.expect_event(
            "response", lambda r: r.url.endswith("/certificate")) as response_info:
        page.get_by_role("button", name="交付する (PDFを開く)").click()
    assert response_info.value.headers["content-type"] == "application/pdf"
    with db.tenant_tx("062022") as conn:
        assert conn.execute(select(seal_certificate_issues.c.purpose).where(
            seal_certificate_issues.c.issue_no == response_info.value.headers["x-issue-no"])
        ).scalar_one() == "不動産登記"
    popup_info.value.close()

    page.get_by_label("廃止の理由").fill("登録証の亡失")
    page.get_by_role("button", name="廃止する").click()
    expect(page.get_by_role("status")).to_contain_text(f"登録番号 {number} を廃止しました")
    expect(page.get_by_role("cell", name="登録証の亡失")).to_be_visible()
    expect(page.get_by_role("button", name="登録する")).to_be_visible()  # may register anew


def test_protection_order_by_the_registry_administrator(demo: tuple[str, Database],
                                                        page: Page) -> None:
    base, db = demo
    atena_no, _ = _a_resident(db)
    _login(page, base, "registry_062022", f"/t/062022/residents/{atena_no}")
    protection = page.get_by_role("region", name="支援措置")
    protection.get_by_label("申出の理由").fill("配偶者からの暴力 (DV防止法)")
    protection.get_by_role("button", name="登録する").click()
    expect(page.get_by_role("status")).to_contain_text("支援措置を登録しました")
    expect(page.get_by_role("alert").first).to_contain_text("支援措置の対象者です")
    _shot(page, "13-protection")
    page.get_by_role("button", name="本日で解除").click()
    expect(page.get_by_role("status")).to_contain_text("を解除しました")
    expect(page.get_by_text("支援措置の対象者です")).to_have_count(0)


def test_correction_then_its_cancellation(demo: tuple[str, Database], page: Page) -> None:
    base, db = demo
    atena_no, _ = _a_resident(db)
    _login(page, base, "registry_062022", f"/t/062022/residents/{atena_no}")
    page.get_by_role("link", name="職権修正").click()
    page.get_by_label("本籍").fill("山形県米沢市丸の内一丁目1番地")
    page.get_by_role("button", name="修正する").click()
    expect(page.locator("#reason-error")).to_have_text("入力してください")
    expect(page.get_by_label("本籍")).to_have_value("山形県米沢市丸の内一丁目1番地")
    _shot(page, "14-correction-error")
    page.get_by_label("修正の理由").fill("本籍地からの通知 (戸籍の附票) による訂正")
    page.get_by_role("button", name="修正する").click()
    expect(page.get_by_role("status")).to_contain_text("職権修正を登録しました (1項目)")
    expect(page.get_by_text("山形県米沢市丸の内一丁目1番地")).to_be_visible()
    page.get_by_role("link", name="取消し").click()
    expect(page.get_by_role("cell", name="職権修正")).to_be_visible()
    page.get_by_label("取消しの理由").fill("別人の記録に入力")
    page.get_by_role("button", name="取り消す").click()
    expect(page.get_by_role("status")).to_contain_text("を取り消しました")


def _secret_of(db: Database, username: str) -> str:
    with db.platform_tx() as conn:
        return str(conn.execute(select(tables.users.c.totp_secret).where(
            tables.users.c.username == username)).scalar_one())


def test_a_reset_second_factor_is_enrolled_again_by_its_owner(demo: tuple[str, Database],
                                                              page: Page) -> None:
    """南陽市 (which requires a second factor): its IT lead resets the tax officer's (a
    lost phone) and never sees a new one; at the next login the officer scans a new QR
    code, confirms it with the password and a code, then logs in with the next code."""
    base, db = demo
    page.goto(f"{base}/t/062138/users")
    page.get_by_label("ユーザー名").fill("it_062138")
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    page.get_by_label(re.compile("確認コード")).fill(pyotp.TOTP(_secret_of(db, "it_062138")).now())
    page.get_by_role("button", name="ログイン").click()
    page.get_by_role("row", name=re.compile("tax_062138")).get_by_role(
        "button", name="リセット").click()
    expect(page.get_by_role("status")).to_contain_text("tax_062138 の二要素認証をリセットしました")
    page.get_by_role("button", name="ログアウト").click()
    page.get_by_label("ユーザー名").fill("tax_062138")
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("img", name="二要素認証の登録用QRコード")).to_be_visible()
    secret = page.locator("input[name=secret]").input_value()
    page.get_by_label("現在のパスワード").fill(DEMO_PASSWORD)
    page.get_by_label("確認コード (6桁)").fill("000000")
    page.get_by_role("button", name="設定する").click()
    expect(page.locator("#code-error")).to_be_visible()
    _shot(page, "15-totp")
    assert page.locator("input[name=secret]").input_value() == secret
    page.get_by_label("現在のパスワード").fill(DEMO_PASSWORD)
    page.get_by_label("確認コード (6桁)").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="設定する").click()
    expect(page.get_by_role("status")).to_contain_text("二要素認証を登録しました")
    page.get_by_label("ユーザー名").fill("tax_062138")
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    page.get_by_label(re.compile("確認コード")).fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", name="南陽市")).to_be_visible()


def test_assessment_job_runs_to_the_end(demo: tuple[str, Database], page: Page) -> None:
    base, db = demo
    atena_no, _ = _a_resident(db)
    _login(page, base, "tax_062022", "/t/062022/tax?year=2026")
    _shot(page, "05-tax-overview")
    page.get_by_role("button", name="当初課税を実行").click()
    expect(page).to_have_url(re.compile(r"/t/062022/jobs/\d+$"))
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "done",
                                                             timeout=30_000)
    expect(page.get_by_text("完了")).to_be_visible()
    _shot(page, "06-job-done")
    page.goto(f"{base}/t/062022/tax/simulate")
    page.get_by_role("button", name="試算する").click()
    # 5,000,000 of salary, 750,000 of social insurance: 240,500 at the standard 均等割,
    # 1,000 more with やまがた緑環境税 on the prefecture's part.
    expect(page.locator("#total")).to_have_text("241,500円")
    _shot(page, "07-simulate")
    page.goto(f"{base}/t/062022/tax?year=2026")
    page.get_by_label("年度").select_option("2025")  # the year changes by itself
    expect(page).to_have_url(re.compile(r"year=2025"))
    page.get_by_label("年度").select_option("2026")
    expect(page).to_have_url(re.compile(r"year=2026"))
    page.get_by_label("宛名番号で開く").fill(atena_no)
    page.get_by_role("button", name="開く").click()
    expect(page).to_have_url(re.compile(rf"/t/062022/tax/{atena_no}\?year=2026$"))
    expect(page.get_by_role("heading", name=re.compile("個人住民税 2026年度"))).to_be_visible()
    _shot(page, "08-tax-person")


def test_another_municipality_cannot_open_the_record(demo: tuple[str, Database],
                                                     page: Page) -> None:
    base, db = demo
    atena_no, _ = _a_resident(db)
    _login(page, base, "clerk_062090")
    response = page.goto(f"{base}/t/062022/residents/{atena_no}")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="見つかりません")).to_be_visible()
    seals = page.goto(f"{base}/t/062022/seals/{atena_no}")
    assert seals is not None
    assert seals.status == 404


def test_secretariat_console(demo: tuple[str, Database], page: Page) -> None:
    base, _ = demo
    _login(page, base, "secretariat", "/console")
    expect(page.get_by_role("cell", name="小国町")).to_be_visible()
    _shot(page, "09-console")
    page.goto(f"{base}/console/params")
    expect(page.get_by_role("heading", name="構成団体のパラメータ比較")).to_be_visible()
    _shot(page, "10-console-params")
    page.goto(f"{base}/console/costs?year=2026")
    expect(page.get_by_role("heading", name=re.compile("費用負担と削減効果"))).to_be_visible()
    # Seven members are live in 令和8年度 (小国町 from April 2027); 飯豊町 for three months.
    expect(page.get_by_role("img", name=re.compile("発注前"))).to_have_count(7)
    expect(page.get_by_role("cell", name="飯豊町 (3か月)")).to_be_visible()
    expect(page.get_by_role("heading", name="団体別・費目別の負担額")).to_be_visible()
    _shot(page, "11-console-costs")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == "costs-2026.csv"


def test_second_factor_where_the_member_requires_it(demo: tuple[str, Database],
                                                    page: Page) -> None:
    """南陽市 requires TOTP for staff who see personal data: the password alone is not
    enough, the code from the authenticator is."""
    base, db = demo
    with db.platform_tx() as conn:
        secret = conn.execute(select(tables.users.c.totp_secret).where(
            tables.users.c.username == "clerk_062138")).scalar_one()
    page.goto(f"{base}/login")
    page.get_by_label("ユーザー名").fill("clerk_062138")
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("alert")).to_contain_text("ログインできませんでした")
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    page.get_by_label(re.compile("確認コード")).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", name="南陽市")).to_be_visible()


def test_a_towns_own_birth_gift_from_birth_to_payment(demo: tuple[str, Database],
                                                       page: Page) -> None:
    """川西町 runs the example plugin (出生祝金): a birth entered in the registry puts the
    newborn on the town's list (the web process delivers the event), the clerk records
    the payment, and the newborn's record says so. 米沢市, without the option, has no
    such menu entry."""
    from datetime import date

    from kumomura.platform.audit import AuditContext
    from kumomura.residents import changes as ch
    from kumomura.residents.models import Birth, NewPerson

    base, db = demo
    today = date.today()
    with db.tenant_tx("063827") as conn:
        household = conn.execute(select(resident_versions.c.household_no).where(
            resident_versions.c.valid_to.is_(None), resident_versions.c.status == "resident")
            .limit(1)).scalar_one()
        baby = ch.birth(conn, AuditContext(actor="clerk_063827"), Birth(
            household_no=household, notified_on=today, person=NewPerson.model_validate({
                "name": "川西 ひなた", "kana": "カワニシ ヒナタ", "birth_date": today,
                "sex": "2", "relationship": "子"})), today=today).atena_nos[0]
    _login(page, base, "clerk_063827")
    menu = page.get_by_role("navigation", name="業務メニュー")
    menu.get_by_role("link", name="出生祝金").click()
    deadline = time.monotonic() + 15  # delivered within the dispatcher's few seconds
    while "川西 ひなた" not in page.content() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    row = page.get_by_role("row").filter(has_text="川西 ひなた")
    expect(row).to_contain_text("未支給")
    expect(row).to_contain_text("50,000円")
    _shot(page, "16-birth-gift")
    row.get_by_role("button", name="支給を記録").click()
    expect(page.get_by_role("status")).to_contain_text("支給を記録しました")
    expect(page.get_by_role("row").filter(has_text="川西 ひなた")).to_contain_text("支給済")
    page.goto(f"{base}/t/063827/residents/{baby}")
    expect(page.get_by_text("出生祝金 50,000円")).to_be_visible()
    page.get_by_role("button", name="ログアウト").click()
    _login(page, base, "clerk_062022")
    expect(menu.get_by_role("link", name="住民記録")).to_be_visible()
    expect(menu.get_by_role("link", name="出生祝金")).to_have_count(0)


def test_another_system_signs_a_clerk_in_through_kumomura(demo: tuple[str, Database],
                                                          page: Page,
                                                          browser: Browser) -> None:
    """米沢市's IT lead registers its accounting system; a clerk opening that system is
    sent to kumomura, logs in, and arrives back known with the roles kumomura gave; a
    second visit needs no login (single sign-on, through the SameSite=Strict cookie); a
    clerk of 長井市 is turned away."""
    base, _ = demo
    port = _free_port()
    callback = f"http://localhost:{port}/callback"
    _login(page, base, "it_062022", "/t/062022/oidc-clients")
    page.get_by_label("システム名").fill("財務会計システム")
    page.get_by_label(re.compile("リダイレクト先")).fill(callback)
    page.get_by_role("button", name="登録する").click()
    client_id = page.locator("#issued-client-id").inner_text()
    secret = page.locator("#issued-secret").inner_text()
    _shot(page, "17-oidc-clients")
    page.get_by_role("button", name="ログアウト").click()

    party = RelyingParty(f"{base}/oidc/062022", client_id, secret, port)
    with serving(party) as system:
        page.goto(system)
        expect(page).to_have_url(re.compile(r"127\.0\.0\.1.*/login"))
        page.get_by_label("ユーザー名").fill("clerk_062022")
        page.get_by_label("パスワード").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        expect(page.get_by_role("heading", name=re.compile("ようこそ 米沢市 窓口"))).to_be_visible()
        expect(page.locator("#roles")).to_have_text("役割: counter_clerk")
        assert page.url.startswith(f"http://localhost:{port}/callback")

        page.goto(system)  # signed in at kumomura already: straight back
        expect(page.get_by_role("heading", name=re.compile("ようこそ"))).to_be_visible()

        other = browser.new_context(locale="ja-JP").new_page()
        other.goto(system)
        other.get_by_label("ユーザー名").fill("clerk_062090")
        other.get_by_label("パスワード").fill(DEMO_PASSWORD)
        other.get_by_role("button", name="ログイン").click()
        expect(other.get_by_role("heading")).to_have_text("ログインできません: access_denied")
        other.context.close()


def test_the_collection_officer_sees_a_taxpayers_installments(demo: tuple[str, Database],
                                                              page: Page) -> None:
    """The demo's 当初課税 became charges, and its bank file paid some: from a taxpayer's
    record the collection officer opens 納付状況 and sees the four installments with
    their 納付番号 and what is still owed."""
    base, db = demo
    with db.tenant_tx("062022") as conn:
        atena_no = conn.execute(
            select(charges.c.atena_no).where(charges.c.payer_kind == "person")
            .order_by(charges.c.atena_no).limit(1)).scalar_one()
        total, _fee = collection.balance_of(conn, atena_no, date.today())
    _login(page, base, "collect_062022", f"/t/062022/residents/{atena_no}")
    page.get_by_role("link", name="納付状況").click()
    expect(page.get_by_role("heading", name=re.compile("納付状況"))).to_be_visible()
    expect(page.get_by_role("cell", name="第1期")).to_be_visible()
    expect(page.locator("#balance")).to_have_text(f"{total:,}円")
    with db.tenant_tx("062022") as conn:
        assert conn.execute(select(func.count()).select_from(payments)).scalar_one() > 0
    _shot(page, "18-collection")
