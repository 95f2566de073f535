"""Cost sharing on a real database: items from CSV (all or none), weights with history,
standalone costs, usage metered from the members' own data, the guarantee, what-if,
reports (CSV and PDF), the API and the console page, and who may see them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kumomura.costs import service
from kumomura.costs.forms import report_pdf
from kumomura.costs.rules import Weights
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.identity.auth import Scope
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant, set_go_live
from kumomura.web.app import create_app
from tests.conftest import NAGAI, make_tenant
from tests.web.test_api_platform import _token

ITEMS = """code,name,kind,amount,businesses,first_year,years,equal,population,usage,metric
R01,住民記録システム利用料,running,30000000,residents,2026,1,0.3,0.7,0,
S01,移行・構築,initial,50000001,residents,2026,5,0.5,0.5,0,
"""


@pytest.fixture
def members(db: Database, yonezawa: Tenant) -> list[str]:
    make_tenant(db, NAGAI)
    set_go_live(db, "062022", "residents", date(2026, 1, 4))
    set_go_live(db, "062090", "residents", date(2026, 10, 1))  # half of 令和8年度
    service.store_items(db, service.parse_items(ITEMS), actor="secretariat")
    service.set_standalone(db, "062022", 2026, 60_000_000, basis="発注前年間経費",
                           actor="secretariat")
    service.set_standalone(db, "062090", 2026, 12_000_000, basis="見積", actor="secretariat")
    return ["062022", "062090"]


def test_allocation_from_the_stored_inputs(db: Database, members: list[str]) -> None:
    s = service.summary(service.run(service.inputs(db, 2026)))
    rows = {r["lg_code"]: r for r in s["rows"]}
    assert s["total"] == 30_000_000 + 10_000_001  # the odd yen of S01 in its first year
    assert sum(r["charge"] for r in rows.values()) == s["total"]
    # 米沢 (90,990, 12 months) against 長井 (25,000, 6 months): equal 12:6, population
    # 90,990×12 : 25,000×6.
    eq, pop = Fraction(12, 18), Fraction(90_990 * 12, 90_990 * 12 + 25_000 * 6)
    exact = 30_000_000 * (Fraction(3, 10) * eq + Fraction(7, 10) * pop)
    assert abs(rows["062022"]["items"]["R01"] - exact) < 1
    assert rows["062022"]["rate"] == service.saving_rate(60_000_000, rows["062022"]["charge"])
    csv_text = service.report_csv(s)
    assert csv_text.startswith("\ufeff団体名,団体コード,稼働月数,発注前年間経費,発注後年間経費")
    assert "\r\n長井市,062090,6,6000000," in csv_text
    # 長井 is live half of the year: half its yearly standalone cost is compared.
    assert (rows["062090"]["months"], rows["062090"]["standalone"]) == (6, 6_000_000)
    assert f"合計,,,66000000,{s['total']},{66_000_000 - s['total']}," in csv_text
    # Then each member's charge by item, headed with the businesses it serves.
    table = list(csv.reader(io.StringIO(csv_text.removeprefix("\ufeff"))))
    assert table[0][-2:] == ["住民記録システム利用料 (住民記録)", "移行・構築 (住民記録)"]
    for line in table[1:-1]:
        assert int(line[-2]) + int(line[-1]) + int(line[8]) == int(line[4])
    assert table[-1][-2:] == ["30000000", "10000001"]


def test_weights_history_and_the_guarantee(db: Database, members: list[str]) -> None:
    service.set_weights(db, "R01", Weights(Fraction(1), Fraction(0)), from_year=2027,
                        actor="secretariat", reason="均等割のみに")
    assert [h["equal"] for h in service.weights_history(db, "R01")] == ["0.3", "1"]
    # Before 2027 the old weights hold.
    r01 = next(i for i in service.inputs(db, 2026).items if i.code == "R01")
    assert r01.weights.equal == Fraction(3, 10)
    # 2027 charges only S01's second part, with its own weights.
    assert [(i.code, i.charge_for(2027)) for i in service.inputs(db, 2027).items] == [
        ("S01", 10_000_000)]
    with pytest.raises(InvalidInput):
        service.set_weights(db, "R01", Weights(Fraction(1, 2), Fraction(1, 3)),
                            from_year=2027, actor="x", reason=None)
    base = service.summary(service.run(service.inputs(db, 2026)))
    service.set_guarantee(db, 2026, Decimal(30), actor="secretariat")
    bound = service.summary(service.run(service.inputs(db, 2026)))
    nagai = next(r for r in bound["rows"] if r["lg_code"] == "062090")
    assert bound["feasible"]
    assert nagai["rate"] >= Decimal(30)
    assert sum(r["adjustment"] for r in bound["rows"]) == 0
    assert bound["total"] == base["total"]
    service.set_guarantee(db, 2026, Decimal(80), actor="secretariat")
    impossible = service.summary(service.run(service.inputs(db, 2026)))
    assert not impossible["feasible"]
    best = Decimal(impossible["best_guarantee"])
    # Paying in proportion to standalone costs, everyone saves 1 − 40,000,001 / 66,000,000
    # (長井's for its six months).
    assert best == Decimal("39.3")
    assert base["total"] == 40_000_001


def test_bad_item_files_store_nothing(db: Database, members: list[str]) -> None:
    bad = ITEMS.replace("0.3,0.7", "0.3,0.6").replace("50000001", "-5") + \
        "X01,なし,running,100,nhi_unknown,2026,1,1,0,0,\n"
    with pytest.raises(InvalidInput) as refused:
        service.parse_items(bad)
    fields = {p.field for p in refused.value.problems}
    assert {"line 2.weights", "line 3.amount", "line 4.businesses"} <= fields
    unused = ITEMS + "N01,国保システム,running,1000,nhi,2026,1,1,0,0,\n"
    service.store_items(db, service.parse_items(unused), actor="x")
    with pytest.raises(InvalidInput) as nobody:
        service.run(service.inputs(db, 2026))
    assert "items.N01.businesses" in [p.field for p in nobody.value.problems]


def test_what_if_a_member_joins(db: Database, members: list[str]) -> None:
    from kumomura.costs.rules import Member

    newcomer = Member("062103", "南陽市", 31_000, {"residents": date(2026, 4, 1)},
                      standalone=15_000_000)
    result = service.what_if(service.inputs(db, 2026), service.Change(add=(newcomer,)))
    rows = {r["lg_code"]: r for r in result["members"]}
    assert rows["062022"]["difference"] < 0
    assert rows["062090"]["difference"] < 0
    assert rows["062103"]["before"] is None
    assert result["total_before"] == result["total_after"]


def test_usage_metered_from_the_members_data(db: Database, members: list[str]) -> None:
    """Counts from the members' own data, and the API calls the platform counted (held
    in memory, written when the app stops or every few seconds)."""
    token = _token(db, "clerk", ["counter_clerk"])
    with TestClient(create_app(db=db)) as client:
        for _ in range(3):
            client.get("/api/v1/t/062022/residents", params={"kana": "ヤ"}, headers=token)
    measured = service.meter(db, date.today().year if date.today().month >= 4
                             else date.today().year - 1)
    assert measured["062022"]["api_calls"] == 3
    assert measured["062090"]["api_calls"] == 0
    assert measured["062022"]["residents"] == 0
    in_2026 = service.meter(db, 2026)["062022"]
    assert set(in_2026) == {"residents", "certificates", "notices", "api_calls"}


def test_report_pdf_reads_back(db: Database, members: list[str], tmp_path: Path) -> None:
    s = service.summary(service.run(service.inputs(db, 2026)))
    path = tmp_path / "costs.pdf"
    path.write_bytes(report_pdf(s, "置賜自治体クラウド"))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    for expected in ("令和8年度 置賜自治体クラウド 共同利用の費用負担と削減効果", "米沢市",
                     "長井市", f"{s['total']:,}", "発注前年間経費", "構成割合(%)", "100.00",
                     str(s["rows"][0]["share"]), "費目別の負担額", "住民記録システム利用料",
                     "(住民記録)"):
        assert expected in text, expected


@pytest.fixture
def client(db: Database, members: list[str]) -> Iterator[TestClient]:
    with TestClient(create_app(db=db)) as c:
        yield c


def test_api_and_who_may_see(client: TestClient, db: Database) -> None:
    secretariat = _token(db, "sec", ["secretariat"], code=None, scope=Scope.CONSORTIUM)
    clerk = _token(db, "clerk", ["counter_clerk"])
    r = client.get("/api/v1/consortium/costs/2026", headers=secretariat)
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 40_000_001
    assert client.get("/api/v1/consortium/costs/2026", headers=clerk).status_code == 403
    guaranteed = client.get("/api/v1/consortium/costs/2026", params={"guarantee": "30"},
                            headers=secretariat).json()
    assert guaranteed["feasible"]
    what = client.post("/api/v1/consortium/costs/2026/what-if", headers=secretariat, json={
        "add": [{"lg_code": "062103", "name": "南陽市", "population": 31000,
                 "go_live": "2026-04-01"}]})
    assert what.status_code == 200
    bad = client.post("/api/v1/consortium/costs/items", headers={
        **secretariat, "Content-Type": "text/csv"}, content=ITEMS.replace("0.3,0.7", "0.2,0.7"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "line 2.weights"
    csv_response = client.get("/api/v1/consortium/costs/2026/report.csv", headers=secretariat)
    assert csv_response.text.startswith("\ufeff団体名")
    pdf = client.get("/api/v1/consortium/costs/2026/report.pdf", headers=secretariat)
    assert pdf.content.startswith(b"%PDF")


def test_the_secretariats_commands(db: Database, members: list[str], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_cli import run

    code, out, err = run(capsys, "costs", "allocate", "--year", "2026", "--guarantee", "30")
    assert code == 0, err
    assert "米沢市" in out
    assert "合計" in out
    code, out, _ = run(capsys, "costs", "what-if", "--year", "2026", "--weight",
                       "R01=1,0,0", "--add", "062103:南陽市:31000:2026-04-01:15000000")
    assert code == 0
    assert "南陽市" in out
    code, _, err = run(capsys, "costs", "what-if", "--year", "2026", "--weight", "R01=1,1,0")
    assert code == 2
    assert "items.R01.weights" in err
    code, _, err = run(capsys, "costs", "report", "--year", "2026", "--out", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "costs-2026.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "costs-2026.csv").read_text(encoding="utf-8").startswith("\ufeff団体名")


def test_the_table_in_a_script_keeps_every_figure(db: Database, members: list[str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A table printed to a pipe narrower than it is folds its cells, never cuts a
    figure; JSON and CSV carry the whole integers."""
    from kumomura.platform import clikit
    from tests.test_cli import run

    s = service.summary(service.run(service.inputs(db, 2026)))
    charges = {r["lg_code"]: r["charge"] for r in s["rows"]}
    code, out, _ = run(capsys, "costs", "allocate", "--year", "2026", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert {r["lg_code"]: r["charge"] for r in rows if r["lg_code"]} == charges
    assert rows[-1]["charge"] == s["total"]
    code, out, _ = run(capsys, "costs", "allocate", "--year", "2026", "--format", "csv")
    assert out.splitlines()[0].split(",")[:3] == ["lg_code", "name", "standalone"]
    assert str(s["total"]) in out.splitlines()[-1].split(",")
    wide = clikit.console.width
    clikit.console.width = 30  # a pipe: no terminal to size the table by
    try:
        clikit.print_rows([{"name": "米沢市", "charge": 52_616_000, "saving": 12_345_678}],
                          [clikit.Column("name", "団体名"),
                           clikit.Column("charge", "発注後年間経費", yen=True),
                           clikit.Column("saving", "削減額", yen=True)])
    finally:
        clikit.console.width = wide
    out = capsys.readouterr().out
    assert "…" not in out
    cells = [line.split("│") for line in out.splitlines() if line.count("│") == 4]
    assert "".join(c[2].strip() for c in cells).endswith("52,616,000")
