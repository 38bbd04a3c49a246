"""Changing a card's status: the one door through which every life-cycle event passes."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User
from shebao.cards.domain.lifecycle import CardEvent, CardStatus, Transition, transition
from shebao.cards.models import Card, CardHistory


def card_apply_event(
    *,
    card_id: int,
    event: CardEvent,
    actor: User | None,
    channel: str = "",
    note: str = "",
) -> tuple[Card, Transition]:
    """Apply `event` to the card, locking its row so that two clerks acting at once produce
    one result: the second sees the first's status and is refused if the event no longer
    applies (CardTransitionError, code CARD_INVALID_TRANSITION)."""
    with transaction.atomic():
        card = Card.objects.select_for_update().get(pk=card_id)
        step = transition(CardStatus(card.status), event)
        now = timezone.now()
        card.status = step.to_status.value
        card.updated_at = now
        update_fields = ["status", "updated_at"]
        if event is CardEvent.REPORT_TEMPORARY_LOSS:
            card.temporary_loss_reported_on = timezone.localdate()
            update_fields.append("temporary_loss_reported_on")
        elif step.from_status is CardStatus.TEMPORARY_LOSS:
            card.temporary_loss_reported_on = None
            update_fields.append("temporary_loss_reported_on")
        card.save(update_fields=update_fields)
        CardHistory.objects.create(
            card=card,
            at=now,
            event=event.value,
            from_status=step.from_status.value,
            to_status=step.to_status.value,
            actor=actor if actor is not None and actor.pk is not None else None,
            organisation_id=actor.organisation_id if actor is not None else None,
            channel=channel,
            note=note[:255],
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="card",
            target_id=card.pk,
            person_id=card.person_id,
            detail={
                "event": event.value,
                "from": step.from_status.value,
                "to": step.to_status.value,
            },
        )
    return card, step
