from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent
from shebao.identity.masking import mask_id_number
from tests.factories import make_person
from tests.integration.web.conftest import PHOENIX, World

pytestmark = pytest.mark.integration


def _search(client: Client, q: str, purpose: str = Purpose.REGISTRATION, note: str = "") -> str:
    response = client.post(
        "/persons/", {"q": q, "purpose": purpose, "purpose_note": note}, follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def test_search_requires_a_purpose(world: World, clerk_client: Client) -> None:
    response = clerk_client.post("/persons/", {"q": world.person.id_number, "purpose": ""})
    page = response.content.decode()
    assert response.status_code == 200
    assert "请选择查看个人信息的用途" in page
    assert 'id="result-title"' not in page
    assert not AuditEvent.objects.filter(action=AuditAction.SEARCH_PERSON).exists()


def test_other_purpose_needs_a_note(world: World, clerk_client: Client) -> None:
    page = clerk_client.post(
        "/persons/", {"q": "李建国", "purpose": Purpose.OTHER, "purpose_note": ""}
    ).content.decode()
    assert "须填写说明" in page


def test_search_by_id_number_shows_a_masked_row_only(world: World, clerk_client: Client) -> None:
    page = _search(clerk_client, world.person.id_number)
    assert mask_id_number(world.person.id_number) in page
    assert "李*国" in page
    assert world.person.id_number not in page
    assert "李建国" not in page
    assert f"/persons/{world.person.pk}/" in page
    assert "共 1 人" in page


def test_the_query_stays_out_of_the_url(world: World, clerk_client: Client) -> None:
    response = clerk_client.post(
        "/persons/", {"q": world.person.id_number, "purpose": Purpose.REGISTRATION}
    )
    assert response.status_code == 302
    assert response["Location"] == "/persons/?page=1"


def test_search_by_name_lists_masked_rows_in_scope_only(world: World, clerk_client: Client) -> None:
    make_person("420704001202", name="李建华")  # 樊口村: not the clerk's village
    page = _search(clerk_client, "李建")
    assert "李*国" in page
    assert "李*华" not in page
    for person in (world.person, world.relative, world.outsider):
        assert person.id_number not in page


def test_invalid_id_number_is_explained_in_chinese(world: World, clerk_client: Client) -> None:
    good = world.person.id_number
    page = _search(clerk_client, good[:-1] + ("1" if good[-1] != "1" else "2"))
    assert "身份证号码有误" in page
    assert 'id="result-title"' not in page


def test_purpose_is_remembered_in_the_session(world: World, clerk_client: Client) -> None:
    _search(clerk_client, "李建国", purpose=Purpose.SURVEY)
    page = clerk_client.get("/persons/").content.decode()
    assert f'<option value="{Purpose.SURVEY}" selected>' in page
    # ... and used by the person page without asking again.
    clerk_client.get(f"/persons/{world.person.pk}/")
    view = AuditEvent.objects.get(action=AuditAction.VIEW_PERSON)
    assert view.purpose == Purpose.SURVEY


def test_every_result_page_is_audited(world: World, clerk_client: Client) -> None:
    _search(clerk_client, "李建国")
    clerk_client.get("/persons/?page=1")
    assert (
        AuditEvent.objects.filter(action=AuditAction.SEARCH_PERSON, user=world.clerk).count() == 2
    )


def test_results_are_paginated(world: World, clerk_client: Client) -> None:
    for i in range(25):
        make_person(PHOENIX, name="张伟", birth=date(1990, 1, 1 + i % 28))
    page1 = _search(clerk_client, "张伟")
    assert "共 25 人" in page1
    assert "第 1 / 2 页" in page1
    assert page1.count("<td>张*</td>") == 20
    page2 = clerk_client.get("/persons/?page=2").content.decode()
    assert page2.count("<td>张*</td>") == 5


def test_search_page_query_count_is_bounded(
    world: World,
    clerk_client: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for i in range(30):
        make_person(PHOENIX, name="刘洋", birth=date(1985, 6, 1 + i % 28))
    _search(clerk_client, "刘洋")
    # Session, user, roles, organisation and region, count, rows, audit row, session save:
    # a constant, however many rows the page shows.
    with django_assert_max_num_queries(14):
        response = clerk_client.get("/persons/?page=1")
    assert response.content.decode().count("<td>刘*</td>") == 20
