"""One rule set for every path (issue #10 item 7): the collective upload, the village counter
and `shebao cards check-applications` apply the programme the system runs
(SHEBAO_CARD_PROGRAMME), so the same persons get the same verdicts and reasons whichever way
they apply — a household-registered 67-year-old and a non-resident without insurance are
refused by all of them."""

from __future__ import annotations

import csv
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from shebao.cards.models import Application, ApplicationBatch
from shebao.cards.services.applications import (
    CounterInput,
    application_batch_upload,
    application_counter_create,
)
from shebao.geo.models import Region
from shebao.registry.choices import SCHEMES, EnrollmentStatus, HukouType
from shebao.registry.models import Enrollment, Person, Scheme
from tests.factories import make_person
from tests.integration.cards.issuing_world import (
    VILLAGE,
    World,
    build_world,
    collective_csv,
    row_for,
)

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 12, 7)


def _persons(world: World) -> dict[str, Person]:
    for code, name, group in SCHEMES:
        Scheme.objects.get_or_create(code=code, defaults={"name": name, "group": group})
    people = {
        "aged_67": make_person(VILLAGE, name="刘德福", birth=date(1959, 3, 8), phone="13812340001"),
        "aged_59": make_person(VILLAGE, name="陈桂兰", birth=date(1967, 3, 8), phone="13812340002"),
        "non_resident_uninsured": make_person(
            VILLAGE, name="马小龙", birth=date(1990, 6, 1), phone="13812340003"
        ),
        "non_resident_insured": make_person(
            VILLAGE, name="罗春燕", birth=date(1992, 6, 1), phone="13812340004"
        ),
    }
    Person.objects.filter(
        pk__in=[people["non_resident_uninsured"].pk, people["non_resident_insured"].pk]
    ).update(hukou_type=HukouType.NON_HUKOU)
    Enrollment.objects.create(
        person=people["non_resident_insured"],
        scheme_id="390",
        insurance_region=Region.objects.get(code="420700"),
        status=EnrollmentStatus.ACTIVE,
        start_date=date(2020, 1, 1),
    )
    for p in people.values():
        p.refresh_from_db()
    return people


def _file_check(people: dict[str, Person], tmp_path: Path) -> dict[str, tuple[bool, str]]:
    """`shebao cards check-applications` on the same persons: the population file as the
    police and the insurance agency give it, no --programme (the system's own)."""
    population = tmp_path / "人口.csv"
    with population.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["公民身份号码", "姓名", "户籍地区划代码", "人员状态", "户籍类型", "是否本地参保"]
        )
        for key, p in people.items():
            writer.writerow(
                [
                    p.id_number,
                    p.name,
                    p.hukou_region_id,
                    "正常",
                    "非户籍" if p.hukou_type == HukouType.NON_HUKOU else "户籍",
                    "是" if key in ("non_resident_insured",) else "否",
                ]
            )
    applications = tmp_path / "申领.csv"
    applications.write_bytes(collective_csv([row_for(p) for p in people.values()]))
    out = StringIO()
    call_command(
        "cards",
        "check-applications",
        "--population",
        str(population),
        "--applications",
        str(applications),
        "--banks",
        "农业银行",
        "--as-of",
        AS_OF.isoformat(),
        "--out",
        str(tmp_path / "out"),
        stdout=out,
    )
    assert "发卡项目：社会保障卡发行（户籍人员60周岁以下" in out.getvalue()
    assert "未执行发卡范围规则" not in out.getvalue()  # every rule could be applied
    with (tmp_path / "out" / "eligibility.csv").open(encoding="utf-8") as fh:
        return {r["id_number"]: (r["eligible"] == "1", r["reasons"]) for r in csv.DictReader(fh)}


def test_upload_counter_and_file_check_give_the_same_verdicts_and_reasons(tmp_path: Path) -> None:
    world = build_world(0, police_photos=False)
    people = _persons(world)

    rows = collective_csv([row_for(p) for p in people.values()])
    upload = application_batch_upload(
        actor=world.school_clerk, file=SimpleUploadedFile("集体申领.csv", rows), as_of=AS_OF
    )
    assert ApplicationBatch.objects.get(pk=upload.batch.pk).programme == "default"
    web = {
        a.id_number: (a.status == "eligible", a.reasons, a.messages)
        for a in Application.objects.filter(batch=upload.batch)
    }
    files = _file_check(people, tmp_path)

    expected = {
        "aged_67": (False, "OUT_OF_SCOPE"),
        "aged_59": (True, ""),
        "non_resident_uninsured": (False, "OUT_OF_SCOPE"),
        "non_resident_insured": (True, ""),
    }
    for key, p in people.items():
        assert web[p.id_number][:2] == files[p.id_number] == expected[key], key
    assert "户籍人员年满60周岁" in web[people["aged_67"].id_number][2]
    assert "非户籍人员未在本地参保" in web[people["non_resident_uninsured"].id_number][2]

    # The village counter applies the same rules (the photo rule aside: the police photo).
    for key in ("aged_67", "non_resident_uninsured"):
        p = people[key]
        app = application_counter_create(
            actor=world.village_clerk,
            data=CounterInput(
                p.id_number,
                p.name,
                world.bank.pk,
                p.phone,
                use_police_photo=True,
                signed_form=b"%PDF",
            ),
        )
        assert app.status == "ineligible" and "OUT_OF_SCOPE" in app.reasons.split(";"), key
