"""Comparison runs: queued as a job, findings loaded in bulk and resolved to persons and
regions, registration status derived."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from shebao.errors import ValidationFailed
from shebao.intake.storage import intake_path
from shebao.jobs.choices import JobStatus
from shebao.jobs.models import Job
from shebao.jobs.services import job_run_next
from shebao.registration.choices import RegistrationState, RunStatus
from shebao.registration.models import Finding, PersonRegistration
from shebao.registration.runs import comparison_run_submit
from tests.integration.registration.world import (
    AS_OF,
    FANKOU,
    PHOENIX,
    build_world,
    run_comparison_now,
)

pytestmark = pytest.mark.django_db


def _found(run_id: int) -> set[tuple[str, str]]:
    return set(Finding.objects.filter(run_id=run_id).values_list("category", "id_number"))


def test_a_run_loads_findings_and_registration_status(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    run = run_comparison_now(world)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.duration_seconds is not None and run.as_of == AS_OF
    assert set(run.inputs.values_list("pk", flat=True)) == {b.pk for b in world.batches}

    found = _found(run.pk)
    assert ("NAME_MISMATCH", world.misnamed.id_number) in found
    assert ("NOT_IN_POPULATION", world.outsider_id) in found
    assert ("PENSION_UNINSURED", world.uninsured.id_number) in found
    assert ("MEDICAL_UNINSURED", world.uninsured.id_number) in found
    assert ("PENSION_UNINSURED", world.fankou.id_number) in found  # its enrollment row was rejected
    assert not any(i == world.insured.id_number for _, i in found)
    assert run.findings_loaded == run.findings_total == Finding.objects.filter(run=run).count()
    assert run.counts["NAME_MISMATCH"] == 2  # both rows of the misnamed person

    mismatch = Finding.objects.filter(run=run, category="NAME_MISMATCH").order_by("row").first()
    assert mismatch is not None
    assert mismatch.person_id == world.misnamed.pk and mismatch.region_id == PHOENIX
    assert mismatch.source == "参保.csv" and mismatch.row == 3 and mismatch.detail
    outsider = Finding.objects.get(run=run, category="NOT_IN_POPULATION")
    assert outsider.person_id is None and outsider.region_id == "420704"  # county of the ID
    assert (
        Finding.objects.get(run=run, category="PENSION_UNINSURED", person=world.fankou).region_id
        == FANKOU
    )

    states = dict(PersonRegistration.objects.values_list("person_id", "state"))
    assert states[world.insured.pk] == RegistrationState.REGISTERED
    assert states[world.uninsured.pk] == RegistrationState.UNINSURED
    assert states[world.misnamed.pk] == RegistrationState.PENDING
    insured = PersonRegistration.objects.get(person=world.insured)
    assert (insured.pension_scheme, insured.medical_scheme, insured.pension_eligible) == (
        "170",
        "390",
        True,
    )
    job = Job.objects.get(pk=run.job_id)
    assert job.status == JobStatus.SUCCEEDED and job.result["findings"] == run.findings_loaded


def test_a_run_needs_a_population_batch(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    with pytest.raises(ValidationFailed):
        comparison_run_submit(actor=world.centre, as_of=AS_OF, batches=world.batches[1:])


def test_a_run_that_breaks_fails_with_its_message_and_loads_nothing(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    population = world.batches[0]
    intake_path(population.snapshot_path).write_bytes(b"not parquet")
    run = comparison_run_submit(actor=world.centre, as_of=AS_OF)
    job_run_next()
    run.refresh_from_db()
    job = Job.objects.get(pk=run.job_id)
    assert run.status == RunStatus.FAILED and run.error
    assert job.status == JobStatus.FAILED and job.error
    assert not Finding.objects.filter(run=run).exists()
    assert not PersonRegistration.objects.exists()


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        comparison_run_submit(actor=None, as_of=AS_OF, engine="oracle")


def test_compare_command_runs_over_the_latest_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_world(tmp_path)
    call_command("compare", "--as-of", AS_OF.isoformat())
    out = capsys.readouterr().out
    assert "比对完成（duckdb，基准日期 2026-06-30）" in out
    assert "姓名与公安人口库不一致（NAME_MISMATCH）：2" in out
    with pytest.raises(CommandError):
        call_command("compare", "--as-of", "2026-13-01")
