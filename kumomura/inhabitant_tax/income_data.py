"""課税資料: recording a person's income data, and reading returns as frames for the rules.

The batch and a single correction read returns through ``frames`` alike, so both paths
feed the rules the same columns from the same rows.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from kumomura.inhabitant_tax.calculation import check
from kumomura.inhabitant_tax.models import IncomeReturnIn, taxpayer_columns
from kumomura.inhabitant_tax.rules import FAMILY_SCHEMA, TAXPAYER_SCHEMA
from kumomura.inhabitant_tax.tables import income_family, income_returns
from kumomura.platform import audit
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.errors import NotFound
from kumomura.platform.core.timeutil import utcnow
from kumomura.platform.storage.frames import read_frame
from kumomura.residents import public as residents

r = income_returns.c
f = income_family.c


def record_return(conn: Connection, ctx: AuditContext, data: IncomeReturnIn) -> int:
    """Store (or replace) a person's return for an income year; return its id. The person
    must hold an addressee number here (resident, or 住登外者 who moved away)."""
    check(data.as_case())
    residents.addressee(conn, ctx, data.atena_no)
    values = {**taxpayer_columns(data.taxpayer, data.deductions),
              "employer_no": data.employer_no,
              "employer_name": data.employer_name, "source": data.source,
              "received_at": utcnow()}
    existing = conn.execute(select(r.id).where(
        r.atena_no == data.atena_no, r.income_year == data.income_year)).scalar()
    if existing is None:
        return_id = int(conn.execute(insert(income_returns).values(
            atena_no=data.atena_no, income_year=data.income_year, **values)
            .returning(r.id)).scalar_one())
    else:
        return_id = int(existing)
        conn.execute(update(income_returns).where(r.id == return_id).values(**values))
        conn.execute(delete(income_family).where(f.return_id == return_id))
    family = ([("spouse", data.spouse, True, False)] if data.spouse else []) + [
        ("dependent", p, p.living_together, p.ascendant) for p in data.dependents]
    if family:
        conn.execute(insert(income_family), [
            {"return_id": return_id, "seq": i, "role": role, **p.earnings(),
             "living_together": together, "disability": p.disability, "ascendant": ascendant}
            for i, (role, p, together, ascendant) in enumerate(family)])
    audit.record(conn, ctx, "inhabitant_tax.return_recorded", atena_no=data.atena_no,
                 detail={"income_year": data.income_year, "return_id": return_id,
                         "replaced": existing is not None})
    return return_id


def get_return(conn: Connection, ctx: AuditContext, atena_no: str,
               income_year: int) -> dict[str, Any]:
    row = conn.execute(select(income_returns).where(
        r.atena_no == atena_no, r.income_year == income_year)).mappings().first()
    if row is None:
        raise NotFound(f"宛名番号 {atena_no} の {income_year} 年分の課税資料はありません",
                       field="atena_no")
    family = conn.execute(select(income_family).where(f.return_id == row["id"])
                          .order_by(f.seq)).mappings().all()
    audit.record(conn, ctx, "inhabitant_tax.return_viewed", atena_no=atena_no,
                 detail={"income_year": income_year})
    return {**row, "family": [dict(m) for m in family]}


def frames(conn: Connection, where: ColumnElement[bool],
           family_where: ColumnElement[bool] | None = None,
           ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The returns matching ``where`` as (taxpayers, family, keys) frames: ``tid`` is the
    return id; keys carries atena_no and employer_no for writing the results. A batch
    passes ``family_where`` on the family table's own key (a range of return ids), which
    spares the join; the family rows are then kept for the taxpayers read."""
    taxpayers = read_frame(conn, select(
        r.id.label("tid"), *(r[n] for n in TAXPAYER_SCHEMA if n not in
                             ("tid", "special_collection")),
        r.employer_no.is_not(None).label("special_collection"),
        r.atena_no, r.employer_no).where(where).order_by(r.id),
        {**TAXPAYER_SCHEMA, "atena_no": pl.String, "employer_no": pl.String})
    columns = (f.return_id.label("tid"), *(f[n] for n in FAMILY_SCHEMA if n != "tid"))
    if family_where is None:
        query = select(*columns).join(income_returns, r.id == f.return_id).where(where)
    else:
        query = select(*columns).where(family_where)
    family = read_frame(conn, query.order_by(f.return_id, f.seq), FAMILY_SCHEMA)
    if family_where is not None:
        family = family.join(taxpayers.select("tid"), on="tid", how="semi")
    keys = taxpayers.select("tid", "atena_no", "employer_no")
    return taxpayers.drop("atena_no", "employer_no"), family, keys
