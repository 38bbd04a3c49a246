"""Reading many rows into a Polars frame without a Python object per row: on PostgreSQL the
query's rows come out by `COPY (…) TO STDOUT` as CSV, which Polars parses natively (a million
rows as the driver's tuples cost several CPU seconds more); on SQLite, from the cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from django.db import connection

__all__ = ["query_frame"]


def query_frame(sql: str, params: Sequence[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """The rows of `sql` as a frame of `schema` (its column names, in order, and types:
    integers, text and dates, no booleans). CSV keeps NULL (an empty field) apart from the
    empty string (quoted), and Polars reads it so."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return pl.DataFrame(cursor.fetchall(), schema=schema, orient="row")
    buffer = bytearray()
    statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
    with connection.cursor() as cursor, cursor.cursor.copy(statement, list(params)) as copy:
        for chunk in copy:
            buffer += chunk
    if not buffer:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(bytes(buffer), has_header=False, new_columns=list(schema), schema=schema)
