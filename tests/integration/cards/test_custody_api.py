"""Custody API for partner systems along the card chain: a district office's system lists the
handovers addressed to it and the cards in its custody, confirms a handover by the card
numbers that arrived (missing and extra flagged, custody moving only for what arrived), and
dispatches cards onward — with its own token, its own organisation only, one error shape."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from shebao.accounts.models import User
from shebao.accounts.services import api_token_create
from shebao.cards.models import Card
from shebao.cards.selectors.custody import custody_invariant_violations
from shebao.cards.services.custody import handover_create
from tests.integration.cards.custody_world import build_chain, numbers

pytestmark = pytest.mark.django_db

BASE = "/api/v1/cards/custody"


def _token(user: User) -> dict[str, str]:
    _, raw = api_token_create(actor=user, owner=user, name="partner")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _post(client: Client, url: str, body: object, auth: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(url, json.dumps(body), content_type="application/json", **auth)


def test_a_district_system_confirms_a_handover_by_card_numbers_and_passes_cards_on() -> None:
    chain = build_chain()
    cards = chain.cards_at_centre(3)
    stray = chain.cards_at_centre(1)[0]  # not on the list, turns up anyway
    handover = handover_create(
        actor=chain.centre_clerk, to_organisation_id=chain.district.pk, card_numbers=numbers(cards)
    )
    client = Client()
    district = _token(chain.district_clerk)

    listed = client.get(f"{BASE}/handovers", **district).json()
    assert [h["number"] for h in listed] == [handover.number]
    assert sorted(listed[0]["card_numbers"]) == sorted(c.card_number for c in cards)
    assert listed[0]["from_organisation"] == chain.centre.code
    # The town sees nothing addressed to it, and cannot confirm the district's handover.
    town = _token(chain.town_clerk)
    assert client.get(f"{BASE}/handovers", **town).json() == []
    refused = _post(
        client, f"{BASE}/handovers/{handover.number}/confirm", {"card_numbers": []}, town
    )
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "HANDOVER_NOT_FOUND"
    # No token, no answer.
    assert client.get(f"{BASE}/cards").status_code == 401

    arrived = [cards[0].card_number, cards[1].card_number, stray.card_number]
    confirmed = _post(
        client, f"{BASE}/handovers/{handover.number}/confirm", {"card_numbers": arrived}, district
    )
    assert confirmed.status_code == 200, confirmed.content
    body = confirmed.json()
    assert sorted(body["received"]) == sorted(arrived[:2])
    assert body["missing"] == [cards[2].card_number]
    assert body["extra"] == [stray.card_number]
    custody = {c.card_number: c.custodian_id for c in Card.objects.all()}
    assert custody[cards[0].card_number] == custody[cards[1].card_number] == chain.district.pk
    assert custody[cards[2].card_number] == custody[stray.card_number] == chain.centre.pk
    assert not custody_invariant_violations().exists()

    held = client.get(f"{BASE}/cards", **district).json()
    assert held["organisation"] == chain.district.code and held["total"] == 2
    assert sorted(c["card_number"] for c in held["cards"]) == sorted(arrived[:2])
    assert all(c["status_label"] == "已制卡" for c in held["cards"])
    assert all(c["holder"] != p.name for c in held["cards"] for p in chain.people)  # masked
    # Confirming twice is refused.
    again = _post(
        client, f"{BASE}/handovers/{handover.number}/confirm", {"card_numbers": arrived}, district
    )
    assert again.status_code == 409, again.content

    # Onward to the town, by card numbers; a card the district does not hold refuses the lot.
    bad = _post(
        client,
        f"{BASE}/handovers",
        {"to_organisation": chain.town.code, "card_numbers": [*arrived[:2], cards[2].card_number]},
        district,
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"]
    sent = _post(
        client,
        f"{BASE}/handovers",
        {"to_organisation": chain.town.code, "card_numbers": arrived[:2]},
        district,
    )
    assert sent.status_code == 200 and sent.json()["status"] == "dispatched"
    assert [h["number"] for h in client.get(f"{BASE}/handovers", **town).json()] == [
        sent.json()["number"]
    ]


def test_a_bank_branch_may_list_but_not_handle_custody_it_has_no_role_for() -> None:
    chain = build_chain()
    branch = _token(chain.bank_clerk)
    client = Client()
    listed = client.get(f"{BASE}/cards", **branch)
    assert listed.status_code == 200 and listed.json()["total"] == 0
    refused = _post(
        client,
        f"{BASE}/handovers",
        {"to_organisation": chain.centre.code, "card_numbers": ["X"]},
        branch,
    )
    assert refused.status_code == 403
    assert client.get(f"{BASE}/cards", **_token(chain.other_bank_clerk)).status_code == 403
