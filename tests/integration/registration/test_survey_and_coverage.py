"""Survey rosters, survey results closing findings, completeness (三不漏), coverage."""

from __future__ import annotations

from pathlib import Path

import pytest

from shebao.errors import PermissionDenied, ValidationFailed
from shebao.geo.models import Region
from shebao.registration.choices import FindingStatus, RegistrationState
from shebao.registration.models import Finding, PersonRegistration
from shebao.registration.selectors import (
    coverage_by_region,
    roster_for_village,
    survey_completeness,
)
from shebao.registration.services import SurveyInput, survey_record
from tests.integration.registration.world import (
    FANKOU,
    PHOENIX,
    RegWorld,
    build_world,
    run_comparison_now,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tmp_path: Path) -> RegWorld:
    w = build_world(tmp_path)
    run_comparison_now(w)
    return w


def test_roster_lists_flagged_households_with_all_members(world: RegWorld) -> None:
    village, households = roster_for_village(actor=world.surveyor, village_code=PHOENIX)
    assert village.code == PHOENIX
    by_number = {h.number: h for h in households}
    assert set(by_number) == {"H1", "H2"}
    h1 = {m.person_id: m for m in by_number["H1"].members}
    assert set(h1) == {world.insured.pk, world.uninsured.pk}  # the whole household
    assert "应参未参养老保险" in h1[world.uninsured.pk].items
    assert h1[world.insured.pk].items == ["就业情况", "联系电话"]
    with pytest.raises(PermissionDenied):
        roster_for_village(actor=world.surveyor, village_code=FANKOU)


def test_survey_result_closes_findings_and_counts_for_completeness(world: RegWorld) -> None:
    before = survey_completeness(actor=world.surveyor, village_code=PHOENIX)
    assert (before.households, before.households_visited, before.members) == (2, 0, 3)
    with pytest.raises(ValidationFailed):
        survey_record(
            actor=world.surveyor, person_id=world.uninsured.pk, data=SurveyInput(employment="nope")
        )
    survey_record(
        actor=world.surveyor,
        person_id=world.uninsured.pk,
        data=SurveyInput(
            employment="farming",
            reason_uninsured="cannot_afford",
            scheme_wanted="170",
            phone="13912345678",
            voluntary_schemes=("390",),
        ),
    )
    statuses = set(Finding.objects.filter(person=world.uninsured).values_list("category", "status"))
    assert statuses == {
        ("PENSION_UNINSURED", FindingStatus.CONFIRMED),
        ("MEDICAL_UNINSURED", FindingStatus.CONFIRMED),
    }
    world.uninsured.refresh_from_db()
    assert world.uninsured.phone == "13912345678"
    assert (
        PersonRegistration.objects.get(person=world.uninsured).state == RegistrationState.UNINSURED
    )
    after = survey_completeness(actor=world.surveyor, village_code=PHOENIX)
    assert (after.households_visited, after.members_recorded) == (1, 1)
    assert after.items_filled == 4 and after.items_required == 4 + 2 + 2
    # Insured elsewhere: the finding is dismissed.
    survey_record(
        actor=world.other_clerk,
        person_id=world.fankou.pk,
        data=SurveyInput(employment="employed", reason_uninsured="insured_elsewhere"),
    )
    assert set(Finding.objects.filter(person=world.fankou).values_list("status", flat=True)) == {
        FindingStatus.DISMISSED
    }


def test_coverage_by_region(world: RegWorld) -> None:
    town = Region.objects.get(code="420704001")
    total, rows = coverage_by_region(actor=world.centre, region=town)
    assert total.population == 4
    assert total.pension_eligible == 4 and total.pension_insured == 2
    assert total.medical_insured == 2 and total.by_scheme == {"170": 2, "390": 2}
    phoenix = next(r for r in rows if r.code == PHOENIX)
    assert (phoenix.population, phoenix.pension_insured, phoenix.registered) == (3, 2, 1)
    assert phoenix.pension_rate == pytest.approx(2 / 3) and not phoenix.pension_meets_goal
    with pytest.raises(PermissionDenied):
        coverage_by_region(actor=world.clerk, region=town)
