"""Students (in the latest student source) are not pension-eligible in the registration
status, as the comparison excludes them from PENSION_UNINSURED."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shebao.geo.models import Region
from shebao.intake.services import import_batch_submit
from shebao.jobs.services import job_run_next
from shebao.registration.choices import RegistrationState
from shebao.registration.models import PersonRegistration
from shebao.registration.selectors import coverage_by_region
from shebao.registry.services import enrollment_create
from tests.factories import make_person
from tests.integration.registration.world import (
    PHOENIX,
    _write,
    build_world,
    run_comparison_now,
)

pytestmark = pytest.mark.django_db


def test_students_are_not_pension_eligible(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    student = make_person(PHOENIX, name="刘洋", birth=date(2006, 3, 1), household="H1")
    enrollment_create(
        actor=None,
        person=student,
        scheme_code="390",
        insurance_region_code="420704",
        start_date=date(2024, 1, 1),
    )
    path = _write(
        tmp_path / "学生.csv",
        ["公民身份号码", "姓名", "学籍号", "学校名称"],
        [[student.id_number, student.name, "G42070420060301", "鄂州职业大学"]],
    )
    import_batch_submit(actor=world.centre, path=path)
    job_run_next()

    run = run_comparison_now(world)
    status = PersonRegistration.objects.get(person=student)
    # An adult student with medical cover only is not counted as pension-eligible, nor as
    # uninsured (pending only because the student file's row is not in the population file).
    assert (status.pension_eligible, status.state) == (False, RegistrationState.PENDING)
    assert PersonRegistration.objects.get(person=world.uninsured).pension_eligible
    village = coverage_by_region(actor=world.centre, region=Region.objects.get(code=PHOENIX))[0]
    assert (
        village.pension_eligible
        == PersonRegistration.objects.filter(region_id=PHOENIX, pension_eligible=True).count()
    )
    assert village.pension_eligible == 3  # 李建国, 王秀英, 张伟; not 刘洋
    assert run.inputs.filter(kind="student").exists()
