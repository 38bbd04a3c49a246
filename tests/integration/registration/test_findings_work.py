"""Working the findings: the queue per region, assign, correct (applied to the registry and
audited), confirm, dismiss with a note; registration status follows."""

from __future__ import annotations

from pathlib import Path

import pytest

from shebao.accounts.models import AuditEvent
from shebao.errors import PermissionDenied, ShebaoError, ValidationFailed
from shebao.registration.choices import FindingStatus, RegistrationState
from shebao.registration.models import Finding, PersonRegistration
from shebao.registration.selectors import FindingFilter, finding_rows, findings_queue
from shebao.registration.services import FindingCorrection, finding_assign, finding_resolve
from shebao.registry.models import PersonChange
from tests.integration.registration.world import PHOENIX, RegWorld, build_world, run_comparison_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tmp_path: Path) -> RegWorld:
    w = build_world(tmp_path)
    run_comparison_now(w)
    return w


def test_the_queue_is_scoped_filtered_and_masked(world: RegWorld) -> None:
    mine = list(findings_queue(actor=world.clerk, query=FindingFilter()))
    assert mine and all(f.region_id == PHOENIX for f in mine)
    theirs = list(findings_queue(actor=world.other_clerk, query=FindingFilter()))
    assert {f.person_id for f in theirs} == {world.fankou.pk}
    everything = list(findings_queue(actor=world.centre, query=FindingFilter()))
    assert len(everything) > len(mine) + len(theirs) - 1  # the centre sees the whole city
    only = list(findings_queue(actor=world.clerk, query=FindingFilter(category="NAME_MISMATCH")))
    assert {f.category for f in only} == {"NAME_MISMATCH"}
    rows = finding_rows(mine)
    assert all("*" in r.id_number for r in rows)
    assert world.uninsured.name not in {r.name for r in rows}


def test_correcting_a_name_mismatch_updates_the_registry(world: RegWorld) -> None:
    findings = Finding.objects.filter(category="NAME_MISMATCH", person=world.misnamed)
    first, second = list(findings)
    finding_assign(actor=world.clerk, finding_id=first.pk, assignee=world.clerk)
    first.refresh_from_db()
    assert first.status == FindingStatus.ASSIGNED and first.assignee_id == world.clerk.pk

    finding_resolve(
        actor=world.clerk,
        finding_id=first.pk,
        outcome=FindingStatus.CORRECTED,
        note="户籍证明核实为张玮",
        correction=FindingCorrection(name="张玮"),
    )
    world.misnamed.refresh_from_db()
    assert world.misnamed.name == "张玮"
    change = PersonChange.objects.get(person=world.misnamed, field="name")
    assert change.changed_by_id == world.clerk.pk and change.source == "registration"
    assert AuditEvent.objects.filter(target_type="finding", target_id=str(first.pk)).count() == 2
    # The other row of the same mismatch is still open: the person is still pending.
    assert PersonRegistration.objects.get(person=world.misnamed).state == RegistrationState.PENDING
    finding_resolve(
        actor=world.clerk, finding_id=second.pk, outcome=FindingStatus.CONFIRMED, note="同上"
    )
    assert (
        PersonRegistration.objects.get(person=world.misnamed).state == RegistrationState.REGISTERED
    )
    with pytest.raises(ShebaoError) as caught:
        finding_resolve(
            actor=world.clerk, finding_id=second.pk, outcome=FindingStatus.DISMISSED, note="再改"
        )
    assert caught.value.code == "FINDING_BAD_TRANSITION"


def test_correcting_uninsured_records_the_enrollment(world: RegWorld) -> None:
    pension = Finding.objects.get(category="PENSION_UNINSURED", person=world.uninsured)
    medical = Finding.objects.get(category="MEDICAL_UNINSURED", person=world.uninsured)
    finding_resolve(
        actor=world.clerk,
        finding_id=pension.pk,
        outcome=FindingStatus.CORRECTED,
        correction=FindingCorrection(scheme_code="170", insurance_region_code="420704"),
    )
    finding_resolve(
        actor=world.clerk,
        finding_id=medical.pk,
        outcome=FindingStatus.CORRECTED,
        correction=FindingCorrection(scheme_code="390", insurance_region_code="420704"),
    )
    registration = PersonRegistration.objects.get(person=world.uninsured)
    assert registration.state == RegistrationState.REGISTERED
    assert (registration.pension_scheme, registration.medical_scheme) == ("170", "390")


def test_dismissing_needs_a_note_and_scope_is_enforced(world: RegWorld) -> None:
    finding = Finding.objects.filter(person=world.uninsured).first()
    assert finding is not None
    with pytest.raises(ValidationFailed):
        finding_resolve(actor=world.clerk, finding_id=finding.pk, outcome=FindingStatus.DISMISSED)
    with pytest.raises(PermissionDenied):
        finding_resolve(
            actor=world.other_clerk,
            finding_id=finding.pk,
            outcome=FindingStatus.DISMISSED,
            note="不是我村",
        )
    with pytest.raises(ValidationFailed):
        finding_assign(actor=world.clerk, finding_id=finding.pk, assignee=world.other_clerk)
    finding_resolve(
        actor=world.clerk, finding_id=finding.pk, outcome=FindingStatus.DISMISSED, note="已迁出本村"
    )
    finding.refresh_from_db()
    assert finding.status == FindingStatus.DISMISSED and finding.note == "已迁出本村"
    assert finding.resolved_by_id == world.clerk.pk and finding.resolved_at is not None


def test_a_finding_without_a_person_cannot_be_corrected_in_the_registry(world: RegWorld) -> None:
    outsider = Finding.objects.get(category="NOT_IN_POPULATION")
    with pytest.raises(ValidationFailed):
        finding_resolve(
            actor=world.centre,
            finding_id=outsider.pk,
            outcome=FindingStatus.CORRECTED,
            correction=FindingCorrection(name="赵六"),
        )
    finding_resolve(
        actor=world.centre,
        finding_id=outsider.pk,
        outcome=FindingStatus.CORRECTED,
        note="医保系统已删除错误记录",
    )


def test_a_new_run_keeps_every_resolution_and_the_findings_identity(world: RegWorld) -> None:
    pension = Finding.objects.get(category="PENSION_UNINSURED", person=world.uninsured)
    medical = Finding.objects.get(category="MEDICAL_UNINSURED", person=world.uninsured)
    finding_resolve(
        actor=world.clerk, finding_id=pension.pk, outcome=FindingStatus.DISMISSED, note="外地参保"
    )
    finding_resolve(
        actor=world.clerk,
        finding_id=medical.pk,
        outcome=FindingStatus.CORRECTED,
        note="已在医保系统补录",
    )
    pension.refresh_from_db()
    second = run_comparison_now(world)
    again = {f.category: f for f in Finding.objects.filter(run=second, person=world.uninsured)}
    kept = again["PENSION_UNINSURED"]
    assert (kept.status, kept.note) == (FindingStatus.DISMISSED, "外地参保")
    assert (kept.resolved_by_id, kept.resolved_at) == (world.clerk.pk, pension.resolved_at)
    assert kept.pk == pension.pk and kept.first_run_id == pension.run_id
    # A correction stays a correction while the department's data still show the problem
    # (issue #10, item 20: it used to come back 待处理).
    assert (again["MEDICAL_UNINSURED"].pk, again["MEDICAL_UNINSURED"].status) == (
        medical.pk,
        FindingStatus.CORRECTED,
    )
    other = Finding.objects.get(run=second, category="PENSION_UNINSURED", person=world.fankou)
    assert other.status == FindingStatus.OPEN
