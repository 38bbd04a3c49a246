"""A person's cards and card applications, for the back-office person page: masked card
numbers, status, where the card is, its history, and the applications with their progress.

The caller has already checked (and audited) that the actor may see the person
(`registry.selectors.person_detail`); these reads add no personal data beyond the card's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from django.db.models import Prefetch, Q

from shebao.accounts.choices import OrganisationKind
from shebao.cards.domain.lifecycle import CardEvent, CardStatus
from shebao.cards.domain.progress import application_progress
from shebao.cards.models import (
    Application,
    ApplicationChannel,
    ApplicationStatus,
    Card,
    CardHistory,
)
from shebao.registry.models import Person

__all__ = ["CardHistoryRow", "PersonApplicationRow", "PersonCardRow", "person_cards"]

# How a card event came about, in the clerk's words.
CHANNEL_LABELS: Final[dict[str, str]] = {
    "counter": "柜面",
    "bank": "银行网点",
    "online": "网上",
    "phone": "电话",
    "system": "系统自动",
    "vendor": "制卡厂商",
    "post": "邮政",
    "postal": "邮政",
    "pickup": "领卡发放",
    "handover": "交接",
    "centre": "卡管理中心",
    "instant": "即时制卡",
}
APPLICATIONS_SHOWN: Final[int] = 20


def mask_card_number(number: str) -> str:
    return "*" * max(len(number) - 4, 0) + number[-4:]


@dataclass(frozen=True)
class CardHistoryRow:
    at: datetime
    event: str
    from_status: str
    to_status: str
    organisation: str
    channel: str
    note: str


@dataclass(frozen=True)
class PersonCardRow:
    pk: int
    number: str
    status: str
    status_code: str
    is_open: bool
    bank: str
    custodian: str
    issued_on: date | None
    expires_on: date | None
    history: list[CardHistoryRow]


@dataclass(frozen=True)
class PersonApplicationRow:
    pk: int
    at: datetime
    channel: str
    progress: str
    reasons: str
    bank: str


@dataclass(frozen=True)
class PersonCards:
    cards: list[PersonCardRow]
    applications: list[PersonApplicationRow]


def _label(enum: type[CardEvent] | type[CardStatus], value: str) -> str:
    try:
        return str(enum(value).label)
    except ValueError:
        return value


def person_cards(*, person_id: int) -> PersonCards:
    person = Person.objects.only("pk", "id_number").get(pk=person_id)
    history = Prefetch(
        "history",
        queryset=CardHistory.objects.select_related("organisation").order_by("at", "pk"),
    )
    cards = (
        Card.objects.filter(person=person)
        .select_related("bank", "custodian")
        .prefetch_related(history)
        .order_by("-created_at", "-pk")
    )
    card_rows = [
        PersonCardRow(
            pk=card.pk,
            number=mask_card_number(card.card_number),
            status=_label(CardStatus, card.status),
            status_code=card.status,
            is_open=not CardStatus(card.status).is_terminal,
            bank=card.bank.name if card.bank is not None else "",
            custodian=card.custodian.name if card.custodian is not None else "",
            issued_on=card.issued_on,
            expires_on=card.expires_on,
            history=[
                CardHistoryRow(
                    at=h.at,
                    event=_label(CardEvent, h.event),
                    from_status=_label(CardStatus, h.from_status),
                    to_status=_label(CardStatus, h.to_status),
                    organisation=h.organisation.name if h.organisation is not None else "",
                    channel=CHANNEL_LABELS.get(h.channel, h.channel),
                    note=h.note,
                )
                for h in card.history.all()
            ],
        )
        for card in cards
    ]
    applications = (
        Application.objects.filter(Q(person=person) | Q(id_number=person.id_number))
        .select_related("bank", "card", "card__custodian")
        .order_by("-created_at", "-pk")[:APPLICATIONS_SHOWN]
    )
    app_rows = []
    for app in applications:
        card = app.card if app.card_id is not None else None
        status_label = (
            ApplicationStatus(app.status).label
            if app.status in ApplicationStatus.values
            else app.status
        )
        app_rows.append(
            PersonApplicationRow(
                pk=app.pk,
                at=app.created_at,
                channel=(
                    ApplicationChannel(app.channel).label
                    if app.channel in ApplicationChannel.values
                    else app.channel
                )
                + ("（邮寄到家）" if app.postal_delivery else ""),
                progress=application_progress(
                    status_label,
                    card.status if card is not None else None,
                    custodian_is_card_centre=card is None
                    or card.custodian is None
                    or card.custodian.kind == OrganisationKind.CARD_CENTRE,
                    postal_delivery=app.postal_delivery,
                ),
                reasons=app.messages if app.status == ApplicationStatus.INELIGIBLE else "",
                bank=app.bank.name if app.bank is not None else app.bank_name,
            )
        )
    return PersonCards(cards=card_rows, applications=app_rows)
