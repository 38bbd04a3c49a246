"""Set-based work on sealed columns and files: the migrations that seal existing rows, the
rotation that re-seals them under the current key, and the per-key counts (ADR 0017).

Rows are read in primary-key order, `chunk` at a time, with raw SQL; one cipher transforms a
chunk in a list comprehension and `executemany` writes it back with the old value in the WHERE
clause, so a row edited meanwhile keeps its edit (it is sealed under the current key anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from shebao.vault.cipher import PREFIX, FieldCipher
from shebao.vault.keys import keyring

__all__ = [
    "column_kid_counts",
    "reseal_column",
    "reseal_files",
    "seal_column",
    "seal_files",
    "unseal_column",
    "unseal_files",
]

CHUNK = 500


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _rewrite(
    table: str,
    pk: str,
    column: str,
    *,
    where: str,
    params: list[Any],
    transform: Callable[[str], str],
    chunk: int,
    each_chunk: Callable[[int], None] | None = None,
) -> int:
    """Rewrite every non-empty value matching `where`; returns the number of rows written.
    Each chunk is its own transaction when the caller is not in one (a resumable job)."""
    t, p, c = _qn(table), _qn(pk), _qn(column)
    select = (
        f"SELECT {p}, {c} FROM {t} WHERE {p} > %s AND {c} <> '' AND {where} "  # noqa: S608
        f"ORDER BY {p} LIMIT %s"
    )
    update = f"UPDATE {t} SET {c} = %s WHERE {p} = %s AND {c} = %s"  # noqa: S608
    last: Any = 0  # every sealed table has an integer primary key
    written = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(select, [last, *params, chunk])
            rows = cursor.fetchall()
            if not rows:
                return written
            cursor.executemany(update, [(transform(v), key, v) for key, v in rows])
            written += len(rows)
            last = rows[-1][0]
        if each_chunk is not None:
            each_chunk(written)


def seal_column(table: str, column: str, *, pk: str = "id", chunk: int = CHUNK) -> int:
    """Seal the plain values of a column (a migration's forward step; sealed rows are left)."""
    cipher = keyring().cipher
    return _rewrite(
        table, pk, column, where=f"{_qn(column)} NOT LIKE %s",
        params=[PREFIX + "%"], transform=cipher.encrypt, chunk=chunk,
    )  # fmt: skip


def unseal_column(table: str, column: str, *, pk: str = "id", chunk: int = CHUNK) -> int:
    """Back to plain values (a migration's reverse step)."""
    cipher = keyring().cipher
    return _rewrite(
        table, pk, column, where=f"{_qn(column)} LIKE %s",
        params=[PREFIX + "%"], transform=cipher.decrypt, chunk=chunk,
    )  # fmt: skip


def reseal_column(
    table: str,
    column: str,
    *,
    cipher: FieldCipher,
    pk: str = "id",
    chunk: int = CHUNK,
    each_chunk: Callable[[int], None] | None = None,
) -> int:
    """Re-seal under `cipher.current` every value sealed under another key."""
    return _rewrite(
        table, pk, column, where=f"{_qn(column)} NOT LIKE %s",
        params=[f"{PREFIX}{cipher.current}:%"], transform=cipher.reseal, chunk=chunk,
        each_chunk=each_chunk,
    )  # fmt: skip


def column_kid_counts(table: str, column: str) -> dict[str, int]:
    """kid → number of values sealed under it (8 hex digits after 'v1:')."""
    t, c = _qn(table), _qn(column)
    start = len(PREFIX) + 1
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT SUBSTR({c}, {start}, 8), COUNT(*) FROM {t} "  # noqa: S608
            f"WHERE {c} LIKE %s GROUP BY SUBSTR({c}, {start}, 8)",
            [PREFIX + "%"],
        )
        return dict(cursor.fetchall())


def _file_names(table: str, column: str) -> list[str]:
    t, c = _qn(table), _qn(column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT {c} FROM {t} WHERE {c} <> ''")  # noqa: S608
        return [name for (name,) in cursor.fetchall()]


def _media(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / name


def _replace(path: Path, data: bytes) -> None:
    import os

    tmp = path.with_name(path.name + ".vault")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def seal_files(table: str, column: str) -> int:
    """Seal the plain files a FileField column names (missing files are left to the caller's
    own checks). Idempotent: a sealed file is recognised by its header."""
    cipher = keyring().cipher
    done = 0
    for name in _file_names(table, column):
        path = _media(name)
        if not path.is_file():
            continue
        data = path.read_bytes()
        if cipher.file_kid(data) is None:
            _replace(path, cipher.encrypt_file(data))
            done += 1
    return done


def unseal_files(table: str, column: str) -> int:
    cipher = keyring().cipher
    done = 0
    for name in _file_names(table, column):
        path = _media(name)
        if path.is_file() and cipher.file_kid(data := path.read_bytes()) is not None:
            _replace(path, cipher.decrypt_file(data))
            done += 1
    return done


def reseal_files(table: str, column: str, *, cipher: FieldCipher) -> tuple[int, dict[str, int]]:
    """Re-seal files under the current key; (files rewritten, kid → files still under it)."""
    done = 0
    kids: dict[str, int] = {}
    for name in _file_names(table, column):
        path = _media(name)
        if not path.is_file():
            continue
        data = path.read_bytes()
        kid = cipher.file_kid(data)
        if kid is not None and kid != cipher.current:
            _replace(path, cipher.encrypt_file(cipher.decrypt_file(data)))
            done += 1
            kid = cipher.current
        if kid is not None:
            kids[kid] = kids.get(kid, 0) + 1
    return done, kids
