"""A death at the counter, followed across the modules that keep records of the person:
the registry publishes one typed event; 印鑑登録 ends the registration, 個人住民税 notes
the departure for the next fiscal year, and other systems read the same event on the feed
with its type's version, each exactly once however often delivery runs."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from kumomura.inhabitant_tax.tables import tax_departures
from kumomura.platform import events, params
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.residents.events import Died
from kumomura.residents.models import Death
from kumomura.seal_registration import service as seals
from kumomura.seal_registration.models import SealRegistrationIn
from tests.residents.factories import CTX, family

CODE = "062022"


def test_a_death_reaches_every_module_once_and_the_feed(db: Database,
                                                         yonezawa: Tenant) -> None:
    with db.tenant_tx(CODE) as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=CTX, reason="設定")
        wife = ch.move_in(conn, CTX, family(), today=date(2026, 4, 1)).atena_nos[1]
        seals.register(conn, CTX, SealRegistrationIn(atena_no=wife, registered_on=date(
            2026, 5, 1), impression_text="山田"))
        ch.death(conn, CTX, Death(atena_no=wife, died_on=date(2026, 9, 1),
                                  notified_on=date(2026, 9, 2)), today=date(2026, 9, 2))
    first = events.dispatch(db, CODE)
    assert events.dispatch(db, CODE).delivered == 0  # nothing twice
    # the tax hears the family of three move in and the death; the seals only the death
    assert first.per_subscriber == {"inhabitant_tax": 4, "seal_registration": 1}
    assert events.dead_letters(db, CODE) == []
    with db.tenant_tx(CODE) as conn:
        (registration,) = seals.of_person(conn, wife, ctx=CTX)
        departures = conn.execute(select(tax_departures.c.kind, tax_departures.c.on_date)
                                  .where(tax_departures.c.atena_no == wife)).all()
    assert (registration["status"], registration["abolish_reason"]) == (
        "abolished", "死亡による職権廃止")
    assert departures == [("died", date(2026, 9, 1))]
    (death,) = [e for e in events.feed(db, CODE) if e.topic == Died.name]
    assert (death.version, death.atena_no) == (Died.schema_version, wife)
    assert Died.model_validate(death.payload).effective_on == date(2026, 9, 1)
