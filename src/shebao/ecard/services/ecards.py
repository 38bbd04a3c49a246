"""Issuing the e-card (签发) and keeping it with its physical card.

The holder's own issuance is two calls, with the real-name checks software can do: the ID
number and name against the registry, the card number (the holder's, in hand and in use),
and a one-time code sent to the phone on record:

    sent = ecard_issue_start(id_number=..., name=..., card_number=..., client=ip)
    ecard = ecard_issue_confirm(person_id=sent.person_id, card_id=sent.card_id,
                                code_id=sent.code_id, code=..., client=ip)

Failed identity checks are limited per ID number and per client address (Throttled); the
code expires after five minutes and allows five tries (`shebao.sms.services`). The card
centre's operator may issue without the code (`ecard_issue_by_operator`, audited), as the
``shebao ecard qr`` command does.

`ecards_follow_cards` / `ecard_follow_replacement` are called by the receivers of the cards
app's signals (`ecard.receivers`): loss suspends the e-card and revokes its live codes,
unlock restores it, cancellation ends it, 补领/换领 rebinds it to the new card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User
from shebao.cards.domain.lifecycle import CardEvent, CardStatus
from shebao.cards.models import Card
from shebao.cards.services.setwise import chunks
from shebao.ecard.domain.lifecycle import ISSUABLE_CARD_STATUSES, ECardStatus, ecard_status_for
from shebao.ecard.models import BusinessToken, ECard, QrCode
from shebao.ecard.services.common import client_key, person_key
from shebao.errors import NotFound, ValidationFailed
from shebao.identity.id_number import normalize_id_number
from shebao.identity.masking import mask_phone
from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person
from shebao.sms.services import Throttled, attempt_record, attempts_count, otp_issue, otp_verify

__all__ = [
    "IssueCodeSent",
    "ecard_follow_replacement",
    "ecard_issue_by_operator",
    "ecard_issue_confirm",
    "ecard_issue_start",
    "ecards_follow_cards",
]

OTP_PURPOSE: Final[str] = "ecard_issue"
IDENTIFY: Final[str] = "ecard.identify"
FAILURES_PER_PERSON: Final[int] = 5
PERSON_WINDOW: Final[timedelta] = timedelta(minutes=30)
FAILURES_PER_CLIENT: Final[int] = 30
CLIENT_WINDOW: Final[timedelta] = timedelta(minutes=10)
SMS_TEXT: Final[str] = (
    "【电子社保卡】您正在申领电子社保卡，验证码 {code}，{minutes} 分钟内有效。"
    "请勿告诉他人；如非本人操作，请忽略本短信。"
)
IDENTITY_MISMATCH: Final[str] = "身份信息核验未通过，请检查身份证号码、姓名和社会保障卡号。"


@dataclass(frozen=True, slots=True)
class IssueCodeSent:
    person_id: int
    card_id: int
    code_id: int
    phone_masked: str
    expires_at: datetime


def _subject(person_id: int, card_id: int) -> str:
    return f"person:{person_id}:card:{card_id}"


def _check_limits(*, id_key: str, client: str) -> None:
    if attempts_count(scope=IDENTIFY, key=id_key, within=PERSON_WINDOW, ok=False) >= (
        FAILURES_PER_PERSON
    ):
        raise Throttled(
            "该身份证号码核验失败次数过多，请 30 分钟后再试。", code="ECARD_PERSON_LIMIT"
        )
    if attempts_count(scope=IDENTIFY, key=client_key(client), within=CLIENT_WINDOW, ok=False) >= (
        FAILURES_PER_CLIENT
    ):
        raise Throttled("本机核验失败次数过多，请 10 分钟后再试。", code="ECARD_CLIENT_LIMIT")


def ecard_issue_start(
    *, id_number: str, name: str, card_number: str, client: str = ""
) -> IssueCodeSent:
    """Check the ID number, name and card number against the registry and the card, then
    send a one-time code to the phone on record. Refuses with one message whichever part was
    wrong (ECARD_IDENTITY), ECARD_CARD_NOT_USABLE for a card not in use (lost, not yet
    issued, cancelled), ECARD_NO_PHONE, or Throttled."""
    normalized = normalize_id_number(id_number or "")
    id_key = person_key(normalized, scope=IDENTIFY)
    _check_limits(id_key=id_key, client=client)
    person = Person.objects.filter(id_number=normalized).first() if len(normalized) == 18 else None
    card = (
        Card.objects.filter(card_number=(card_number or "").strip().upper(), person=person).first()
        if person is not None
        else None
    )
    ok = (
        person is not None
        and card is not None
        and person.name == (name or "").strip()
        and person.life_status != LifeStatus.DECEASED
    )
    with transaction.atomic():
        attempt_record(scope=IDENTIFY, key=id_key, ok=ok)
        attempt_record(scope=IDENTIFY, key=client_key(client), ok=ok)
        if not ok:
            audit_record(
                actor=None,
                username="citizen",
                action=AuditAction.DENIED,
                target_type="ecard",
                detail={"step": "issue_identify", "result": "identity_mismatch"},
            )
    if not ok or person is None or card is None:
        raise ValidationFailed(IDENTITY_MISMATCH, code="ECARD_IDENTITY")
    if CardStatus(card.status) not in ISSUABLE_CARD_STATUSES:
        raise ValidationFailed(
            f"该社会保障卡当前状态为“{CardStatus(card.status).label}”，不能申领电子社保卡；"
            "请使用已领取并正常使用的社会保障卡。",
            code="ECARD_CARD_NOT_USABLE",
        )
    if not person.phone:
        raise ValidationFailed(
            "登记信息中没有手机号码，请本人携带身份证到社保卡服务网点办理。",
            code="ECARD_NO_PHONE",
        )
    issued = otp_issue(
        purpose=OTP_PURPOSE,
        subject=_subject(person.pk, card.pk),
        phone=person.phone,
        text=SMS_TEXT,
        client=client,
    )
    return IssueCodeSent(
        person_id=person.pk,
        card_id=card.pk,
        code_id=issued.code_id,
        phone_masked=mask_phone(person.phone),
        expires_at=issued.expires_at,
    )


def ecard_issue_confirm(
    *, person_id: int, card_id: int, code_id: int, code: str, client: str = ""
) -> ECard:
    """Accept the one-time code (OTP_WRONG / OTP_EXPIRED / OTP_EXHAUSTED / OTP_USED
    otherwise) and issue the e-card bound to the card."""
    try:
        otp_verify(
            code_id=code_id, purpose=OTP_PURPOSE, subject=_subject(person_id, card_id), code=code
        )
    except ValidationFailed as exc:
        with transaction.atomic():
            audit_record(
                actor=None,
                username="citizen",
                action=AuditAction.DENIED,
                target_type="ecard",
                person_id=person_id,
                detail={"step": "issue_code", "code": exc.code},
            )
        raise
    return _issue(card_id=card_id, actor=None, username="citizen", channel="online")


def ecard_issue_by_operator(*, card_number: str, actor: User | None, username: str = "") -> ECard:
    """The card centre issues (or returns the existing) e-card for a card without the SMS
    step — its operator has the holder or the card in front of him; audited."""
    card = Card.objects.filter(card_number=(card_number or "").strip().upper()).first()
    if card is None:
        raise NotFound("未找到该社会保障卡", code="CARD_NOT_FOUND")
    existing = ECard.objects.filter(card=card).first()
    if existing is not None and existing.status != ECardStatus.ENDED.value:
        return existing
    return _issue(card_id=card.pk, actor=actor, username=username or "operator", channel="operator")


def _issue(*, card_id: int, actor: User | None, username: str, channel: str) -> ECard:
    now = timezone.now()
    with transaction.atomic():
        card = Card.objects.select_for_update().select_related("person").get(pk=card_id)
        if CardStatus(card.status) not in ISSUABLE_CARD_STATUSES:
            raise ValidationFailed(
                f"该社会保障卡当前状态为“{CardStatus(card.status).label}”，不能签发电子社保卡",
                code="ECARD_CARD_NOT_USABLE",
            )
        if card.person.life_status == LifeStatus.DECEASED:
            raise ValidationFailed("持卡人已登记死亡，不能签发电子社保卡", code="ECARD_DECEASED")
        ecard = ECard.objects.select_for_update().filter(person_id=card.person_id).first()
        if ecard is not None and ecard.card_id == card.pk and ecard.status == "active":
            return ecard
        if ecard is None:
            ecard = ECard(person_id=card.person_id)
        ecard.card = card
        ecard.status = ECardStatus.ACTIVE.value
        ecard.issued_at = now
        ecard.issued_channel = channel
        ecard.status_changed_at = now
        ecard.status_reason = "issued"
        ecard.save()
        audit_record(
            actor=actor,
            username=username,
            action=AuditAction.ISSUE_ECARD,
            target_type="ecard",
            target_id=ecard.pk,
            person_id=card.person_id,
            detail={"card": card.pk, "channel": channel},
        )
    return ecard


def _revoke_live_codes(ecard_ids: Sequence[int], now: datetime) -> None:
    for chunk in chunks(list(ecard_ids)):
        QrCode.objects.filter(
            ecard_id__in=list(chunk),
            redeemed_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).update(revoked_at=now)
        BusinessToken.objects.filter(
            ecard_id__in=list(chunk), revoked_at__isnull=True, expires_at__gt=now
        ).update(revoked_at=now)


def ecards_follow_cards(*, card_ids: Sequence[int], event: CardEvent, to_status: CardStatus) -> int:
    """Set the e-cards bound to `card_ids` to the status their cards now imply, set-based,
    revoking live QR codes and business tokens of those no longer active. Returns how many
    e-cards changed."""
    target = ecard_status_for(to_status)
    now = timezone.now()
    changed_ids: list[int] = []
    for chunk in chunks(list(card_ids)):
        qs = ECard.objects.filter(card_id__in=list(chunk)).exclude(status=target.value)
        if target is ECardStatus.ACTIVE:
            # An ended e-card is not brought back by its old card: only a new issue does that.
            qs = qs.exclude(status=ECardStatus.ENDED.value)
        ids = list(qs.values_list("pk", flat=True))
        if ids:
            ECard.objects.filter(pk__in=ids).update(
                status=target.value, status_changed_at=now, status_reason=event.value[:64]
            )
            changed_ids.extend(ids)
    if changed_ids and target is not ECardStatus.ACTIVE:
        _revoke_live_codes(changed_ids, now)
    if changed_ids:
        audit_record(
            actor=None,
            username="system",
            action=AuditAction.UPDATE,
            target_type="ecard",
            target_id=changed_ids[0] if len(changed_ids) == 1 else "",
            detail={"event": event.value, "to": target.value, "count": len(changed_ids)},
        )
    return len(changed_ids)


def ecard_follow_replacement(*, old_card_id: int, new_card_id: int, event: CardEvent) -> bool:
    """补领/换领: the e-card of the old card is bound to the new one, with the status the new
    card implies (usable while it is made). Returns whether an e-card was rebound."""
    ecard = ECard.objects.select_for_update().filter(card_id=old_card_id).first()
    if ecard is None:
        return False
    new_status = CardStatus(Card.objects.values_list("status", flat=True).get(pk=new_card_id))
    now = timezone.now()
    ecard.card_id = new_card_id
    ecard.status = ecard_status_for(new_status).value
    ecard.status_changed_at = now
    ecard.status_reason = event.value[:64]
    ecard.save(update_fields=["card", "status", "status_changed_at", "status_reason"])
    audit_record(
        actor=None,
        username="system",
        action=AuditAction.UPDATE,
        target_type="ecard",
        target_id=ecard.pk,
        person_id=ecard.person_id,
        detail={"event": event.value, "rebound_from": old_card_id, "to_card": new_card_id},
    )
    return True
