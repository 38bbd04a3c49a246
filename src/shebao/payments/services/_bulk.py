"""Set-wise reads and writes of payment rows: a million-row batch is never moved one ORM
object at a time.

Rows go in by COPY on PostgreSQL and by `executemany` in large slices on SQLite; changes to
many rows are staged in a temporary table and applied by one UPDATE … FROM (both databases;
SQLite has it since 3.33). Reads come back as Polars frames built from the cursor's tuples.
"""

# ruff: noqa: S608 - SQL is built from this module's constants and Django's quoted table names;
# values are always bound parameters or COPY data.
from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Final

import polars as pl
from django.db import connection
from django.db.backends.utils import CursorWrapper

__all__ = ["frame_from_query", "insert_frame", "quoted", "update_from_frame"]

_COPY_CHUNK: Final[int] = 200_000
_SQLITE_SLICE: Final[int] = 50_000


def quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def frame_from_query(
    sql: str, params: Sequence[Any], schema: dict[str, pl.DataType | type[pl.DataType]]
) -> pl.DataFrame:
    """The result of `sql` as a frame with `schema` (column names and types, in order).

    On PostgreSQL the rows come by COPY … TO STDOUT as CSV, parsed by Polars: a million rows
    never become a million Python tuples (that conversion was most of the client's time).
    A single column is fetched as rows: CSV cannot tell its empty text from a blank line."""
    if connection.vendor != "postgresql" or len(schema) == 1:
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            rows = cursor.fetchall()
        return pl.DataFrame(rows, schema=schema, orient="row")
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        # Django's PostgreSQL cursor binds on the client, so COPY takes parameters.
        copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, NULL '\\N')"
        with cursor.cursor.copy(copy_sql, list(params)) as copy:
            for chunk in copy:
                buffer.write(chunk)
    names = list(schema)
    booleans = [name for name, dtype in schema.items() if dtype == pl.Boolean]
    if buffer.tell() == 0:
        return pl.DataFrame(schema=schema)
    buffer.seek(0)
    frame = pl.read_csv(
        buffer,
        has_header=False,
        new_columns=names,
        schema_overrides={
            name: pl.String if name in booleans else dtype for name, dtype in schema.items()
        },
        null_values="\\N",
        empty_string_is_null=False,
        infer_schema=False,
    )
    # PostgreSQL writes booleans as t / f.
    return frame.with_columns(
        pl.col(name).replace_strict({"t": True, "f": False}, default=None, return_dtype=pl.Boolean)
        for name in booleans
    )


def insert_frame(table: str, frame: pl.DataFrame) -> None:
    """Insert every row of `frame` into `table` (columns named as the frame's)."""
    if frame.is_empty():
        return
    with connection.cursor() as cursor:
        _insert(cursor, quoted(table), frame)
        if connection.vendor == "postgresql":
            # A million new rows with the statistics of an empty table make the planner pick
            # nested loops for the check's joins.
            cursor.execute(f"ANALYZE {quoted(table)}")


def _insert(cursor: CursorWrapper, table: str, frame: pl.DataFrame) -> None:
    columns = ", ".join(quoted(c) for c in frame.columns)
    if connection.vendor == "postgresql":
        sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        with cursor.cursor.copy(sql) as copy:
            for start in range(0, frame.height, _COPY_CHUNK):
                buffer = io.BytesIO()
                frame.slice(start, _COPY_CHUNK).write_csv(
                    buffer, include_header=False, null_value="\\N"
                )
                copy.write(buffer.getvalue())
        return
    placeholders = ", ".join(["%s"] * frame.width)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
    for start in range(0, frame.height, _SQLITE_SLICE):
        cursor.executemany(sql, list(frame.slice(start, _SQLITE_SLICE).iter_rows()))


def update_from_frame(
    table: str,
    frame: pl.DataFrame,
    *,
    key: str,
    types: dict[str, str],
) -> None:
    """Set, for each row of `frame`, the columns of `table` named like the frame's other
    columns, on the row whose primary key is the frame's `key` column. `types` gives the SQL
    type of each frame column (for the staging table). Call inside a transaction."""
    if frame.is_empty():
        return
    stage = quoted("payments_stage")
    target = quoted(table)
    definitions = ", ".join(f"{quoted(c)} {types[c]}" for c in frame.columns)
    assignments = ", ".join(f"{quoted(c)} = s.{quoted(c)}" for c in frame.columns if c != key)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        suffix = " ON COMMIT DROP" if connection.vendor == "postgresql" else ""
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} ({definitions}){suffix}")
        _insert(cursor, stage, frame)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {stage}")
        cursor.execute(
            f"UPDATE {target} SET {assignments} FROM {stage} AS s "
            f"WHERE {target}.{quoted('id')} = s.{quoted(key)}"
        )
        cursor.execute(f"DROP TABLE {stage}")
