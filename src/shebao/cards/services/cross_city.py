"""异地通办: a holder of one city's card served at another city's counter in the province.

Scope rules keep a clerk to the region of the clerk's organisation (and a bank to its own
customers). A holder who walks into another city's service hall or bank branch with the card
may still ask for the card services that protect or keep the card working, and only those:

* allowed: 临时挂失, 正式挂失, 解挂, 密码重置, 信息变更 (recorded on the card's history);
* not allowed across cities: 注销 (closes the holder's record in the home city), 补领/换领
  (a new card is made, fee charged and handed over by the home city's chain), activation
  (needs the account at the card's own bank), and any search by name or ID number alone.

What makes it safe: the holder is present with the card — the clerk enters the card number
read from the card and the ID number from the holder's ID card, and both must match the same
person; the card's home (issuing region, or the holder's household region) must be in the
same province as the clerk's organisation; a bank clerk serves only the bank's own cards.
Every lookup, refusal and business is audited with purpose 社保卡服务 and `cross_city` in
its detail, naming the home city, so the home city sees who served its holder.
"""

from __future__ import annotations

from typing import Final

from django.db import transaction

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Purpose
from shebao.accounts.models import User
from shebao.cards.domain.codes import normalize_card_code
from shebao.cards.domain.lifecycle import CardEvent
from shebao.cards.models import Card
from shebao.cards.services.card_life import COUNTER_ROLES, card_apply_event
from shebao.errors import PermissionDenied, ValidationFailed
from shebao.identity.id_number import normalize_id_number

__all__ = ["CROSS_CITY_EVENTS", "card_cross_city_find", "card_cross_city_service"]

CROSS_CITY_EVENTS: Final[dict[str, CardEvent]] = {
    "temporary_loss": CardEvent.REPORT_TEMPORARY_LOSS,
    "loss": CardEvent.REPORT_LOSS,
    "unlock": CardEvent.UNLOCK,
    "reset_pin": CardEvent.RESET_PIN,
    "change_information": CardEvent.CHANGE_INFORMATION,
}
_BANK_KINDS: Final[frozenset[str]] = frozenset(
    {OrganisationKind.BANK, OrganisationKind.BANK_BRANCH}
)


def _home_of(card: Card) -> str:
    return card.issuing_region_id or card.person.hukou_region_id or ""


def _refuse(actor: User, card: Card | None, why: str, code: str) -> PermissionDenied:
    """The refusal, audited in its own row (the caller raises it, so nothing rolls it back)."""
    audit_record(
        actor=actor,
        action=AuditAction.DENIED,
        target_type="card",
        target_id=card.pk if card else "",
        person_id=card.person_id if card else None,
        purpose=Purpose.CARD_SERVICE.value,
        detail={"cross_city": True, "reason": code},
    )
    return PermissionDenied(why, code=code)


def card_cross_city_find(*, actor: User, card_number: str, holder_id_number: str) -> Card:
    """The card a holder presents in person at a counter of another city in the province:
    card number and the holder's ID number must both match. Audited (viewed, or refused)."""
    if not (actor.is_superuser or actor.has_role(*COUNTER_ROLES)):
        raise PermissionDenied("您的角色不能办理该项卡片业务", code="CARD_SERVICE_FORBIDDEN")
    org = actor.organisation
    if org is None or not org.is_active:
        raise PermissionDenied("您不属于任何办理机构", code="NO_ORGANISATION")
    number = normalize_card_code(card_number)
    id_number = normalize_id_number(holder_id_number)
    if not number or not id_number:
        raise ValidationFailed(
            "异地办理须同时录入卡面卡号和持卡人身份证号码", code="CROSS_CITY_BOTH_REQUIRED"
        )
    card = Card.objects.select_related("person", "bank").filter(card_number=number).first()
    if card is None or card.person.id_number != id_number:
        raise _refuse(
            actor, card, "卡号与持卡人身份证号码不符，不能异地办理", "CROSS_CITY_MISMATCH"
        )
    if _home_of(card)[:2] != org.region_id[:2]:
        raise _refuse(
            actor, card, "该卡不是本省发行的社会保障卡，不能异地办理", "CROSS_CITY_OTHER_PROVINCE"
        )
    if org.kind in _BANK_KINDS:
        root = org.bank_root
        card_root = card.bank.bank_root if card.bank is not None else None
        if root is None or card_root is None or root.pk != card_root.pk:
            raise _refuse(
                actor, card, "银行网点只能为本行的持卡人异地办理", "CROSS_CITY_OTHER_BANK"
            )
    audit_record(
        actor=actor,
        action=AuditAction.VIEW_PERSON,
        target_type="card",
        target_id=card.pk,
        person_id=card.person_id,
        purpose=Purpose.CARD_SERVICE.value,
        detail={"masked": True, "via": "counter", "cross_city": True, "home": _home_of(card)},
    )
    return card


def card_cross_city_service(
    *, actor: User, card_number: str, holder_id_number: str, action: str, note: str = ""
) -> Card:
    """One card service for a holder of another city, present with the card (see the module
    docstring for what is allowed)."""
    event = CROSS_CITY_EVENTS.get(action)
    if event is None:
        raise ValidationFailed(
            "该业务不能异地办理，请到发卡地办理（可异地办理：临时挂失、正式挂失、解挂、密码重置、信息变更）",
            code="CROSS_CITY_NOT_ALLOWED",
        )
    if event is CardEvent.CHANGE_INFORMATION and not note.strip():
        raise ValidationFailed("请说明变更的信息项", code="CHANGE_WHAT_REQUIRED")
    card = card_cross_city_find(
        actor=actor, card_number=card_number, holder_id_number=holder_id_number
    )
    with transaction.atomic():
        changed, _ = card_apply_event(
            card_id=card.pk,
            event=event,
            actor=actor,
            channel="counter",
            note=(note.strip() + "（异地通办）") if note.strip() else "异地通办",
        )
    return changed
