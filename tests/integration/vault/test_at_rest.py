"""Personal data at rest (issue #14 §5, ADR 0017), as an operator's processes see it: a fresh
database (SQLite file, or a fresh PostgreSQL database read back with pg_dump) holds none of the
planted phones, addresses, survey answers or photo bytes in clear; the application reads them
back; a key rotation re-encrypts everything so the old key can be retired; a missing key is
refused with a clear error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]

PHONE = "13987650123"
CHANGED_PHONE = "13711112222"
ADDRESS = "湖北省黄石市下陆区团城山街道杭州西路甲九号"
NOTE = "户主在外务工一年以上计划返乡"
POSTAL = "黄石港区花湖大道乙七号二单元"
VISIT = "阳新县富池镇丙三村四组"
APP_PHONE = "13655554444"
PHOTO = b"\xff\xd8\xff\xe0PLANTED-PHOTO-BYTES" * 50
PLANTED = [PHONE, CHANGED_PHONE, ADDRESS, NOTE, POSTAL, VISIT, APP_PHONE]

POPULATE = f"""
import django
django.setup()
from datetime import date
from django.core.files.base import ContentFile
from shebao.accounts.choices import OrganisationKind, Role
from shebao.cards.models import Application, HomeServiceAppointment, PostalDispatch
from shebao.registration.models import SurveyRecord
from shebao.registry.models import Household
from shebao.registry.services import person_update
from tests.factories import make_card, make_org, make_person, make_regions, make_user
make_regions()
org = make_org(OrganisationKind.CARD_CENTRE, "420700")
user = make_user(Role.CARD_CENTRE_OPERATOR, org, username="centre1")
person = make_person("420704001201", household="H-1", phone={PHONE!r})
Household.objects.filter(number="H-1").update(address={ADDRESS!r})
person_update(actor=user, person_id=person.pk, changes={{"phone": {CHANGED_PHONE!r}}}, reason="t")
person.refresh_from_db()
person.photo.save("p.jpg", ContentFile({PHOTO!r}), save=True)
SurveyRecord.objects.create(person=person, region_id="420704001201", surveyed_by=user,
                            outcome="nobody_home",
                            phone={PHONE!r}, note={NOTE!r})
card = make_card(person, custodian=org)
PostalDispatch.objects.create(card=card, card_centre=org, tracking_number="EMS1",
                              mailed_on=date(2026, 12, 1), address={POSTAL!r}, phone={PHONE!r})
HomeServiceAppointment.objects.create(reference="HS1", person=person, region_id="420704001201",
    kind="apply", reason="disabled", booker_name="李四", booker_relation="子女",
    phone={PHONE!r}, address={VISIT!r}, preferred_date=date(2026, 12, 9))
Application.objects.create(channel="online", person=person, id_number=person.id_number,
    name=person.name, phone={APP_PHONE!r}, postal_delivery=True, postal_address={POSTAL!r},
    region_id="420704001201", status="eligible")
"""

READ_BACK = """
import json
import django
django.setup()
from shebao.cards.models import Application, HomeServiceAppointment, PostalDispatch
from shebao.registration.models import SurveyRecord
from shebao.registry.models import Household, Person, PersonChange
p = Person.objects.get()
with p.photo.open("rb") as fh:
    photo = fh.read().hex()
