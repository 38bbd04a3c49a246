"""Rotation of the data keys that seal personal data (ADR 0017).

`keys_rotate` makes a new current key (older keys stay, so every value stays readable: each
ciphertext names its kid) and queues the job `vault.reencrypt`. The job walks every sealed
column of every installed model, 500 rows per transaction, re-sealing the values not under
the current key, then the sealed files. A job killed mid-way loses at most its open chunk; run
again, it finds only the rows still under an old key. `keys_retire` forgets an old key once
`keys_status` shows nothing left under it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

from shebao.accounts.models import User
from shebao.errors import ValidationFailed
from shebao.jobs.kinds import JobContext, job_kind
from shebao.jobs.models import Job
from shebao.jobs.services import job_enqueue
from shebao.vault.columns import column_kid_counts, reseal_column, reseal_files
from shebao.vault.fields import encrypted_fields
from shebao.vault.keys import keyring, keyring_add_key, keyring_drop_key
from shebao.vault.storage import EncryptedFileSystemStorage

__all__ = ["keys_reencrypt", "keys_retire", "keys_rotate", "keys_status"]

JOB_KIND = "vault.reencrypt"


def _columns() -> list[tuple[str, str, str]]:
    return sorted(
        {
            (str(model._meta.db_table), str(field.column), str(model._meta.pk.column))
            for model, field in encrypted_fields()
        }
    )


def _file_columns() -> list[tuple[str, str]]:
    from django.apps import apps

    return sorted(
        {
            (str(model._meta.db_table), str(field.column))
            for model in apps.get_models()
            for field in model._meta.local_fields
            if isinstance(field, models.FileField)
            and isinstance(field.storage, EncryptedFileSystemStorage)
        }
    )


def keys_status() -> dict[str, Any]:
    """The current kid, the keys in the ring, and per sealed column/file column the number of
    values under each kid."""
    ring = keyring()
    columns = {f"{t}.{c}": column_kid_counts(t, c) for t, c, _ in _columns()}
    files = {f"{t}.{c}": reseal_files_count(t, c) for t, c in _file_columns()}
    per_kid: dict[str, int] = dict.fromkeys(ring.cipher.kids, 0)
    for counts in [*columns.values(), *files.values()]:
        for kid, n in counts.items():
            per_kid[kid] = per_kid.get(kid, 0) + n
    return {"current": ring.current, "keys": per_kid, "columns": columns, "files": files}


def reseal_files_count(table: str, column: str) -> dict[str, int]:
    from pathlib import Path

    from django.conf import settings
    from django.db import connection

    from shebao.vault.cipher import FieldCipher

    qn = connection.ops.quote_name
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT {qn(column)} FROM {qn(table)} WHERE {qn(column)} <> ''")  # noqa: S608
        names = [n for (n,) in cursor.fetchall()]
    for name in names:
        path = Path(settings.MEDIA_ROOT) / name
        if path.is_file():
            with open(path, "rb") as handle:
                kid = FieldCipher.file_kid(handle.read(64))
            if kid is not None:
                counts[kid] = counts.get(kid, 0) + 1
    return counts


def keys_reencrypt(
    progress: Callable[[int, int | None, str], None] | None = None,
) -> dict[str, Any]:
    """Re-seal every value and file under the current key; returns the counts."""
    cipher = keyring().cipher
    columns = _columns()
    remaining = {
        (t, c): sum(n for kid, n in column_kid_counts(t, c).items() if kid != cipher.current)
        for t, c, _ in columns
    }
    total = sum(remaining.values())
    done = 0
    for table, column, pk in columns:
        if not remaining[(table, column)]:
            continue
        base = done

        def report(n: int, base: int = base, label: str = f"{table}.{column}") -> None:
            if progress is not None:
                progress(base + n, total, f"重新加密 {label}")

        done += reseal_column(table, column, cipher=cipher, pk=pk, each_chunk=report)
    files = 0
    for table, column in _file_columns():
        files += reseal_files(table, column, cipher=cipher)[0]
    if progress is not None:
        progress(
            done, total, f"完成：{done} 个字段值、{files} 个文件已用密钥 {cipher.current} 重新加密"
        )
    return {"current": cipher.current, "values": done, "files": files}


@job_kind(JOB_KIND, label="数据密钥轮换：重新加密个人信息")
def run_reencrypt(ctx: JobContext) -> dict[str, Any]:
    return keys_reencrypt(progress=ctx.progress)


def keys_rotate(*, created_by: User | None = None) -> tuple[str, Job]:
    """A new current key, and the job that re-seals everything under it."""
    kid = keyring_add_key()
    return kid, job_enqueue(kind=JOB_KIND, parameters={"kid": kid}, created_by=created_by)


def keys_retire(kid: str) -> None:
    """Forget an old key; refused while any value or file is still sealed under it."""
    left = keys_status()["keys"].get(kid, 0)
    if left:
        raise ValidationFailed(
            f"仍有 {left} 项数据用密钥 {kid} 加密，请先完成重新加密（shebao keys reencrypt）",
            code="VAULT_KEY_IN_USE",
        )
    keyring_drop_key(kid)
