"""Set-based inserts of rows derived from cards (history, handover items, receipt lines):
INSERT … SELECT from the card table in chunks of primary keys, instead of building one ORM
object per card. The same SQL runs on SQLite and PostgreSQL; values go as parameters, the
table and column names come from the models' metadata."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models

from shebao.cards.models import Card

CHUNK = 2000


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def db_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def insert_from_cards(
    model: type[models.Model],
    card_ids: Sequence[int],
    columns: dict[str, str | tuple[str, Any]],
) -> int:
    """Insert one `model` row per card in `card_ids`. `columns` maps each column to either a
    column of the card table (a str, e.g. "id", "status", "card_number") or a constant
    (a ("param", value) pair)."""
    qn = connection.ops.quote_name
    names = ", ".join(qn(name) for name in columns)
    exprs: list[str] = []
    constants: list[Any] = []
    for source in columns.values():
        if isinstance(source, tuple):
            exprs.append("%s")
            constants.append(source[1])
        else:
            exprs.append(qn(source))
    table, cards = qn(model._meta.db_table), qn(Card._meta.db_table)
    inserted = 0
    with connection.cursor() as cursor:
        for chunk in chunks(list(card_ids)):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {', '.join(exprs)} "  # noqa: S608 - names from model metadata, values are parameters
                f"FROM {cards} WHERE {qn('id')} IN ({marks}) ORDER BY {qn('id')}",
                [*constants, *chunk],
            )
            inserted += len(chunk)
    return inserted


def param(value: Any) -> tuple[str, Any]:
    return ("param", value)
