"""Reads of the e-card app: a person's e-card and the cards it may be issued for."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from shebao.cards.models import Card
from shebao.ecard.domain.lifecycle import ISSUABLE_CARD_STATUSES
from shebao.ecard.models import ECard, QrCode

__all__ = ["codes_issued_since", "ecard_of_person", "issuable_cards"]


def ecard_of_person(person_id: int) -> ECard | None:
    return ECard.objects.select_related("card").filter(person_id=person_id).first()


def issuable_cards(person_id: int) -> QuerySet[Card]:
    """The person's cards in hand and in use: those an e-card can be issued for."""
    return Card.objects.filter(
        person_id=person_id, status__in=[s.value for s in ISSUABLE_CARD_STATUSES]
    ).order_by("-issued_on", "-pk")


def codes_issued_since(ecard_id: int, since: datetime) -> int:
    """How many codes the e-card has shown since `since` (the page's refresh limit)."""
    return QrCode.objects.filter(ecard_id=ecard_id, expires_at__gt=since).count()
