"""Every page that shows a person writes an audit row with its purpose: the finding
detail, the survey form of a person, and the admin's person pages (issue #10, item 31)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent, User
from shebao.registration.models import Finding
from tests.integration.registration.world import RegWorld, build_world, run_comparison_now

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def world(tmp_path: Path) -> RegWorld:
    w = build_world(tmp_path)
    run_comparison_now(w)
    return w


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_finding_detail_is_audited(world: RegWorld) -> None:
    finding = Finding.objects.filter(person=world.uninsured).first()
    assert finding is not None
    assert _client(world.clerk).get(f"/registration/findings/{finding.pk}/").status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.VIEW_PERSON, target_type="finding")
    assert (event.user, event.person_id, event.target_id) == (
        world.clerk,
        world.uninsured.pk,
        str(finding.pk),
    )
    assert event.purpose == Purpose.REGISTRATION


def test_survey_person_page_is_audited(world: RegWorld) -> None:
    url = f"/registration/survey/persons/{world.uninsured.pk}/"
    assert _client(world.clerk).get(url).status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.VIEW_PERSON, person_id=world.uninsured.pk)
    assert (event.user, event.purpose) == (world.clerk, Purpose.SURVEY)


def test_admin_person_pages_are_audited(world: RegWorld) -> None:
    admin = User.objects.create_superuser("root_admin", password="Admin-password-1")
    client = _client(admin)
    assert client.get(f"/admin/registry/person/{world.uninsured.pk}/change/").status_code == 200
    viewed = AuditEvent.objects.get(action=AuditAction.VIEW_PERSON, person_id=world.uninsured.pk)
    assert viewed.user == admin and viewed.purpose == Purpose.OTHER
    response = client.get("/admin/registry/person/", {"q": world.uninsured.id_number})
    assert response.status_code == 200
    searched = AuditEvent.objects.get(action=AuditAction.SEARCH_PERSON, user=admin)
    assert world.uninsured.id_number not in str(searched.detail)
