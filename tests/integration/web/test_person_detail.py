from __future__ import annotations

import pytest
from django.test import Client

from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent
from shebao.identity.masking import mask_id_number
from shebao.registry.services import enrollment_create, person_update
from tests.integration.web.conftest import World

pytestmark = pytest.mark.integration


def _state_purpose(client: Client, pk: int, purpose: str = Purpose.CARD_SERVICE) -> None:
    response = client.post(f"/persons/{pk}/", {"purpose": purpose, "purpose_note": ""})
    assert response.status_code == 302


def test_without_a_purpose_the_page_asks_for_one(world: World, clerk_client: Client) -> None:
    page = clerk_client.get(f"/persons/{world.person.pk}/").content.decode()
    assert "请先选择查看个人信息的用途" in page
    assert mask_id_number(world.person.id_number) not in page
    assert (
        not AuditEvent.objects.filter(person_id=world.person.pk)
        .exclude(action=AuditAction.CREATE)
        .exists()
    )


def test_purpose_form_errors_are_in_chinese(world: World, clerk_client: Client) -> None:
    page = clerk_client.post(
        f"/persons/{world.person.pk}/", {"purpose": Purpose.OTHER, "purpose_note": "看"}
    ).content.decode()
    assert "须填写说明" in page


def test_person_page_is_masked_and_audited(world: World, clerk_client: Client) -> None:
    enrollment_create(
        actor=None,
        person=world.person,
        scheme_code="390",
        insurance_region_code="420704",
        start_date=world.person.birth_date.replace(year=2010),
    )
    person_update(
        actor=world.clerk,
        person_id=world.person.pk,
        changes={"phone": "13987654321"},
        reason="本人申请变更",
    )
    _state_purpose(clerk_client, world.person.pk)
    response = clerk_client.get(f"/persons/{world.person.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    for section in ("基本信息", "户籍与家庭", "参保情况", "变更记录"):
        assert section in page
    assert mask_id_number(world.person.id_number) in page
    assert world.person.id_number not in page
    assert "李*国" in page and "李建国" not in page
    assert "139****4321" in page and "13987654321" not in page
    # Household member, masked, with a link to her own page.
    assert mask_id_number(world.relative.id_number) in page
    assert world.relative.id_number not in page
    assert f"/persons/{world.relative.pk}/" in page
    assert "城乡居民基本医疗保险" in page
    assert "联系电话" in page and "本人申请变更" in page  # the change, its values hidden
    view = AuditEvent.objects.get(action=AuditAction.VIEW_PERSON, person_id=world.person.pk)
    assert view.user_id == world.clerk.pk
    assert view.purpose == Purpose.CARD_SERVICE
    assert view.channel == "web"


def test_reveal_shows_full_data_and_writes_a_reveal_row(world: World, clerk_client: Client) -> None:
    _state_purpose(clerk_client, world.person.pk)
    response = clerk_client.post(
        f"/persons/{world.person.pk}/reveal/",
        {"reveal-purpose": Purpose.OTHER, "reveal-purpose_note": "核对银行开户信息"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert world.person.id_number in page
    assert "李建国" in page
    assert "13812345678" in page
    assert "当前显示完整个人信息" in page
    # Household members stay masked even on a revealed page.
    assert world.relative.id_number not in page
    reveal = AuditEvent.objects.get(action=AuditAction.REVEAL_PERSON)
    assert reveal.person_id == world.person.pk
    assert reveal.user_id == world.clerk.pk
    assert reveal.purpose == Purpose.OTHER
    assert reveal.purpose_note == "核对银行开户信息"


def test_reveal_without_a_purpose_is_refused(world: World, clerk_client: Client) -> None:
    _state_purpose(clerk_client, world.person.pk)
    response = clerk_client.post(
        f"/persons/{world.person.pk}/reveal/", {"reveal-purpose": "", "reveal-purpose_note": ""}
    )
    page = response.content.decode()
    assert "请选择查看个人信息的用途" in page
    assert world.person.id_number not in page
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL_PERSON).exists()


def test_reveal_page_is_not_reachable_by_get(world: World, clerk_client: Client) -> None:
    response = clerk_client.get(f"/persons/{world.person.pk}/reveal/")
    assert response.status_code == 302
    assert response["Location"] == f"/persons/{world.person.pk}/"


def test_out_of_scope_person_is_refused_and_audited(world: World, clerk_client: Client) -> None:
    _state_purpose(clerk_client, world.outsider.pk)
    response = clerk_client.get(f"/persons/{world.outsider.pk}/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "该人员不在您的管辖范围内，无权查看" in page
    assert world.outsider.id_number not in page
    assert mask_id_number(world.outsider.id_number) not in page
    denied = AuditEvent.objects.get(action=AuditAction.DENIED)
    assert denied.person_id == world.outsider.pk
    assert denied.user_id == world.clerk.pk
    assert denied.purpose == Purpose.CARD_SERVICE


def test_out_of_scope_reveal_is_refused_too(world: World, clerk_client: Client) -> None:
    response = clerk_client.post(
        f"/persons/{world.outsider.pk}/reveal/",
        {"reveal-purpose": Purpose.DATA_CORRECTION, "reveal-purpose_note": ""},
    )
    assert response.status_code == 403
    assert world.outsider.id_number not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL_PERSON).exists()


def test_unknown_person_is_refused_like_one_outside_the_scope(
    world: World, clerk_client: Client
) -> None:
    # A clerk with a limited scope must not learn which persons exist elsewhere (#14).
    _state_purpose(clerk_client, world.person.pk)
    unknown = clerk_client.get("/persons/999999/")
    outside = clerk_client.get(f"/persons/{world.outsider.pk}/")
    assert unknown.status_code == outside.status_code == 403
    assert "未找到该人员，或该人员不在您的管辖范围内" in unknown.content.decode()
