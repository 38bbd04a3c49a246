"""`shebao backup` / `shebao restore` as an operator runs them: separate processes against a
real database (a fresh SQLite file or a fresh PostgreSQL database), restored into an empty
one and compared table by table, row by row, with the stored files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]

POPULATE = """
import django
django.setup()
from datetime import date
from django.conf import settings
from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from tests.factories import make_card, make_org, make_person, make_regions, make_user
make_regions()
org = make_org(OrganisationKind.CARD_CENTRE, "420700")
user = make_user(Role.CARD_CENTRE_OPERATOR, org, username="centre1")
for i in range(25):
    person = make_person("420704001201", birth=date(1960 + i, 3, 9))
    if i % 3 == 0:
        make_card(person, custodian=org)
    audit_record(actor=user, action=AuditAction.VIEW_PERSON, person_id=person.pk,
                 purpose="card_service")
(settings.DATA_DIR / "intake" / "2026").mkdir(parents=True, exist_ok=True)
(settings.DATA_DIR / "intake" / "2026" / "population.csv").write_text("身份证号,姓名\\n", "utf-8")
(settings.DATA_DIR / "media").mkdir(exist_ok=True)
(settings.DATA_DIR / "media" / "photo.jpg").write_bytes(bytes(range(256)) * 40)
(settings.DATA_DIR / "keys").mkdir(exist_ok=True)
(settings.DATA_DIR / "keys" / "signing.pem").write_text("PRIVATE")
"""

FINGERPRINT = """
import hashlib, json
import django
django.setup()
from django.db import connection
out = {}
with connection.cursor() as cursor:
    for table in sorted(connection.introspection.table_names(cursor)):
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        rows = sorted(json.dumps(list(row), default=str, ensure_ascii=False)
                      for row in cursor.fetchall())
        out[table] = [len(rows), hashlib.sha256("\\n".join(rows).encode()).hexdigest()]
print(json.dumps(out))
"""


class Site:
    """One data directory and one database, driven through fresh `shebao` processes."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "SHEBAO_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": "shebao.settings",
            "PYTHONPATH": str(REPO),
        }
        if database_url:
            self.env["DATABASE_URL"] = database_url
        else:
            self.env.pop("DATABASE_URL", None)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "shebao", *args],
            env=self.env,
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=600,
        )
        if check and result.returncode != 0:
            pytest.fail(f"shebao {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def python(self, code: str) -> str:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code],
            env=self.env,
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=600,
        )
        if result.returncode != 0:
            pytest.fail(result.stderr)
        return result.stdout

    def fingerprint(self) -> dict[str, list[object]]:
        return json.loads(self.python(FINGERPRINT).strip().splitlines()[-1])


def _postgres_admin(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="module")
def databases() -> Iterator[tuple[str | None, str | None, str | None]]:
    """Three empty databases: the source, a target, and one for the refusals."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield None, None, None
        return
    base = url.rsplit("/", 1)[0]
    names = [f"shebao_backup_{uuid.uuid4().hex[:8]}_{side}" for side in "abc"]
    for name in names:
        _postgres_admin(f"{base}/postgres", f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}", f"{base}/{names[2]}"
    finally:
        for name in names:
            _postgres_admin(f"{base}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def backed_up(
    databases: tuple[str | None, str | None, str | None],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Site, Path]:
    """A site with people, cards, audit rows and stored files, and its backup archive."""
    root = tmp_path_factory.mktemp("backup")
    source = Site(root / "source", databases[0])
    source.run("migrate", "-v0")
    source.python(POPULATE)
    archive = root / "shebao.tar"
    done = source.run("backup", "--out", str(archive))
    assert "备份完成" in done.stdout
    return source, archive


def test_backup_restores_into_an_empty_database_identically(
    backed_up: tuple[Site, Path],
    databases: tuple[str | None, str | None, str | None],
    tmp_path: Path,
) -> None:
    source, archive = backed_up
    target = Site(tmp_path / "target", databases[1])
    assert archive.exists()
    assert not archive.with_name(archive.name + ".partial").exists()
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert "files/intake/2026/population.csv" in names
    assert "files/media/photo.jpg" in names
    # Keys never travel with the data they protect, unless asked for.
    assert not any("keys/" in name or name.endswith(".dev-secret-key") for name in names)

    restored = target.run("restore", str(archive))
    assert "与备份一致" in restored.stdout, restored.stderr

    before, after = source.fingerprint(), target.fingerprint()
    assert before.keys() == after.keys()
    assert before["registry_person"][0] == 25
    assert before == after
    photo = target.data_dir / "media" / "photo.jpg"
    assert photo.read_bytes() == (source.data_dir / "media" / "photo.jpg").read_bytes()
    # The restored site works: its migrations are all applied.
    check = target.run("migrate", "--check", check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_damaged_archive_or_a_used_database_is_refused_and_nothing_changes(
    backed_up: tuple[Site, Path],
    databases: tuple[str | None, str | None, str | None],
    tmp_path: Path,
) -> None:
    source, archive = backed_up
    target = Site(tmp_path / "target", databases[2])

    # Into a database already in use: refused, its data untouched.
    before = source.fingerprint()
    refused = source.run("restore", str(archive), check=False)
    assert refused.returncode != 0
    assert "不是空库" in refused.stderr
    assert source.fingerprint() == before

    # A flipped byte in the database member: refused before anything is written.
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("database."))
    damaged = tmp_path / "damaged.tar"
    data = bytearray(archive.read_bytes())
    data[member.offset_data + member.size // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    verify = target.run("restore", "--verify-only", str(damaged), check=False)
    assert verify.returncode != 0
    assert "SM3 校验值不符" in verify.stderr
    refused = target.run("restore", str(damaged), check=False)
    assert refused.returncode != 0
    assert "SM3 校验值不符" in refused.stderr
    assert target.fingerprint() == {}
    assert not (target.data_dir / "media" / "photo.jpg").exists()

    # Backing up over an existing file is refused rather than overwriting it.
    again = source.run("backup", "--out", str(archive), check=False)
    assert again.returncode != 0
    assert "已存在" in again.stderr
