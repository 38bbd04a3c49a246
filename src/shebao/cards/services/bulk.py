"""Inserting many rows of a cards model at once: COPY on PostgreSQL, `executemany` in large
batches on SQLite (the way `registry.bulk` loads the registry). The ORM's `bulk_create`
spends most of its time preparing every value of every object in Python; a 100,000-row
application file would take over a minute that way."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import polars as pl
from django.db import connection, models

from shebao.vault.fields import EncryptedTextField
from shebao.vault.keys import keyring

__all__ = ["db_datetime", "insert_frame"]


def db_datetime(value: datetime) -> str:
    """A timezone-aware datetime as the database column takes it in a bulk insert."""
    return str(connection.ops.adapt_datetimefield_value(value))


_SQLITE_BATCH: Final[int] = 20_000
_COPY_CHUNK: Final[int] = 100_000


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _defaults(model: type[models.Model], provided: Sequence[str]) -> dict[str, Any]:
    """Model defaults (prepared for the database) of the columns the frame does not give."""
    out: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.column in provided:
            continue
        value = f.get_db_prep_save(f.get_default(), connection)
        out[str(f.column)] = str(value) if isinstance(value, datetime) else value
    return out


def insert_frame(model: type[models.Model], frame: pl.DataFrame) -> int:
    """Insert `frame` (columns named as the table's columns) into `model`'s table, filling
    the other columns with their defaults. Call inside the caller's transaction."""
    if frame.height == 0:
        return 0
    sealed = [
        f.column
        for f in model._meta.concrete_fields
        if isinstance(f, EncryptedTextField) and f.column in frame.columns
    ]
    if sealed:
        # Personal data is sealed before it is written (ADR 0017): one cipher, one pass.
        cipher = keyring().cipher
        frame = frame.with_columns(
            pl.Series(c, cipher.encrypt_many(frame[c].to_list()), dtype=pl.String) for c in sealed
        )
    defaults = _defaults(model, frame.columns)
    full = frame.with_columns(
        pl.lit(v, dtype=pl.Boolean if isinstance(v, bool) else None).alias(c)
        for c, v in defaults.items()
    )
    for column, dtype in full.schema.items():
        if dtype == pl.Date:
            full = full.with_columns(pl.col(column).cast(pl.String))
    table = _q(model._meta.db_table)
    columns = ", ".join(_q(c) for c in full.columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
            with cursor.cursor.copy(sql) as copy:
                for start in range(0, full.height, _COPY_CHUNK):
                    buffer = io.BytesIO()
                    full.slice(start, _COPY_CHUNK).write_csv(
                        buffer, include_header=False, null_value="\\N"
                    )
                    copy.write(buffer.getvalue())
        else:
            booleans = [c for c, t in full.schema.items() if t == pl.Boolean]
            rows = full.with_columns(pl.col(booleans).cast(pl.Int8)) if booleans else full
            marks = ", ".join(["%s"] * len(full.columns))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - quoted names
            for start in range(0, rows.height, _SQLITE_BATCH):
                cursor.executemany(sql, list(rows.slice(start, _SQLITE_BATCH).iter_rows()))
    return full.height


def _fill(cursor: Any, table: str, frame: pl.DataFrame) -> None:
    columns = ", ".join(_q(c) for c in frame.columns)
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
    marks = ", ".join(["%s"] * len(frame.columns))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - quoted names
    for start in range(0, frame.height, _SQLITE_BATCH):
        cursor.executemany(sql, list(frame.slice(start, _SQLITE_BATCH).iter_rows()))


def update_from_frame(
    *, name: str, frame: pl.DataFrame, types: dict[str, str], sql: str, params: Sequence[Any]
) -> int:
    """Stage `frame` in a temporary table `name` (column → PostgreSQL type in `types`) and
    run `sql` (an UPDATE … FROM the staged table, written with `{stage}` for its name).
    Returns the number of rows the statement changed."""
    stage = _q(f"shebao_stage_{name}")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        if connection.vendor == "postgresql":
            cols = ", ".join(f"{_q(c)} {types[c]}" for c in frame.columns)
            cursor.execute(f"CREATE TEMPORARY TABLE {stage} ({cols}) ON COMMIT DROP")
        else:
            cursor.execute(f"CREATE TEMPORARY TABLE {stage} ({', '.join(map(_q, frame.columns))})")
        _fill(cursor, stage, frame)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {stage}")
        cursor.execute(sql.format(stage=stage), list(params))
        changed = max(cursor.rowcount, 0)
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
    return changed
