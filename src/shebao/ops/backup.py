"""`shebao backup` and `shebao restore`: the database and the stored files in one archive.

An archive is a plain tar file (the database dump is already compact, and operators compress
or encrypt archives with their own tools) holding:

- `manifest.json`: the format, when and from which engine it was taken, the applied
  migrations, the row count of every table *in the same snapshot as the dump*, and the SM3
  digest and size of every other member;
- `database.sqlite3` (SQLite's online backup API: a consistent copy while the site runs) or
  `database.pgdump` (`pg_dump --format=custom` run on a snapshot exported from a REPEATABLE
  READ transaction, the same snapshot the row counts were read in);
- `files/...`: everything the system stored under the data directory (intake snapshots,
  comparison outputs, bulletins, media, exchange files, the SMS outbox), except the database
  itself, regenerable static files, earlier backups, and key material.

Keys are left out on purpose: the SM4 exchange key, the platform's signing keys and the
secret key must not travel with the data they protect (等保2.0: keys kept apart from the
data). `--with-keys` includes them for a development machine that has nowhere else to keep
them.

A backup is written to `<name>.partial` and renamed when complete, so a killed backup never
leaves a file that looks whole. A restore checks every digest before it touches anything,
refuses a database that already has tables, and compares the restored row counts with the
manifest's.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from shebao.errors import ValidationFailed

FORMAT: Final[str] = "shebao-backup/1"
MANIFEST: Final[str] = "manifest.json"
SQLITE_MEMBER: Final[str] = "database.sqlite3"
POSTGRES_MEMBER: Final[str] = "database.pgdump"
FILES_PREFIX: Final[str] = "files/"
# Under the data directory: regenerable or not ours to copy.
_SKIPPED_DIRS: Final[frozenset[str]] = frozenset({"static", "backups"})
_KEY_DIRS: Final[frozenset[str]] = frozenset({"keys"})
_KEY_SUFFIXES: Final[tuple[str, ...]] = (".pem", ".key")
_CHUNK: Final[int] = 1 << 20

StepCallback = Callable[[str], None]


class BackupError(ValidationFailed):
    """A backup or restore that cannot go on; nothing has been changed."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    engine: str
    tables: int
    rows: int
    files: int
    bytes: int


@dataclass(frozen=True)
class RestoreSummary:
    engine: str
    tables: int
    rows: int
    files: int
    mismatched_tables: list[str] = field(default_factory=list)


def _sm3_file(path: Path) -> str:
    digest = hashes.Hash(hashes.SM3())
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.finalize().hex()


def _sm3_stream(handle: io.BufferedReader | Any) -> tuple[str, int]:
    digest = hashes.Hash(hashes.SM3())
    size = 0
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.finalize().hex(), size


def _is_key_material(relative: PurePosixPath) -> bool:
    return (
        any(part in _KEY_DIRS for part in relative.parts[:-1])
        or relative.name.startswith(".")
        or relative.suffix in _KEY_SUFFIXES
    )


