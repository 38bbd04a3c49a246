"""The e-card follows its physical card at once: receivers of the cards app's signals, run
inside the card change's transaction (connected in `EcardConfig.ready`)."""

from __future__ import annotations

from typing import Any

from shebao.cards.domain.lifecycle import CardEvent, CardStatus
from shebao.ecard.services.ecards import ecard_follow_replacement, ecards_follow_cards


def on_card_status_changed(
    sender: Any, *, card_ids: list[int], event: CardEvent, to_status: CardStatus, **_: Any
) -> None:
    ecards_follow_cards(card_ids=card_ids, event=event, to_status=to_status)


def on_card_replaced(
    sender: Any, *, old_card_id: int, new_card_id: int, event: CardEvent, **_: Any
) -> None:
    ecard_follow_replacement(old_card_id=old_card_id, new_card_id=new_card_id, event=event)
