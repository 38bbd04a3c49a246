"""Postal delivery (邮寄到家) of cards applied for online: the card centre mails the card
instead of sending it down the village chain (handovers refuse such cards), recording the
tracking number, date and address; the holder confirms receipt on the self-service page or a
clerk records it, and the card is issued (已发放, no longer in any organisation's custody). A
returned letter puts the card back to 已制卡 at the card centre, to be mailed again.

Every step goes through `card_apply_event` (row lock, state machine, history, audit); the
dispatch row is written in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Purpose, Role
from shebao.accounts.models import Organisation, User
from shebao.cards.domain.lifecycle import CardEvent, CardStatus
from shebao.cards.models import Application, Card, PostalDispatch, PostalDispatchStatus
from shebao.cards.models.postal import PostalReturnReason
from shebao.cards.services.card_life import card_apply_event
from shebao.cards.services.numbering import card_centre_for
from shebao.errors import NotFound, PermissionDenied, ValidationFailed

__all__ = [
    "CONFIRMED_BY_CLERK",
    "CONFIRMED_BY_HOLDER",
    "MailingLabel",
    "postal_addresses_reveal",
    "postal_cards_ready",
    "postal_delivery_confirm",
    "postal_dispatch_record",
    "postal_dispatch_return",
    "postal_dispatches",
    "postal_mailing_list",
]

CONFIRMED_BY_HOLDER: Final[str] = "holder"
CONFIRMED_BY_CLERK: Final[str] = "clerk"
_TRACKING = re.compile(r"^[A-Z0-9]{8,32}$")


def _card_centre_of(actor: User) -> Organisation:
    org = actor.organisation
    if org is not None and org.kind == OrganisationKind.CARD_CENTRE:
        return org
    if actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN):
        # An administrator acts for the card centre serving their area (or the first one).
        centre = card_centre_for(org.region_id) if org is not None else None
        centre = centre or (
            Organisation.objects.filter(kind=OrganisationKind.CARD_CENTRE, is_active=True)
            .order_by("pk")
            .first()
        )
        if centre is not None:
            return centre
    raise PermissionDenied("只有社保卡管理中心可以办理邮寄", "NOT_CARD_CENTRE")


def postal_cards_ready(actor: User) -> QuerySet[Card]:
    """Cards made for online applications with postal delivery, at the actor's card centre,
    waiting to be mailed."""
    centre = _card_centre_of(actor)
    return (
        Card.objects.filter(
            status=CardStatus.MADE.value,
            custodian=centre,
            application__postal_delivery=True,
        )
        .select_related("person", "application")
        .order_by("card_number")
    )


def postal_dispatches(actor: User) -> QuerySet[PostalDispatch]:
    centre = _card_centre_of(actor)
    return PostalDispatch.objects.filter(card_centre=centre).select_related("card", "card__person")


def postal_dispatch_record(
    *,
    actor: User,
    card_number: str,
    tracking_number: str,
    mailed_on: date | None = None,
) -> PostalDispatch:
    """The card centre mails the card to the address given in the online application."""
    centre = _card_centre_of(actor)
    number = card_number.strip().upper()
    tracking = re.sub(r"\s+", "", tracking_number).upper()
    if not _TRACKING.match(tracking):
        raise ValidationFailed(
            "邮件单号应为 8 至 32 位字母或数字",
            code="TRACKING_NUMBER_INVALID",
            details=[{"field": "tracking_number", "reason": "格式不正确"}],
        )
    card = Card.objects.filter(card_number=number, custodian=centre).first()
    if card is None:
        raise NotFound("本中心保管的卡片中没有该卡号", code="POSTAL_CARD_NOT_HERE")
    application = Application.objects.filter(card=card).first()
    if application is None or not application.postal_delivery:
        raise ValidationFailed(
            "该卡不是网上申领邮寄到家的卡片，请按交接流程下发", code="POSTAL_NOT_REQUESTED"
        )
    with transaction.atomic():
        card, _ = card_apply_event(
            card_id=card.pk, event=CardEvent.MAIL, actor=actor, channel="post",
            note=f"邮件单号 {tracking}",
        )  # fmt: skip
        dispatch = PostalDispatch.objects.create(
            card=card,
            card_centre=centre,
            tracking_number=tracking,
            mailed_on=mailed_on or timezone.localdate(),
            address=application.postal_address,
            phone=application.phone,
            mailed_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="postal_dispatch",
            target_id=dispatch.pk,
            person_id=card.person_id,
            detail={"card": card.pk, "tracking_number": tracking},
        )
    return dispatch


def _open_dispatch(card_id: int) -> PostalDispatch:
    dispatch = (
        PostalDispatch.objects.select_for_update()
        .filter(card_id=card_id, status=PostalDispatchStatus.MAILED)
        .first()
    )
    if dispatch is None:
        raise NotFound("该卡没有在途的邮件", code="POSTAL_NOT_MAILED")
    return dispatch


def postal_delivery_confirm(
    *,
    actor: User | None,
    card_id: int,
    delivered_on: date | None = None,
) -> PostalDispatch:
    """Receipt of a mailed card: by its holder on the self-service page (`actor` None, the
    caller has checked the holder's identity) or recorded by a card-centre clerk. The card is
    issued and leaves the card centre's custody."""
    if actor is not None:
        centre = _card_centre_of(actor)
        if not PostalDispatch.objects.filter(card_id=card_id, card_centre=centre).exists():
            raise NotFound("本中心没有该卡的邮寄记录", code="POSTAL_NOT_MAILED")
    with transaction.atomic():
        dispatch = _open_dispatch(card_id)
        card_apply_event(
            card_id=card_id, event=CardEvent.CONFIRM_DELIVERY, actor=actor,
            channel="post", note=f"邮件单号 {dispatch.tracking_number}",
        )  # fmt: skip
        dispatch.status = PostalDispatchStatus.DELIVERED
        dispatch.delivered_on = delivered_on or timezone.localdate()
        dispatch.confirmed_by = CONFIRMED_BY_CLERK if actor is not None else CONFIRMED_BY_HOLDER
        dispatch.recorded_by = actor
        dispatch.save(update_fields=["status", "delivered_on", "confirmed_by", "recorded_by"])
        audit_record(
            actor=actor,
            username="" if actor is not None else "citizen",
            action=AuditAction.UPDATE,
            target_type="postal_dispatch",
            target_id=dispatch.pk,
            person_id=dispatch.card.person_id,
            detail={"delivered": True, "by": dispatch.confirmed_by},
        )
    return dispatch


def postal_dispatch_return(
    *, actor: User, card_id: int, reason: str, note: str = ""
) -> PostalDispatch:
    """The letter came back: the card is back at the card centre, 已制卡, and the reason the
    post gave (地址不详、查无此人、拒收…; 其他 with an explanation) is recorded, so the next
    mailing can be corrected."""
    centre = _card_centre_of(actor)
    if reason not in PostalReturnReason.values:
        raise ValidationFailed(
            "请选择邮件退回原因",
            code="POSTAL_RETURN_REASON_REQUIRED",
            details=[{"field": "reason", "reason": "必选"}],
        )
    why = PostalReturnReason(reason)
    note = note.strip()
    if why is PostalReturnReason.OTHER and not note:
        raise ValidationFailed(
            "退回原因为“其他”时须说明具体原因",
            code="POSTAL_RETURN_NOTE_REQUIRED",
            details=[{"field": "note", "reason": "必填"}],
        )
    with transaction.atomic():
        dispatch = _open_dispatch(card_id)
        if dispatch.card_centre_id != centre.pk:
            raise NotFound("本中心没有该卡的邮寄记录", code="POSTAL_NOT_MAILED")
        card_apply_event(
            card_id=card_id, event=CardEvent.RETURN_MAIL, actor=actor, channel="post",
            note=f"邮件单号 {dispatch.tracking_number} 退回：{why.label}"
            + (f"，{note}" if note else ""),
        )  # fmt: skip
        dispatch.status = PostalDispatchStatus.RETURNED
        dispatch.returned_on = timezone.localdate()
        dispatch.return_reason = why.value
        dispatch.note = note[:255]
        dispatch.recorded_by = actor
        dispatch.save(
            update_fields=["status", "returned_on", "return_reason", "note", "recorded_by"]
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="postal_dispatch",
            target_id=dispatch.pk,
            person_id=dispatch.card.person_id,
            detail={"returned": True, "reason": why.value},
        )
    return dispatch


# ---------------------------------------------------------------- full addresses and labels


def _purpose_or_refuse(purpose: str, purpose_note: str) -> Purpose:
    if purpose not in Purpose.values:
        raise ValidationFailed(
            "查看或导出完整邮寄地址须选择用途",
            code="PURPOSE_REQUIRED",
            details=[{"field": "purpose", "reason": "必选"}],
        )
    if purpose == Purpose.OTHER and not purpose_note.strip():
        raise ValidationFailed(
            "用途为“其他”时须说明", code="PURPOSE_NOTE_REQUIRED",
            details=[{"field": "purpose_note", "reason": "必填"}],
        )  # fmt: skip
    return Purpose(purpose)


def postal_addresses_reveal(
    *, actor: User, card_ids: Sequence[int], purpose: str, purpose_note: str = ""
) -> None:
    """A card-centre clerk asks to see the full postal addresses on the page (to check a
    returned letter, to answer the holder): one audit row with the purpose and the cards."""
    centre = _card_centre_of(actor)
    why = _purpose_or_refuse(purpose, purpose_note)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.VIEW_PERSON,
            target_type="postal_addresses",
            target_id=centre.pk,
            purpose=why.value,
            purpose_note=purpose_note.strip(),
            detail={"cards": list(card_ids)[:200], "count": len(card_ids), "masked": False},
        )


@dataclass(frozen=True)
class MailingLabel:
    card_number: str
    name: str
    phone: str
    address: str
    tracking_number: str = ""


def postal_mailing_list(
    *, actor: User, purpose: str, purpose_note: str = "", export: str = "labels"
) -> list[MailingLabel]:
    """The mailing list of the cards waiting to be mailed, with the full name, phone and
    address the applicant gave — for printing labels or the post office's list. Audited as an
    export with its purpose (and how: `export` is "labels" or "xlsx")."""
    centre = _card_centre_of(actor)
    why = _purpose_or_refuse(purpose, purpose_note)
    cards = list(postal_cards_ready(actor))
    labels = [
        MailingLabel(
            card_number=card.card_number,
            name=card.person.name,
            phone=card.application.phone or card.person.phone,
            address=card.application.postal_address,
        )
        for card in cards
    ]
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            target_type="postal_mailing_list",
            target_id=centre.pk,
            purpose=why.value,
            purpose_note=purpose_note.strip(),
            detail={"count": len(labels), "as": export, "masked": False},
        )
    return labels
