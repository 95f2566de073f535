"""Tables in and out of Polars frames: COPY on PostgreSQL, plain statements on SQLite.

Batch jobs read a whole chunk of a population into a frame and write their results back
the same way; on PostgreSQL both directions are one COPY of CSV, which is what keeps a
batch close to the cost of moving its rows at all.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import polars as pl
from sqlalchemy import Connection, Select, Table, func, insert, select

Schema = Mapping[str, pl.DataType | type[pl.DataType]]


def _sql(conn: Connection, query: Select[tuple[object, ...]]) -> str:
    """The query as literal SQL, with the tenant's schema written in."""
    translate = conn.get_execution_options().get("schema_translate_map")
    compiled = query.compile(dialect=conn.dialect, schema_translate_map=translate,
                             render_schema_translate=True,
                             compile_kwargs={"literal_binds": True})
    return str(compiled)


def read_frame(conn: Connection, query: Select[tuple[object, ...]], schema: Schema,
               ) -> pl.DataFrame:
    """The rows of ``query`` as a frame whose columns are ``schema`` in order."""
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        buffer = io.BytesIO()
        with raw.cursor() as cur, cur.copy(  # type: ignore[union-attr]
                f"COPY ({_sql(conn, query)}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                buffer.write(block)
        if buffer.tell() == 0:
            return pl.DataFrame(schema=dict(schema))
        buffer.seek(0)
        # PostgreSQL writes booleans as t/f, which Polars does not read as Boolean.
        flags = [n for n, t in schema.items() if t == pl.Boolean]
        as_read = {n: (pl.String if n in flags else t) for n, t in schema.items()}
        frame = pl.read_csv(buffer, has_header=False, new_columns=list(schema),
                            schema_overrides=as_read, infer_schema=False)
        return frame.with_columns(pl.col(n) == "t" for n in flags)
    rows = conn.execute(query).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=dict(schema), orient="row")


def write_frame(conn: Connection, table: Table, frame: pl.DataFrame) -> int:
    """Append the frame's rows to ``table`` (columns by name); return how many."""
    if frame.height == 0:
        return 0
    if conn.dialect.name == "postgresql":
        translate = conn.get_execution_options().get("schema_translate_map") or {}
        schema = translate.get(table.schema, table.schema)
        name = f'"{schema}".{table.name}' if schema else table.name
        columns = ", ".join(frame.columns)
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(  # type: ignore[union-attr]
                f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(frame.write_csv(include_header=False, null_value=""))
        return frame.height
    conn.execute(insert(table), frame.to_dicts())
    return frame.height


def continue_sequences(conn: Connection, table: Table) -> None:
    """After rows written with explicit ids, PostgreSQL's sequences continue after the
    highest one (SQLite's AUTOINCREMENT already does). The municipality's login may:
    it holds UPDATE on its schema's sequences."""
    if conn.dialect.name != "postgresql":
        return
    translate = conn.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(table.schema, table.schema)
    for column in table.columns:
        if column.primary_key and column.autoincrement is True:
            top = conn.execute(select(func.max(column))).scalar()
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{schema}\".{table.name}', "
                f"'{column.name}'), %(v)s, %(called)s)",
                {"v": top or 1, "called": top is not None})
