"""Which e-card status each physical card status implies."""

from __future__ import annotations

import pytest

from shebao.cards.domain.lifecycle import CardStatus
from shebao.ecard.domain.lifecycle import ISSUABLE_CARD_STATUSES, ECardStatus, ecard_status_for

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("card", "ecard"),
    [
        (CardStatus.ACTIVE, ECardStatus.ACTIVE),
        (CardStatus.ISSUED, ECardStatus.ACTIVE),
        (CardStatus.TEMPORARY_LOSS, ECardStatus.SUSPENDED),
        (CardStatus.LOST, ECardStatus.SUSPENDED),
        (CardStatus.CANCELLED, ECardStatus.ENDED),
        (CardStatus.VOID, ECardStatus.ENDED),
        # A replacement being made keeps the rebound e-card usable.
        (CardStatus.PENDING_PRODUCTION, ECardStatus.ACTIVE),
        (CardStatus.AWAITING_PICKUP, ECardStatus.ACTIVE),
    ],
)
def test_the_ecard_follows_its_card(card: CardStatus, ecard: ECardStatus) -> None:
    assert ecard_status_for(card) is ecard


def test_only_a_card_in_hand_and_in_use_gets_a_first_ecard() -> None:
    assert {CardStatus.ISSUED, CardStatus.ACTIVE} == ISSUABLE_CARD_STATUSES
    assert all(s.label for s in ECardStatus)