s = SurveyRecord.objects.get()
print(json.dumps({
    "phone": p.phone, "address": Household.objects.get().address,
    "change": list(PersonChange.objects.values_list("old_value", "new_value")),
    "survey": [s.phone, s.note],
    "postal": list(PostalDispatch.objects.values_list("address", "phone")),
    "visit": list(HomeServiceAppointment.objects.values_list("phone", "address")),
    "application": list(Application.objects.values_list("phone", "postal_address")),
    "photo": photo,
}, ensure_ascii=False))
"""


class Site:
    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SHEBAO_")}
        self.env.update(
            SHEBAO_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="shebao.settings",
            PYTHONPATH=str(REPO),
        )  # fmt: skip
        self.env.pop("DATABASE_URL", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "shebao", *args], env=self.env, capture_output=True,
            text=True, cwd=REPO, timeout=600, check=False,
        )  # fmt: skip
        if check and out.returncode != 0:
            pytest.fail(f"shebao {' '.join(args)}:\n{out.stdout}\n{out.stderr}")
        return out

    def python(self, code: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code], env=self.env, capture_output=True, text=True,
            cwd=REPO, timeout=600, check=False,
        )  # fmt: skip
        if check and out.returncode != 0:
            pytest.fail(out.stderr)
        return out

    def stored_bytes(self) -> bytes:
        """Everything the database keeps: the SQLite file and its WAL, or a pg_dump."""
        url = self.env.get("DATABASE_URL", "")
        if url.startswith("postgres"):
            dump = subprocess.run(  # noqa: S603
                ["/usr/bin/pg_dump", "--no-owner", url],
                capture_output=True,
                check=True,
                timeout=300,
            )
            return dump.stdout
        files = sorted(self.data_dir.glob("shebao.sqlite3*"))
        assert files, "no SQLite file"
        return b"".join(f.read_bytes() for f in files)

    def media_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in (self.data_dir / "media").rglob("*") if p.is_file())


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield Site(tmp_path / "data", None)
        return
    import psycopg

    base = url.rsplit("/", 1)[0]
    name = f"shebao_vault_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Site(tmp_path / "data", f"{base}/{name}")
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _assert_nothing_in_clear(site: Site) -> None:
    stored = site.stored_bytes()
    for value in PLANTED:
        assert value.encode() not in stored, value
    assert b"PLANTED-PHOTO-BYTES" not in site.media_bytes()
    assert b"PLANTED-PHOTO-BYTES" not in stored


def _read_back(site: Site) -> dict[str, object]:
    return json.loads(site.python(READ_BACK).stdout.strip().splitlines()[-1])


def test_the_database_alone_reveals_no_planted_personal_data_and_rotation_retires_a_key(
    site: Site,
) -> None:
    site.run("migrate", "--no-input", "-v", "0")
    site.python(POPULATE)
    # The store: no phone, address, survey answer or photo byte in clear.
    _assert_nothing_in_clear(site)
    before = _read_back(site)
    assert before["phone"] == CHANGED_PHONE and before["address"] == ADDRESS
    assert before["change"] == [[PHONE, CHANGED_PHONE]]
    assert before["survey"] == [PHONE, NOTE]
    assert before["postal"] == [[POSTAL, PHONE]] and before["visit"] == [[PHONE, VISIT]]
    assert before["application"] == [[APP_PHONE, POSTAL]]
    assert bytes.fromhex(str(before["photo"])) == PHOTO

    status = json.loads(site.run("keys", "status").stdout)
    old = status["current"]
    assert status["keys"] == {old: 13}  # 12 sealed values and 1 photo file

    rotated = site.run("keys", "rotate").stdout
    new = json.loads(site.run("keys", "status").stdout)["current"]
    assert new != old and new in rotated
    # Reads work before the re-encryption ran: every ciphertext names its key.
    assert _read_back(site) == before
    refused = site.run("keys", "retire", old, check=False)
    assert refused.returncode != 0 and "VAULT_KEY_IN_USE" in refused.stderr
    # The queued job, run by the worker.
    site.run("worker", "--once")
    after = json.loads(site.run("keys", "status").stdout)
    assert after["keys"] == {new: 13, old: 0}, after
    site.run("keys", "retire", old)
    assert _read_back(site) == before
    _assert_nothing_in_clear(site)

    # Without the keys (a restored backup, ADR 0013) the values are refused, by kid.
    shutil.move(site.data_dir / "keys", site.data_dir.parent / "keys-elsewhere")
    missing = site.python(READ_BACK, check=False)
    assert missing.returncode != 0
    assert "VAULT_KEY_MISSING" in missing.stderr and new in missing.stderr
    assert PHONE not in missing.stderr + missing.stdout
