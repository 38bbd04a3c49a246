"""异地通办 at the counter page and through the bank counter API: a 黄石 clerk serves a holder of
鄂州's card (present with card and ID card); refusals are shown in Chinese, another province's
card is refused, and a wrong ID number is refused without telling whether the card exists
(issue #11 §6)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import AuditEvent, User
from shebao.accounts.services import api_token_create
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card, CardHistory
from shebao.geo.models import Region
from shebao.registry.models import Person
from tests.factories import make_card, make_org, make_person, make_regions, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

URL = "/cards/counter/cross-city/"
API = "/api/v1/cards/cross-city/service"


@pytest.fixture
def world() -> dict[str, object]:
    make_regions()
    Region.objects.create(
        code="420200", name="黄石市", level=2, parent_id="420000", prefix="4202",
        full_name="湖北省黄石市",
    )  # fmt: skip
    Region.objects.create(
        code="420202", name="黄石港区", level=3, parent_id="420200", prefix="420202",
        full_name="湖北省黄石市黄石港区",
    )  # fmt: skip
    make_org(OrganisationKind.CARD_CENTRE, "420700", name="鄂州市社会保障卡管理中心")
    huangshi = make_org(OrganisationKind.CARD_CENTRE, "420200", name="黄石市社会保障卡管理中心")
    hall = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420202", parent=huangshi)
    bank = make_org(OrganisationKind.BANK, "420000", name="某某银行湖北省分行")
    branch = make_org(OrganisationKind.BANK_BRANCH, "420202", parent=bank, name="某某银行黄石支行")
    holder = make_person("420704001201", name="李建国")
    card = make_card(holder, custodian=None, status="active", bank=bank)
    Card.objects.filter(pk=card.pk).update(issuing_region_id="420700")
    card.refresh_from_db()
    return {
        "clerk": make_user(Role.DISTRICT_CLERK, hall),
        "teller": make_user(Role.BANK_OPERATOR, branch),
        "card": card,
        "holder": holder,
    }


def _client(user: object) -> Client:
    assert isinstance(user, User)
    client = Client()
    client.force_login(user)
    return client


def _look_up(client: Client, card_number: str, id_number: str) -> str:
    response = client.post(
        URL, {"lookup": "1", "card_number": card_number, "holder_id_number": id_number}, follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_is_in_the_counter_menu(world: dict[str, object]) -> None:
    home = _client(world["clerk"]).get("/").content.decode()
    assert reverse("cards:cross_city") in home
    assert "异地通办" in home


def test_a_clerk_reports_a_temporary_loss_for_another_citys_holder(
    world: dict[str, object],
) -> None:
    card, holder = world["card"], world["holder"]
    assert isinstance(card, Card) and isinstance(holder, Person)
    client = _client(world["clerk"])
    page = _look_up(client, card.card_number, holder.id_number)
    assert '<dd data-testid="home-city">鄂州市</dd>' in page  # the home city
    assert "李建国" not in page and holder.id_number not in page  # masked
    assert f'<dd data-testid="card-status">{CardStatus.ACTIVE.label}</dd>' in page
    response = client.post(URL, {"action": "temporary_loss"}, follow=True)
    page = response.content.decode()
    assert "已办理（异地通办）" in page
    card.refresh_from_db()
    assert card.status == "temporary_loss"
    view = AuditEvent.objects.filter(action="view_person", person_id=holder.pk)
    assert view.exists()
    assert all(e.detail["cross_city"] and e.detail["home"] == "420700" for e in view)
    assert all(e.purpose == "card_service" for e in view)
    # The card's history says where it was done.
    assert CardHistory.objects.filter(card=card, note__contains="异地通办").exists()


def test_a_service_that_stays_with_the_home_city_is_refused_in_chinese(
    world: dict[str, object],
) -> None:
    card, holder = world["card"], world["holder"]
    assert isinstance(card, Card) and isinstance(holder, Person)
    client = _client(world["clerk"])
    page = _look_up(client, card.card_number, holder.id_number)
    assert "注销会关闭持卡人在发卡地的记录" in page  # the list of what stays home, with why
    page = client.post(URL, {"action": "cancel"}).content.decode()
    assert "该业务不能异地办理，请到发卡地办理" in page
    card.refresh_from_db()
    assert card.status == "active"


def test_another_provinces_card_is_refused(world: dict[str, object]) -> None:
    Region.objects.create(
        code="430000", name="湖南省", level=1, parent_id=None, prefix="43", full_name="湖南省"
    )
    Region.objects.create(
        code="430100", name="长沙市", level=2, parent_id="430000", prefix="4301",
        full_name="湖南省长沙市",
    )  # fmt: skip
    person = make_person("430100", name="张伟")
    card = make_card(person, custodian=None, status="active")
    client = _client(world["clerk"])
    page = _look_up(client, card.card_number, person.id_number)
    assert "该卡不是本省发行的社会保障卡，不能异地办理" in page
    assert 'data-testid="card-status"' not in page
    assert AuditEvent.objects.filter(
        action="denied", detail__reason="CROSS_CITY_OTHER_PROVINCE"
    ).exists()


def test_a_wrong_id_number_does_not_reveal_that_the_card_exists(
    world: dict[str, object],
) -> None:
    card = world["card"]
    assert isinstance(card, Card)
    other = make_person("420704001202", name="王秀英")
    client = _client(world["clerk"])
    wrong = _look_up(client, card.card_number, other.id_number)
    missing = _look_up(client, "Z99999999", other.id_number)
    refusal = "卡号与持卡人身份证号码不符，不能异地办理"
    assert refusal in wrong and refusal in missing
    assert 'data-testid="card-status"' not in wrong
    assert 'data-testid="home-city"' not in wrong
    # A business without a verified card does nothing.
    client.post(URL, {"action": "temporary_loss"})
    card.refresh_from_db()
    assert card.status == "active"


def test_a_role_outside_the_counter_cannot_open_the_page(world: dict[str, object]) -> None:
    auditor = make_user(Role.AUDITOR, None)
    response = _client(auditor).get(URL)
    assert "您的角色不能办理该项卡片业务" in response.content.decode()


def _token(user: object) -> dict[str, Any]:
    assert isinstance(user, User)
    _, raw = api_token_create(actor=user, owner=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_bank_counter_system_reports_a_loss_through_the_api(world: dict[str, object]) -> None:
    card, holder = world["card"], world["holder"]
    assert isinstance(card, Card) and isinstance(holder, Person)
    headers = _token(world["teller"])
    body = {"card_number": card.card_number, "holder_id_number": holder.id_number}
    ok = Client().post(
        API, {**body, "service": "temporary_loss"}, content_type="application/json", **headers
    )
    assert ok.status_code == 200, ok.content
    out = ok.json()
    assert out["status"] == "temporary_loss" and out["home_region"] == "420700"
    assert out["holder_name"] != "李建国"
    refused = Client().post(
        API, {**body, "service": "replace"}, content_type="application/json", **headers
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "CROSS_CITY_NOT_ALLOWED"
    wrong = Client().post(
        API,
        {**body, "holder_id_number": make_person("420702100201").id_number, "service": "unlock"},
        content_type="application/json",
        **headers,
    )
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "CROSS_CITY_MISMATCH"
    schema = _client(world["teller"]).get("/api/v1/openapi.json").json()
    assert "/api/v1/cards/cross-city/service" in schema["paths"]


def test_a_bank_cannot_serve_another_banks_card(world: dict[str, object]) -> None:
    holder = world["holder"]
    assert isinstance(holder, Person)
    other_bank = make_org(OrganisationKind.BANK, "420000", name="另一银行")
    person = make_person("420702100201", name="赵敏")
    card = make_card(person, custodian=None, status="active", bank=other_bank)
    response = Client().post(
        API,
        {
            "card_number": card.card_number,
            "holder_id_number": person.id_number,
            "service": "unlock",
        },
        content_type="application/json",
        **_token(world["teller"]),
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "CROSS_CITY_OTHER_BANK"
