"""A card short in a handover (issue #10, item 11): it stays with the sender, its history says
so, and it waits in the discrepancy queue until found (at the receiver or the sender) or
confirmed lost."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from shebao.accounts.models import User
from shebao.cards.domain.custody import ShortageResolution
from shebao.cards.domain.lifecycle import CardEvent, CardStatus
from shebao.cards.models import Card, CardHistory, HandoverItem, ReceiptLine
from shebao.cards.selectors.custody import custody_invariant_violations, shortages_for
from shebao.cards.services.custody import (
    handover_confirm,
    handover_create,
    handover_shortage_resolve,
)
from shebao.errors import PermissionDenied, ValidationFailed
from tests.integration.cards.custody_world import Chain, build_chain, numbers, pass_down

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain() -> Chain:
    return build_chain()


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _events(card: Card) -> list[str]:
    return list(
        CardHistory.objects.filter(card=card).order_by("at", "pk").values_list("event", flat=True)
    )


def _short_at_village(chain: Chain, n: int = 3) -> tuple[list[Card], HandoverItem]:
    """Centre → district → town, then town → village with the last card not arriving."""
    cards = chain.cards_at_centre(n)
    pass_down(chain.centre_clerk, chain.district_clerk, chain.district, cards)
    pass_down(chain.district_clerk, chain.town_clerk, chain.town, cards)
    handover = handover_create(
        actor=chain.town_clerk, to_organisation_id=chain.village.pk, card_numbers=numbers(cards)
    )
    handover_confirm(
        actor=chain.village_clerk, handover_id=handover.pk, arrived=numbers(cards[:-1])
    )
    item = HandoverItem.objects.get(handover=handover, card=cards[-1])
    return cards, item


def test_a_short_card_stays_with_the_sender_with_its_history_and_in_the_queue(
    chain: Chain,
) -> None:
    cards, item = _short_at_village(chain)
    short = Card.objects.get(pk=cards[-1].pk)
    assert short.custodian_id == chain.town.pk and short.status == CardStatus.MADE
    assert _events(short)[-1] == CardEvent.HANDOVER_SHORT
    last = CardHistory.objects.filter(card=short).order_by("at", "pk").last()
    assert last is not None and item.handover.number in last.note and "短少" in last.note
    # Every hop that arrived is in the history of the cards that arrived.
    assert _events(cards[0]).count(CardEvent.HANDOVER_RECEIVED) == 3
    assert _events(short).count(CardEvent.HANDOVER_RECEIVED) == 2
    # Both sides see it in their queue; a stranger does not.
    assert list(shortages_for(actor=chain.town_clerk)) == [item]
    assert list(shortages_for(actor=chain.village_clerk)) == [item]
    assert list(shortages_for(actor=chain.other_village_clerk)) == []
    page = _client(chain.village_clerk).get(reverse("cards:shortages")).content.decode()
    assert short.card_number in page and item.handover.number in page
    home = _client(chain.town_clerk).get(reverse("cards:custody_home")).content.decode()
    assert "交接短少待处理 1 张" in home


def test_found_at_the_receiver_passes_custody_and_offers_it_for_pickup(chain: Chain) -> None:
    cards, item = _short_at_village(chain)
    with pytest.raises(PermissionDenied):
        handover_shortage_resolve(
            actor=chain.town_clerk, item_id=item.pk,
            resolution=ShortageResolution.FOUND_AT_RECEIVER,
        )  # fmt: skip
    response = _client(chain.village_clerk).post(
        reverse("cards:shortages"),
        {"item": item.pk, "resolution": "found_at_receiver", "note": "夹在另一盒中"},
        follow=True,
    )
    assert "已处理：已找到（接收单位已收到" in response.content.decode()
    short = Card.objects.get(pk=cards[-1].pk)
    assert (short.custodian_id, short.status) == (chain.village.pk, CardStatus.AWAITING_PICKUP)
    assert _events(short)[-2:] == [CardEvent.SHORTAGE_FOUND, CardEvent.ARRIVE_FOR_PICKUP]
    # On the same signing sheet as the others of that handover.
    assert ReceiptLine.objects.get(card=short).receipt.handover_id == item.handover_id
    assert list(shortages_for(actor=chain.village_clerk)) == []
    assert not custody_invariant_violations().exists()
    with pytest.raises(ValidationFailed) as again:
        handover_shortage_resolve(
            actor=chain.village_clerk, item_id=item.pk, resolution=ShortageResolution.LOST,
            note="x",
        )  # fmt: skip
    assert again.value.code == "SHORTAGE_ALREADY_RESOLVED"


def test_found_at_the_sender_can_be_sent_again(chain: Chain) -> None:
    cards, item = _short_at_village(chain)
    handover_shortage_resolve(
        actor=chain.town_clerk, item_id=item.pk, resolution=ShortageResolution.FOUND_AT_SENDER
    )
    short = Card.objects.get(pk=cards[-1].pk)
    assert short.custodian_id == chain.town.pk and _events(short)[-1] == CardEvent.SHORTAGE_FOUND
    pass_down(chain.town_clerk, chain.village_clerk, chain.village, [short])
    short.refresh_from_db()
    assert (short.custodian_id, short.status) == (chain.village.pk, CardStatus.AWAITING_PICKUP)


def test_lost_voids_the_card_and_needs_an_explanation(chain: Chain) -> None:
    cards, item = _short_at_village(chain)
    with pytest.raises(ValidationFailed) as missing_note:
        handover_shortage_resolve(
            actor=chain.town_clerk, item_id=item.pk, resolution=ShortageResolution.LOST
        )
    assert missing_note.value.code == "SHORTAGE_NOTE_REQUIRED"
    handover_shortage_resolve(
        actor=chain.town_clerk, item_id=item.pk, resolution=ShortageResolution.LOST,
        note="两级核查均未找到",
    )  # fmt: skip
    short = Card.objects.get(pk=cards[-1].pk)
    assert short.status == CardStatus.VOID and _events(short)[-1] == CardEvent.VOID
    settled = _client(chain.town_clerk).get(reverse("cards:shortages")).content.decode()
    assert "确认遗失（卡片作废）" in settled and "两级核查均未找到" in settled
    assert not custody_invariant_violations().exists()


def test_a_card_sent_again_can_no_longer_be_settled_as_short(chain: Chain) -> None:
    cards, item = _short_at_village(chain)
    pass_down(chain.town_clerk, chain.village_clerk, chain.village, [cards[-1]])
    with pytest.raises(ValidationFailed) as moved:
        handover_shortage_resolve(
            actor=chain.town_clerk, item_id=item.pk,
            resolution=ShortageResolution.FOUND_AT_SENDER,
        )  # fmt: skip
    assert moved.value.code == "SHORTAGE_CARD_MOVED"
