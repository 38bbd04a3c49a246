"""The one signal the cards app listens to: a person saved as deceased.

The registry records a death with `registry.services.person_record_status`, which saves the
Person; Django sends `post_save`, and the cards app cancels that person's open cards in the
same transaction. The registry sits below the cards app and must not import it, so the
registry only does what it already does (save the person) and the cards app listens. Deaths
loaded in bulk (COPY, `registry.bulk`) send no signal; the sweep `shebao cards
cancel-deceased` catches those, and is idempotent.
"""

from __future__ import annotations

from typing import Any

from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person


def person_saved(sender: type[Person], instance: Person, **kwargs: Any) -> None:
    if instance.life_status != LifeStatus.DECEASED or kwargs.get("raw"):
        return
    from shebao.cards.services.card_life import cards_cancel_for_deceased

    cards_cancel_for_deceased(person_ids=[instance.pk])
