"""Signals of the card's life, for apps above cards (the e-card) that must follow a card at
once without cards importing them.

``card_status_changed`` is sent inside the transaction of every status change made by
`cards.services.card_life` (one card or a batch), after the new status is written:

    card_ids: list[int]      the cards changed (all from the same status, for a batch)
    event: CardEvent         what happened
    to_status: CardStatus    their new status

``card_replaced`` is sent inside the transaction of a 补领 / 换领, once the new card exists:

    old_card_id: int, new_card_id: int, event: CardEvent (REPLACE or RENEW)

Receivers run in the sender's transaction: an error in one rolls the card change back, so a
receiver must only do what belongs with the change.
"""

from __future__ import annotations

from django.dispatch import Signal

card_status_changed = Signal()
card_replaced = Signal()