def _database_paths() -> set[Path]:
    """The SQLite database file and its companions (never copied as plain files)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        return set()
    main = Path(str(db["NAME"])).resolve()
    return {main, *(main.with_name(main.name + suffix) for suffix in ("-wal", "-shm", "-journal"))}


def stored_files(*, with_keys: bool = False, exclude: Path | None = None) -> Iterator[Path]:
    """Files under the data directory that belong in a backup, in a stable order."""
    root = Path(settings.DATA_DIR).resolve()
    skip = _database_paths()
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        resolved = path.resolve()
        relative = PurePosixPath(resolved.relative_to(root).as_posix())
        if resolved in skip or relative.parts[0] in _SKIPPED_DIRS:
            continue
        if exclude is not None and resolved == exclude:
            continue
        if resolved.name.endswith(".partial"):
            continue
        if not with_keys and _is_key_material(relative):
            continue
        yield resolved


def _table_counts(cursor: Any, tables: list[str]) -> dict[str, int]:
    quote = connection.ops.quote_name
    counts: dict[str, int] = {}
    for table in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608 - introspected names
        counts[table] = int(cursor.fetchone()[0])
    return counts


def _migrations_applied() -> list[list[str]]:
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return []
    return sorted([app, name] for app, name in recorder.applied_migrations())


def _postgres_env_and_args() -> tuple[dict[str, str], list[str]]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    return env, args


def _run_tool(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(  # noqa: S603 - fixed tool, arguments from settings
            command, env=env, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise BackupError(
            f"找不到 {command[0]}：请安装 PostgreSQL 客户端工具（Debian：postgresql-client）",
            code="BACKUP_TOOL_MISSING",
        ) from exc
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["未知错误"]
        raise BackupError(f"{what}失败：{message[0]}", code="BACKUP_TOOL_FAILED")


@contextmanager
def _database_snapshot(workdir: Path) -> Iterator[tuple[Path, str, dict[str, int]]]:
    """A consistent copy of the database with the row counts of that same state."""
    vendor = connection.vendor
    tables = sorted(connection.introspection.table_names())
    if vendor == "sqlite":
        target = workdir / SQLITE_MEMBER
        source = sqlite3.connect(str(settings.DATABASES["default"]["NAME"]))
        copy = sqlite3.connect(str(target))
        try:
            source.backup(copy)
            counts = _table_counts(copy.cursor(), tables)
        finally:
            copy.close()
            source.close()
        yield target, SQLITE_MEMBER, counts
        return
    if vendor != "postgresql":
        raise BackupError(f"不支持备份 {vendor} 数据库", code="BACKUP_ENGINE_UNSUPPORTED")
    target = workdir / POSTGRES_MEMBER
    env, args = _postgres_env_and_args()
    # A separate connection holds a REPEATABLE READ transaction whose snapshot pg_dump
    # shares, so the counts in the manifest describe exactly what the dump contains.
    holder = connection.get_new_connection(connection.get_connection_params())
    try:
        holder.autocommit = False
        cursor = holder.cursor()
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = str(cursor.fetchone()[0])
        counts = _table_counts(cursor, tables)
        _run_tool(
            [
                "pg_dump",
                *args,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={target}",
                str(settings.DATABASES["default"]["NAME"]),
            ],
            env,
            "导出数据库（pg_dump）",
        )
        holder.rollback()
    finally:
        holder.close()
    yield target, POSTGRES_MEMBER, counts


def _default_path() -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return Path(settings.DATA_DIR) / "backups" / f"shebao-{stamp}.tar"


def backup_create(
    out: Path | None = None, *, with_keys: bool = False, on_step: StepCallback | None = None
) -> BackupSummary:
    """Write an archive of the database and the stored files; see the module docstring."""

    def step(message: str) -> None:
        if on_step is not None:
            on_step(message)

    path = (out or _default_path()).resolve()
    if path.exists():
        raise BackupError(f"备份文件已存在：{path}", code="BACKUP_EXISTS")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    members: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".shebao-backup-") as tmp:
        try:
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
                step("复制数据库（一致性快照）")
                with _database_snapshot(Path(tmp)) as (dump, member, counts):
                    digest = _sm3_file(dump)
                    archive.add(dump, arcname=member)
                    members.append({"name": member, "size": dump.stat().st_size, "sm3": digest})
                    dump.unlink()
                step("复制存储的文件")
                root = Path(settings.DATA_DIR).resolve()
                files = 0
                for file in stored_files(with_keys=with_keys, exclude=path):
                    relative = file.relative_to(root).as_posix()
                    archive.add(file, arcname=FILES_PREFIX + relative)
                    members.append(
                        {
                            "name": FILES_PREFIX + relative,
                            "size": file.stat().st_size,
                            "sm3": _sm3_file(file),
                        }
                    )
                    files += 1
                manifest = {
                    "format": FORMAT,
                    "created_at": timezone.now().isoformat(),
                    "engine": connection.vendor,
                    "with_keys": with_keys,
                    "migrations": _migrations_applied(),
                    "tables": counts,
                    "members": members,
                }
                data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                info.mtime = int(datetime.now().timestamp())  # noqa: DTZ005 - a file time
                archive.addfile(info, io.BytesIO(data))
            with partial.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return BackupSummary(
        path=path,
        engine=connection.vendor,
        tables=len(counts),
        rows=sum(counts.values()),
        files=files,
        bytes=path.stat().st_size,
    )


def _safe_member_path(name: str) -> PurePosixPath:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not name:
        raise BackupError(f"备份文件中的路径不安全：{name}", code="BACKUP_MEMBER_UNSAFE")
    return relative


def _read_manifest(archive: tarfile.TarFile, source: Path) -> dict[str, Any]:
    try:
        handle = archive.extractfile(MANIFEST)
    except KeyError:
        handle = None
    if handle is None:
        raise BackupError(f"{source.name} 不是 shebao 备份：缺少 {MANIFEST}", code="BACKUP_INVALID")
    try:
        manifest: dict[str, Any] = json.loads(handle.read())
    except ValueError as exc:
        raise BackupError(f"{source.name} 的 {MANIFEST} 无法解析", code="BACKUP_INVALID") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{source.name} 的格式 {manifest.get('format')!r} 不受支持（应为 {FORMAT}）",
            code="BACKUP_FORMAT_UNSUPPORTED",
        )
    return manifest


def backup_verify(source: Path) -> dict[str, Any]:
    """Check an archive's manifest and every member's digest; returns the manifest."""
    if not source.is_file():
        raise BackupError(f"找不到备份文件：{source}", code="BACKUP_NOT_FOUND")
    try:
        with tarfile.open(source, "r:") as archive:
            manifest = _read_manifest(archive, source)
            for member in manifest["members"]:
                _safe_member_path(member["name"])
                try:
                    handle = archive.extractfile(member["name"])
                except KeyError:
                    handle = None
                if handle is None:
                    raise BackupError(
                        f"备份不完整：缺少 {member['name']}", code="BACKUP_MEMBER_MISSING"
                    )
                digest, size = _sm3_stream(handle)
                if digest != member["sm3"] or size != member["size"]:
                    raise BackupError(
                        f"备份已损坏：{member['name']} 的 SM3 校验值不符", code="BACKUP_CORRUPT"
                    )
    except tarfile.TarError as exc:
        raise BackupError(
            f"{source.name} 不是完整的备份文件：{exc}", code="BACKUP_INVALID"
        ) from exc
    return manifest


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def backup_restore(source: Path, *, on_step: StepCallback | None = None) -> RestoreSummary:
    """Restore an archive into an empty database and data directory."""

    def step(message: str) -> None:
        if on_step is not None:
            on_step(message)

    step("校验备份文件")
    source = source.resolve()
    manifest = backup_verify(source)
    vendor = connection.vendor
    if manifest["engine"] != vendor:
        raise BackupError(
            f"备份来自 {manifest['engine']} 数据库，不能恢复到 {vendor} 数据库",
            code="BACKUP_ENGINE_MISMATCH",
        )
    if not _database_is_empty():
        raise BackupError(
            "目标数据库不是空库：恢复只写入新建的空数据库，以免覆盖现有数据",
            code="RESTORE_TARGET_NOT_EMPTY",
        )
    root = Path(settings.DATA_DIR).resolve()
    file_members = [m for m in manifest["members"] if m["name"].startswith(FILES_PREFIX)]
    for member in file_members:
        target = root / _safe_member_path(member["name"][len(FILES_PREFIX) :])
        if target.exists() and _sm3_file(target) != member["sm3"]:
            raise BackupError(
                f"数据目录中已有不同内容的文件：{target.relative_to(root)}",
                code="RESTORE_FILE_CONFLICT",
            )
    with tarfile.open(source, "r:") as archive, tempfile.TemporaryDirectory(dir=root) as tmp:
        step("恢复数据库")
        connection.close()
        if vendor == "sqlite":
            _restore_sqlite(archive, Path(tmp))
        else:
            _restore_postgres(archive, Path(tmp))
        step("恢复存储的文件")
        for member in file_members:
            relative = _safe_member_path(member["name"][len(FILES_PREFIX) :])
            target = root / relative
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = archive.extractfile(member["name"])
            assert handle is not None  # noqa: S101 - verified above
            staging = target.with_name(target.name + ".partial")
            with staging.open("wb") as out:
                shutil.copyfileobj(handle, out, _CHUNK)
            os.replace(staging, target)
    step("核对各表行数")
    tables = sorted(manifest["tables"])
    with connection.cursor() as cursor:
        present = set(connection.introspection.table_names(cursor))
        counts = _table_counts(cursor, [t for t in tables if t in present])
    mismatched = [t for t in tables if counts.get(t) != manifest["tables"][t]]
    return RestoreSummary(
        engine=vendor,
        tables=len(tables),
        rows=sum(counts.values()),
        files=len(file_members),
        mismatched_tables=mismatched,
    )


def _restore_sqlite(archive: tarfile.TarFile, workdir: Path) -> None:
    handle = archive.extractfile(SQLITE_MEMBER)
    if handle is None:
        raise BackupError(f"备份不完整：缺少 {SQLITE_MEMBER}", code="BACKUP_MEMBER_MISSING")
    staging = workdir / SQLITE_MEMBER
    with staging.open("wb") as out:
        shutil.copyfileobj(handle, out, _CHUNK)
    target = Path(str(settings.DATABASES["default"]["NAME"]))
    # Copy through SQLite's backup API into the (empty) target, so its journal mode and any
    # open connection of this process see a proper database, not a file swapped under them.
    source = sqlite3.connect(str(staging))
    destination = sqlite3.connect(str(target))
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()


def _restore_postgres(archive: tarfile.TarFile, workdir: Path) -> None:
    handle = archive.extractfile(POSTGRES_MEMBER)
    if handle is None:
        raise BackupError(f"备份不完整：缺少 {POSTGRES_MEMBER}", code="BACKUP_MEMBER_MISSING")
    staging = workdir / POSTGRES_MEMBER
    with staging.open("wb") as out:
        shutil.copyfileobj(handle, out, _CHUNK)
    env, args = _postgres_env_and_args()
    _run_tool(
        [
            "pg_restore",
            *args,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={settings.DATABASES['default']['NAME']}",
            str(staging),
        ],
        env,
        "恢复数据库（pg_restore）",
    )
