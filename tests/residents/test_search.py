"""Search by kana (every width and small-kana variant), name, birth date, address, number
and household; removed residents only when asked; every look audited."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from kumomura.platform import audit
from kumomura.platform.core.errors import InvalidInput
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.residents import service
from kumomura.residents.models import Address, Death
from kumomura.residents.service import SearchCriteria
from tests.residents.factories import CTX, family, person

CODE = "062022"
TODAY = date(2026, 11, 24)


@pytest.fixture
def people(db: Database, yonezawa: Tenant) -> dict[str, str]:
    """Four residents; キャ and キヤ differ only by a small kana."""
    with db.tenant_tx(CODE) as conn:
        yamada = ch.move_in(conn, CTX, family(), today=TODAY).atena_nos
        kyan = ch.move_in(conn, CTX, family(
            address=Address(town="城西二丁目3番4号"),
            persons=[person("喜屋武 美咲", "キャン ミサキ", born=date(1990, 3, 3), sex="2")]),
            today=TODAY).atena_nos[0]
        kiya = ch.move_in(conn, CTX, family(
            address=Address(town="城西二丁目9番"),
            persons=[person("木谷 健", "キヤ ケン", born=date(1970, 12, 31))]),
            today=TODAY).atena_nos[0]
        ch.death(conn, CTX, Death(atena_no=kiya, died_on=date(2026, 10, 1),
                                  notified_on=date(2026, 10, 2)), today=TODAY)
    return {"taro": yamada[0], "hanako": yamada[1], "ichiro": yamada[2], "kyan": kyan,
            "kiya": kiya}


def _find(db: Database, **criteria: Any) -> list[str]:
    with db.tenant_tx(CODE) as conn:
        return [r["atena_no"] for r in service.search(conn, CTX, SearchCriteria(**criteria))]


@pytest.mark.parametrize("typed", ["ヤマダ", "やまだ", "ﾔﾏﾀﾞ", "ヤマダ　", "ヤマ"])
def test_kana_prefix_in_every_width(db: Database, people: dict[str, str], typed: str) -> None:
    assert set(_find(db, kana=typed)) == {people["taro"], people["hanako"], people["ichiro"]}


def test_small_kana_match_their_large_forms(db: Database, people: dict[str, str]) -> None:
    # キャン and キヤ fold to キヤン and キヤ; the deceased キヤ appears only when asked for.
    assert _find(db, kana="きゃ") == [people["kyan"]]
    assert set(_find(db, kana="キヤ", include_removed=True)) == {people["kyan"], people["kiya"]}
    assert _find(db, kana="ｷﾔﾝ") == [people["kyan"]]


def test_other_criteria(db: Database, people: dict[str, str]) -> None:
    assert _find(db, name="山田 花") == [people["hanako"]]
    assert _find(db, name="山田花子") == [people["hanako"]]
    assert _find(db, birth_date=date(2015, 1, 20)) == [people["ichiro"]]
    assert _find(db, address="城西二丁目") == [people["kyan"]]
    assert _find(db, address="城西", include_removed=True) == [people["kiya"], people["kyan"]]
    assert _find(db, atena_no=people["kyan"]) == [people["kyan"]]
    with db.tenant_tx(CODE) as conn:
        household_no = service.current(conn, people["taro"])["household_no"]
    assert len(_find(db, household_no=household_no)) == 3
    assert _find(db, kana="ヤマダ", birth_date=date(1982, 7, 7)) == [people["hanako"]]
    assert _find(db, kana="ン") == []


def test_removed_residents_only_when_asked(db: Database, people: dict[str, str]) -> None:
    assert _find(db, atena_no=people["kiya"]) == []
    assert _find(db, atena_no=people["kiya"], include_removed=True) == [people["kiya"]]


def test_bad_criteria_are_refused(db: Database, people: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as caught, db.tenant_tx(CODE) as conn:
        service.search(conn, CTX, SearchCriteria())
    assert caught.value.field == "kana"
    with pytest.raises(InvalidInput), db.tenant_tx(CODE) as conn:
        service.search(conn, CTX, SearchCriteria(kana="山田"))


def test_every_look_is_audited(db: Database, people: dict[str, str]) -> None:
    _find(db, kana="ヤマダ")
    with db.tenant_tx(CODE) as conn:
        view = service.record(conn, CTX, people["taro"])
    assert [m["atena_no"] for m in view["household"]] == [
        people["taro"], people["hanako"], people["ichiro"]]
    assert view["current"]["change_type"] == "move_in"
    entries = audit.entries(db, CODE)
    search = next(e for e in entries if e["action"] == "residents.search")
    assert search["detail"]["criteria"] == {"kana": "ヤマダ"}
    assert search["detail"]["hits"] == len(search["detail"]["atena_nos"]) == 3
    looked = [e for e in entries if e["action"] == "residents.view"]
    assert [e["atena_no"] for e in looked] == [people["taro"]]
    assert looked[0]["actor"] == "clerk"
    assert looked[0]["purpose"] == "テスト"
    assert audit.verify(db, CODE).ok
