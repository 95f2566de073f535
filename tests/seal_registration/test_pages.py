"""印鑑登録's page through HTTP: registrations with the scanned impression,
abolition and the certificate."""

from __future__ import annotations

from io import BytesIO

from fastapi.testclient import TestClient
from PIL import Image

from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.storage.db import Database
from kumomura.residents import service as residents
from kumomura.seal_registration import service as seals
from tests.pages import MOVE_IN, _login, _user


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
    assert image.headers["content-type"] == "image/png"
    with Image.open(BytesIO(image.content)) as stored:  # kept as written here, same pixels
        assert (stored.size, stored.getpixel((20, 20))) == ((40, 40), (196, 30, 40))
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


def test_a_decompression_bomb_is_refused_naming_the_field(client: TestClient) -> None:
    """A 30,000 × 30,000 image in a few kilobytes: refused before decoding, named."""
    _login(client)
    done = client.post("/t/062022/residents/move-in", data=MOVE_IN, follow_redirects=False)
    atena_no = done.headers["location"].split("/")[-1].split("?")[0]
    buffer = BytesIO()
    Image.new("1", (30_000, 30_000)).save(buffer, format="PNG", optimize=True)
    assert len(buffer.getvalue()) < 512_000
    bomb = client.post(f"/t/062022/seals/{atena_no}/register",
                       data={"registered_on": "2026-11-24", "impression_text": "佐藤"},
                       files={"impression": ("seal.png", buffer.getvalue(), "image/png")})
    assert bomb.status_code == 422
    assert 'id="impression-error"' in bomb.text
    assert "大きすぎます" in bomb.text
    big = BytesIO()
    Image.new("RGB", (1_600, 1_200), (196, 30, 40)).save(big, format="PNG")
    kept = client.post(f"/t/062022/seals/{atena_no}/register",
                       data={"registered_on": "2026-11-24", "impression_text": "佐藤"},
                       files={"impression": ("seal.png", big.getvalue(), "image/png")},
                       follow_redirects=False)
    assert kept.status_code == 303, kept.text
    number = client.get(kept.headers["location"]).text.split("登録番号 ")[1].split(")")[0]
    image = client.get(f"/t/062022/seals/{atena_no}/{number}/impression.png")
    with Image.open(BytesIO(image.content)) as stored:
        assert stored.size == (800, 600)  # stored at most 800 pixels a side
