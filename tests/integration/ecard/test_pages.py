"""The holder's pages: sign-in required, apply with the SMS code (only for oneself), my e-card
with a fresh QR code that the JSON endpoint replaces, and the public key list."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from shebao.ecard.models import ECard
from shebao.ecard.services.holders import holder_user_for
from shebao.ecard.services.keys import keys_published
from shebao.ecard.services.qr import qr_redeem, qr_verify
from tests.integration.ecard.world import World, build_world, last_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path


@pytest.fixture
def world() -> World:
    return build_world()


def _holder_client(world: World, i: int = 0) -> Client:
    client = Client()
    client.force_login(holder_user_for(world.people[i]))
    return client


def test_an_anonymous_visitor_is_sent_to_the_sign_in_page() -> None:
    page = Client().get("/ecard/")
    assert page.status_code == 302 and "next=%2Fecard%2F" in page["Location"]


def test_apply_then_my_ecard_shows_a_code_that_the_page_refreshes(world: World) -> None:
    client = _holder_client(world)
    person, card = world.people[0], world.cards[0]
    page = client.get("/ecard/")
    assert "您还没有电子社保卡" in page.content.decode()
    page = client.post(
        "/ecard/apply/",
        {
            "step": "send",
            "id_number": person.id_number,
            "name": person.name,
            "card_number": card.card_number,
        },
    )
    assert "验证码已发送" in page.content.decode()
    page = client.post("/ecard/apply/", {"step": "verify", "code": last_code(person.phone)})
    assert page.status_code == 302 and page["Location"] == "/ecard/"
    assert ECard.objects.get(person=person).card_id == card.pk

    html = client.get("/ecard/").content.decode()
    assert 'data-testid="qr-image"' in html and "秒后自动刷新" in html
    assert "ecard/ecard.js" in html and "<script>" not in html
    text = html.split('data-text="')[1].split('"')[0]
    assert qr_verify(text).ok

    fresh = client.post("/ecard/qr/", HTTP_ACCEPT="application/json")
    body = fresh.json()
    assert fresh.status_code == 200 and body["ttl"] == 60
    assert body["text"] != text and body["image"].startswith("data:image/png;base64,")
    assert qr_redeem(body["text"], terminal_code="T", fields=[]).person_id == person.pk


def test_apply_with_someone_elses_details_is_refused(world: World) -> None:
    client = _holder_client(world, 0)
    other = world.people[1]
    page = client.post(
        "/ecard/apply/",
        {
            "step": "send",
            "id_number": other.id_number,
            "name": other.name,
            "card_number": world.cards[1].card_number,
        },
    )
    assert "只能为本人申领" in page.content.decode()
    assert not ECard.objects.exists()


def test_the_key_list_is_public_json() -> None:
    keys = keys_published()
    body = json.loads(Client().get("/ecard/keys.json").content)
    assert body["alg"] == "SM2-SM3" and body["signer_id"] == "1234567812345678"
    assert [k["kid"] for k in body["keys"]] == [k.kid for k in keys]
    assert body["keys"][0]["public_key"].startswith("04") and body["keys"][0]["current"]


def test_refreshing_is_limited_per_minute(world: World) -> None:
    from shebao.ecard.services.ecards import ecard_issue_by_operator

    ecard_issue_by_operator(card_number=world.cards[0].card_number, actor=world.clerk)
    client = _holder_client(world)
    statuses = [client.post("/ecard/qr/").status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20 and statuses[20] == 429
