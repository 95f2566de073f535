"""Requests for the registry's changes, with synthetic people (never real ones)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from kumomura.platform.audit import AuditContext
from kumomura.platform.tenancy.profile import Office
from kumomura.residents.models import Address, MoveIn, NewPerson
from kumomura.residents.tables import changes, households, resident_versions

CTX = AuditContext(actor="clerk", request_id="req-test", purpose="テスト")
OFFICE = Office("062022", "山形県米沢市")
ADDRESS = Address(postal_code="992-0012", town="金池三丁目1番55号")


def person(name: str = "山田 太郎", kana: str = "ヤマダ タロウ", *, born: date = date(1980, 4, 1),
           sex: str = "1", relationship: str = "世帯主", **extra: Any) -> NewPerson:
    return NewPerson.model_validate({"name": name, "kana": kana, "birth_date": born,
                                     "sex": sex, "relationship": relationship, **extra})


def family(moved_on: date = date(2026, 4, 1), **extra: Any) -> MoveIn:
    """A householder, his wife and their child moving in from 仙台市."""
    return MoveIn.model_validate({
        "moved_on": moved_on, "notified_on": extra.pop("notified_on", moved_on),
        "previous_address": "宮城県仙台市青葉区国分町三丁目7番1号",
        "address": extra.pop("address", ADDRESS),
        "persons": extra.pop("persons", [
            person(honseki="山形県米沢市丸の内一丁目2番", hittousha="山田 太郎",
                   resident_card_code="12345678901"),
            person("山田 花子", "やまだ はなこ", born=date(1982, 7, 7), sex="2",
                   relationship="妻"),
            person("山田 一郎", "ﾔﾏﾀﾞ ｲﾁﾛｳ", born=date(2015, 1, 20), relationship="子"),
        ]),
        **extra,
    })


def snapshot(conn: Connection) -> tuple[int, int, int]:
    """Row counts that any refused change must leave as they were."""
    return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                 for t in (resident_versions, households, changes))  # type: ignore[return-value]
