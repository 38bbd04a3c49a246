"""The card as identity credential at a government service window: a clerk types the card
number and the person's record opens, audited with the purpose 办事."""

from __future__ import annotations

import pytest
from django.test import Client

from shebao.accounts.choices import AuditAction, OrganisationKind, Purpose, Role
from shebao.accounts.models import AuditEvent
from tests.factories import PASSWORD, make_org, make_user
from tests.integration.partners.world import build_partner_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_a_window_clerk_opens_a_person_by_card_number() -> None:
    world = build_partner_world()
    office = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420704", name="鄂城区卡办")
    clerk = make_user(Role.DISTRICT_CLERK, office)
    client = Client()
    assert client.login(username=clerk.username, password=PASSWORD)
    page = client.post("/partners/window/", {"card_number": world.card.card_number.lower()})
    assert page.status_code == 200
    text = page.content.decode()
    assert "王*明" in text or "王小明" in text
    assert world.holder.id_number not in text  # masked
    event = AuditEvent.objects.filter(action=AuditAction.VIEW_PERSON).get()
    assert event.person_id == world.holder.pk
    assert event.purpose == Purpose.SERVICE_WINDOW

    missing = client.post("/partners/window/", {"card_number": "123"}).content.decode()
    assert "社保卡号有误" in missing


def test_a_clerk_of_another_district_is_refused_and_that_is_audited() -> None:
    world = build_partner_world()
    office = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420702", name="梁子湖区卡办")
    clerk = make_user(Role.DISTRICT_CLERK, office)
    client = Client()
    assert client.login(username=clerk.username, password=PASSWORD)
    text = client.post(
        "/partners/window/", {"card_number": world.card.card_number}
    ).content.decode()
    assert "不在您的管辖范围内" in text
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, person_id=world.holder.pk).exists()


def test_a_partner_operator_sees_only_its_own_partner() -> None:
    world = build_partner_world()
    operator = make_user(Role.PARTNER_OPERATOR, world.hospital.organisation)
    client = Client()
    assert client.login(username=operator.username, password=PASSWORD)
    mine = client.get("/partners/mine/").content.decode()
    assert "HOSP-001" in mine and "BUS-001" not in mine
    assert client.get(f"/partners/{world.bus.pk}/").status_code == 403
    assert client.get("/partners/").status_code == 403


def test_the_card_centre_issues_a_terminal_secret_shown_once() -> None:
    world = build_partner_world()
    client = Client()
    world.centre_user.set_password("Shebao2026test")
    world.centre_user.save()
    assert client.login(username=world.centre_user.username, password="Shebao2026test")
    point = world.hospital.service_points.get()
    page = client.post(
        f"/partners/{world.hospital.pk}/terminals/",
        {"service_point": point.pk, "code": "hosp-002", "name": "自助机"},
    )
    text = page.content.decode()
    assert "HOSP-002" in text and "只显示这一次" in text
    again = client.get(f"/partners/{world.hospital.pk}/").content.decode()
    assert "HOSP-002" in again and "只显示这一次" not in again
