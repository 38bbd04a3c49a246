"""A clerk confirming a probable match makes the source row count for the matched person
from the next comparison run on; until then it changes no person-level category."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from shebao.accounts.models import AuditEvent
from shebao.errors import ValidationFailed
from shebao.intake.services import import_batch_submit
from shebao.jobs.services import job_run_next
from shebao.registration.choices import FindingStatus
from shebao.registration.models import ConfirmedMatch, Finding
from shebao.registration.services import FindingCorrection, finding_resolve
from shebao.registry.models import Person
from tests.integration.registration.world import (
    ENR,
    RegWorld,
    _write,
    build_world,
    run_comparison_now,
)

pytestmark = pytest.mark.django_db


def _mistyped(person: Person) -> str:
    """The person's number with one digit of the sequence mistyped (the check digit fails)."""
    digits = person.id_number
    wrong = str((int(digits[15]) + 1) % 10)
    return digits[:15] + wrong + digits[16:]


def _plant(world: RegWorld) -> str:
    """A new enrollment file: the insured as before, and 王秀英 (otherwise uninsured) paying
    for pension and medical under a mistyped ID number."""
    typo = _mistyped(world.uninsured)
    rows = [
        [world.insured.id_number, world.insured.name, "170", "参保缴费", "420704", "2020-01-01"],
        [world.insured.id_number, world.insured.name, "390", "参保缴费", "420704", "2020-01-01"],
        [typo, world.uninsured.name, "170", "参保缴费", "420704", "2021-01-01"],
        [typo, world.uninsured.name, "390", "参保缴费", "420704", "2021-01-01"],
    ]
    path = _write(world.directory / "参保_二月.csv", ENR, rows)
    batch, _ = import_batch_submit(actor=world.centre, path=path)
    job_run_next()
    batch.refresh_from_db()
    assert batch.rows_accepted == 4
    return typo


def _categories(run_id: int, person: Person) -> set[str]:
    return set(
        Finding.objects.filter(run_id=run_id, person=person).values_list("category", flat=True)
    )


@pytest.fixture
def world(tmp_path: Path) -> RegWorld:
    return build_world(tmp_path)


def test_a_confirmed_probable_match_counts_for_the_person_from_the_next_run(
    world: RegWorld,
) -> None:
    typo = _plant(world)
    first = run_comparison_now(world)
    assert first.confirmed_links == 0
    flagged = Finding.objects.filter(run=first, id_number=typo)
    assert set(flagged.values_list("category", flat=True)) == {"INVALID_ID", "PROBABLE_MATCH"}
    matches = list(flagged.filter(category="PROBABLE_MATCH").order_by("row"))
    assert [m.matched_id_number for m in matches] == [world.uninsured.id_number] * 2
    # The probable match is about the person it names, in their village's queue.
    assert {m.person_id for m in matches} == {world.uninsured.pk}
    # Unconfirmed, it changes no person-level category.
    assert {"PENSION_UNINSURED", "MEDICAL_UNINSURED"} <= _categories(first.pk, world.uninsured)

    finding_resolve(
        actor=world.clerk,
        finding_id=matches[0].pk,
        outcome=FindingStatus.CONFIRMED,
        note="核对参保登记表，号码录入错误",
    )
    link = ConfirmedMatch.objects.get()
    assert (link.row, link.id_number, link.matched_id_number, link.person_id) == (
        matches[0].row,
        typo,
        world.uninsured.id_number,
        world.uninsured.pk,
    )
    assert link.confirmed_by_id == world.clerk.pk and link.batch.file_name == "参保_二月.csv"
    audit = AuditEvent.objects.get(target_type="confirmed_match", target_id=str(link.pk))
    assert audit.person_id == world.uninsured.pk and audit.user_id == world.clerk.pk

    second = run_comparison_now(world)
    # Both rows read with that number and name now count for 王秀英: she is insured.
    assert second.confirmed_links == 2
    assert not Finding.objects.filter(run=second, id_number=typo).exists()
    rows = Finding.objects.filter(run=second, source="参保_二月.csv", row__in=[3, 4])
    assert not rows.filter(category__in=["INVALID_ID", "NOT_IN_POPULATION"]).exists()
    assert not {"PENSION_UNINSURED", "MEDICAL_UNINSURED"} & _categories(second.pk, world.uninsured)
    # The other uninsured are untouched.
    assert "PENSION_UNINSURED" in _categories(second.pk, world.fankou)


def test_a_dismissed_probable_match_changes_nothing(world: RegWorld) -> None:
    typo = _plant(world)
    first = run_comparison_now(world)
    match = Finding.objects.filter(run=first, id_number=typo, category="PROBABLE_MATCH").first()
    assert match is not None
    finding_resolve(
        actor=world.clerk,
        finding_id=match.pk,
        outcome=FindingStatus.DISMISSED,
        note="不是同一人",
    )
    assert not ConfirmedMatch.objects.exists()
    second = run_comparison_now(world)
    assert second.confirmed_links == 0
    assert Finding.objects.filter(run=second, id_number=typo, category="INVALID_ID").count() == 2
    assert {"PENSION_UNINSURED", "MEDICAL_UNINSURED"} <= _categories(second.pk, world.uninsured)


def test_a_probable_match_is_confirmed_or_dismissed_not_corrected_in_the_registry(
    world: RegWorld,
) -> None:
    typo = _plant(world)
    first = run_comparison_now(world)
    match = Finding.objects.filter(run=first, id_number=typo, category="PROBABLE_MATCH").first()
    assert match is not None
    with pytest.raises(ValidationFailed) as refused:
        finding_resolve(
            actor=world.clerk,
            finding_id=match.pk,
            outcome=FindingStatus.CORRECTED,
            note="改名",
            correction=FindingCorrection(name="王秀瑛"),
        )
    assert refused.value.code == "MATCH_NOT_CORRECTABLE"
    world.uninsured.refresh_from_db()
    assert world.uninsured.name == "王秀英"
    client = Client()
    client.force_login(world.clerk)
    page = client.get(f"/registration/findings/{match.pk}/").content.decode()
    assert 'data-testid="match-hint"' in page and "更正人员库（选择" not in page
    client.force_login(world.centre)
    run_page = client.get(f"/registration/runs/{first.pk}/").content.decode()
    assert "按人工确认匹配计入的行" in run_page
