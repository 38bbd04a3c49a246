"""Identity services for partner departments (身份认证、实名核验): a terminal's caller
context from its OAuth2 access token, verification by card number + name, ID number + name
or a redeemed e-card business token, QR redemption through the e-card app, and the person
data cut down to the partner's granted fields. Every call is rate-limited and audited.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from threading import Lock
from typing import Any, Final

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.context import current_request
from shebao.accounts.models import AuditEvent, User
from shebao.cards.domain.codes import validate_card_number
from shebao.cards.domain.lifecycle import CardPhase, CardStatus
from shebao.cards.models import Card
from shebao.ecard.services.qr import business_token_check, qr_redeem
from shebao.errors import PermissionDenied, ValidationFailed
from shebao.identity.id_number import validate_id_number
from shebao.identity.masking import mask_id_number, mask_name
from shebao.identity.names import normalize_name
from shebao.partners.choices import PartnerStatus
from shebao.partners.domain.scopes import PartnerService, PersonField, fields_allowed
from shebao.partners.models import Terminal, VerifiedPerson
from shebao.partners.selectors import (
    verify_card_with_holder,
    verify_current_card,
    verify_person_by_id_number,
)
from shebao.partners.services.ratelimit import rate_limit_take
from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person

__all__ = [
    "TerminalCaller",
    "Verification",
    "VerifyMethod",
    "current_card",
    "identity_verify",
    "person_fields",
    "person_ref",
    "qr_redeem_for_terminal",
    "require_service",
    "terminal_authenticate",
    "verification_body",
]

# A caller's context is kept this long in each process, so that a busy terminal's calls
# do not each read its token, terminal and partner again. A revoked token, a suspended
# partner or a withdrawn scope takes effect within this many seconds.
CALLER_CACHE_SECONDS: Final[float] = 10.0
_WITH_HOLDER: Final[frozenset[str]] = frozenset(
    s.value for s in CardStatus if s.phase is CardPhase.WITH_HOLDER
)
_WITH_HOLDER_ORDERED: Final[tuple[str, ...]] = tuple(sorted(_WITH_HOLDER))
_USABLE: Final[frozenset[str]] = frozenset({CardStatus.ISSUED, CardStatus.ACTIVE})


class VerifyMethod(StrEnum):
    CARD_NUMBER = "card_number"
    ID_NUMBER = "id_number"
    BUSINESS_TOKEN = "business_token"  # noqa: S105 (a method's name, not a secret)


@dataclass(frozen=True)
class TerminalCaller:
    """Who is calling: a terminal of a partner, with the partner's grants."""

    terminal_id: int
    terminal_code: str
    service_user: User
    partner_id: int
    partner_name: str
    partner_status: str
    fields: tuple[str, ...]
    services: tuple[str, ...]
    rate_limit_per_minute: int
    token_expires_at: float


_callers: dict[str, tuple[float, TerminalCaller]] = {}
_callers_lock = Lock()


def caller_cache_clear() -> None:
    """Tests and scope changes in the same process: drop every cached caller."""
    with _callers_lock:
        _callers.clear()
    with _verified_lock:
        _verified_known.clear()


def terminal_authenticate(raw_token: str) -> TerminalCaller | None:
    """The terminal behind a DOT access token (client-credentials grant), or None when the
    token is unknown, expired or belongs to no active terminal."""
    if not raw_token:
        return None
    checksum = hashlib.sha256(raw_token.encode()).hexdigest()
    now = time.time()
    with _callers_lock:
        hit = _callers.get(checksum)
    if hit is not None and hit[0] > now and hit[1].token_expires_at > now:
        return hit[1]
    token = (
        get_access_token_model()
        .objects.select_related("application")
        .filter(token_checksum=checksum)
        .first()
    )
    if token is None or token.is_expired() or token.application is None:
        return None
    terminal = (
        Terminal.objects.select_related("service_user", "service_point__partner__organisation")
        .filter(client_id=token.application.client_id, is_active=True)
        .first()
    )
    if terminal is None:
        return None
    partner = terminal.service_point.partner
    caller = TerminalCaller(
        terminal_id=terminal.pk,
        terminal_code=terminal.code,
        service_user=terminal.service_user,
        partner_id=partner.pk,
        partner_name=partner.organisation.name,
        partner_status=partner.status,
        fields=tuple(partner.granted_fields),
        services=tuple(partner.granted_services),
        rate_limit_per_minute=partner.rate_limit_per_minute,
        token_expires_at=token.expires.timestamp(),
    )
    with _callers_lock:
        if len(_callers) > 10_000:
            _callers.clear()
        _callers[checksum] = (now + CALLER_CACHE_SECONDS, caller)
    return caller


def require_service(caller: TerminalCaller, service: PartnerService) -> None:
    """The partner is approved and granted `service`; then one call is counted against its
    rate limit (HTTP 429 beyond it)."""
    if caller.partner_status != PartnerStatus.APPROVED:
        raise PermissionDenied(
            "本机构未获批准或已被暂停，不能调用身份服务", code="PARTNER_NOT_APPROVED"
        )
    if service not in caller.services:
        raise PermissionDenied("本机构未获授权使用该服务", code="SERVICE_NOT_GRANTED")
    rate_limit_take(partner_id=caller.partner_id, limit_per_minute=caller.rate_limit_per_minute)


def person_ref(*, partner_id: int, person_id: int) -> str:
    """A stable reference to a person for one partner only (a keyed hash): the partner
    matches change notifications to its records by it, and two partners cannot join their
    records by it."""
    key = hashlib.sha256(b"shebao.partners.person_ref:" + settings.SECRET_KEY.encode()).digest()
    mac = hmac.new(key, f"{partner_id}:{person_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def current_card(person_id: int) -> Card | None:
    return (
        Card.objects.filter(person_id=person_id, status__in=_WITH_HOLDER)
        .order_by("-created_at", "-pk")
        .first()
    )


def person_fields(person: Person, card: Card | None) -> dict[str, Any]:
    """Everything a partner could ever be granted about a person, keyed by PersonField."""
    return {
        PersonField.MASKED_NAME: mask_name(person.name),
        PersonField.FULL_NAME: person.name,
        PersonField.GENDER: person.get_gender_display(),
        PersonField.BIRTH_DATE: person.birth_date.isoformat(),
        PersonField.CARD_NUMBER: card.card_number if card is not None else None,
        PersonField.CARD_STATUS: CardStatus(card.status).label if card is not None else "无有效卡",
        PersonField.LIFE_STATUS: person.get_life_status_display(),
        PersonField.MASKED_ID_NUMBER: mask_id_number(person.id_number),
    }


@dataclass
class Verification:
    """The answer to a partner: yes/no, why not (a code), and on yes the person's
    reference for this partner and only the granted fields."""

    verified: bool
    reason: str = ""
    person_ref: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


REASONS: Final[dict[str, str]] = {
    "MISMATCH": "信息不一致或查无此人",
    "DECEASED": "该人员已登记死亡",
    "CARD_NOT_USABLE": "该卡已挂失、注销或尚未发放",
}


def verification_body(result: Verification) -> dict[str, Any]:
    """The JSON answer of `POST /api/v1/partners/verify` (the ninja route and the lean path
    of `shebao.partners.lean` give the same bytes)."""
    return {
        "verified": result.verified,
        "reason": result.reason,
        "message": "核验一致" if result.verified else REASONS.get(result.reason, ""),
        "person_ref": result.person_ref,
        "fields": result.fields,
    }


def _resolve_business_token(caller: TerminalCaller, token: str) -> int:
    """The person behind an e-card business token this terminal redeemed (the e-card app
    refuses an unknown, expired, revoked or another terminal's token)."""
    visit = business_token_check(token, terminal_code=caller.terminal_code)
    return int(visit.person_id)


_verified_known: set[tuple[int, int]] = set()
_verified_lock = Lock()


def _verified_already(partner_id: int, person: Person) -> bool:
    with _verified_lock:
        return (partner_id, person.pk) in _verified_known


def _remember_verified(partner_id: int, person: Person) -> None:
    """Record that the partner has verified the person (for the change feed), once: a pair
    this process has already written is not written again."""
    key = (partner_id, person.pk)
    with _verified_lock:
        if key in _verified_known:
            return
    VerifiedPerson.objects.bulk_create(
        [VerifiedPerson(partner_id=partner_id, person=person)], ignore_conflicts=True
    )

    def known() -> None:
        with _verified_lock:
            if len(_verified_known) > 200_000:
                _verified_known.clear()
            _verified_known.add(key)

    # Only once the row is committed: a rolled-back call must not be remembered.
    transaction.on_commit(known)


def _decide(
    *,
    caller: TerminalCaller,
    person: Person | None,
    card: Card | None,
    name: str | None,
    check_card: bool,
) -> Verification:
    if person is None:
        return Verification(verified=False, reason="MISMATCH")
    if name is not None and normalize_name(name) != person.name:
        return Verification(verified=False, reason="MISMATCH")
    if person.life_status == LifeStatus.DECEASED:
        return Verification(verified=False, reason="DECEASED")
    if check_card and (card is None or card.status not in _USABLE):
        return Verification(verified=False, reason="CARD_NOT_USABLE")
    if card is None:
        card = verify_current_card(person.pk, _WITH_HOLDER_ORDERED)
    return Verification(
        verified=True,
        person_ref=person_ref(partner_id=caller.partner_id, person_id=person.pk),
        fields=fields_allowed(person_fields(person, card), caller.fields),
    )


def identity_verify(
    *,
    caller: TerminalCaller,
    method: str,
    name: str | None = None,
    card_number: str | None = None,
    id_number: str | None = None,
    business_token: str | None = None,
) -> Verification:
    """实名核验: card number + name, ID number + name, or a redeemed business token. Audited
    (IDENTITY_VERIFY, purpose 身份核验, the partner and terminal) whatever the answer."""
    require_service(caller, PartnerService.VERIFY)
    person: Person | None = None
    card: Card | None = None
    if method == VerifyMethod.CARD_NUMBER:
        if not name or not card_number:
            raise ValidationFailed("请提供社保卡号和姓名", code="CARD_NUMBER_AND_NAME_REQUIRED")
        check = validate_card_number(card_number)
        if not check.ok:
            raise ValidationFailed("社保卡号格式有误", code="INVALID_CARD_NUMBER")
        card, person = verify_card_with_holder(check.normalized)
        result = _decide(caller=caller, person=person, card=card, name=name, check_card=True)
    elif method == VerifyMethod.ID_NUMBER:
        if not name or not id_number:
            raise ValidationFailed("请提供身份证号码和姓名", code="ID_NUMBER_AND_NAME_REQUIRED")
        id_check = validate_id_number(id_number)
        if not id_check.ok:
            raise ValidationFailed("身份证号码格式有误", code="INVALID_ID_NUMBER")
        person = verify_person_by_id_number(id_check.normalized)
        result = _decide(caller=caller, person=person, card=None, name=name, check_card=False)
    elif method == VerifyMethod.BUSINESS_TOKEN:
        if not business_token:
            raise ValidationFailed("请提供扫码获得的业务令牌", code="BUSINESS_TOKEN_REQUIRED")
        person_id = _resolve_business_token(caller, business_token)
        person = Person.objects.filter(pk=person_id).first()
        result = _decide(caller=caller, person=person, card=None, name=None, check_card=False)
    else:
        raise ValidationFailed("未知的核验方式", code="VERIFY_METHOD_INVALID")
    record_verified = (
        result.verified and person is not None and not _verified_already(caller.partner_id, person)
    )
    detail = {
        "partner": caller.partner_id,
        "terminal": caller.terminal_code,
        "method": method,
        "verified": result.verified,
        "reason": result.reason,
        "fields": sorted(result.fields),
    }
    if connection.vendor == "postgresql":
        _record_call_postgresql(caller, person, detail, record_verified=record_verified)
        return result
    # The audit row alone is one INSERT in autocommit (one round trip, durable before the
    # answer leaves); with a first verified-person row both go in one transaction.
    with transaction.atomic() if record_verified else contextlib.nullcontext():
        if record_verified and person is not None:
            _remember_verified(caller.partner_id, person)
        audit_record(
            actor=caller.service_user,
            action=AuditAction.IDENTITY_VERIFY,
            target_type="terminal",
            target_id=caller.terminal_id,
            person_id=person.pk if person is not None else None,
            purpose=Purpose.IDENTITY_VERIFICATION,
            detail=detail,
        )
    return result


_VERIFIED_TABLE: Final[str] = VerifiedPerson._meta.db_table
_AUDIT_TABLE: Final[str] = AuditEvent._meta.db_table
# The verified-person record (for the change feed, first time only) and the audit row in one
# statement: one round trip, atomic without BEGIN/COMMIT, durable (a synchronous commit)
# before the answer leaves. The rows are those of `_remember_verified` and `audit_record`.
_RECORD_CALL: Final[str] = (
    f"WITH verified AS (INSERT INTO {_VERIFIED_TABLE} (partner_id, person_id, first_at) "  # noqa: S608
    "SELECT %s, %s, %s WHERE %s "
    "ON CONFLICT (partner_id, person_id) DO NOTHING) "
    f"INSERT INTO {_AUDIT_TABLE} (at, user_id, username, organisation_id, action, target_type, "
    "target_id, person_id, purpose, purpose_note, ip_address, channel, detail) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, '', %s, %s, %s::jsonb)"
)


def _record_call_postgresql(
    caller: TerminalCaller, person: Person | None, detail: dict[str, Any], *, record_verified: bool
) -> None:
    """PostgreSQL: what the generic path below does in up to four round trips (BEGIN, the
    verified-person row, the audit row, COMMIT), in one."""
    now = timezone.now()
    user = caller.service_user
    context = current_request.get()
    person_id = person.pk if person is not None else None
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_CALL,
            [
                caller.partner_id,
                person_id,
                now,
                record_verified,
                now,
                user.pk,
                user.get_username()[:150],
                user.organisation_id,
                AuditAction.IDENTITY_VERIFY.value,
                "terminal",
                str(caller.terminal_id),
                person_id,
                Purpose.IDENTITY_VERIFICATION.value,
                context.ip_address,
                context.channel,
                json.dumps(detail),
            ],
        )
    if record_verified and person is not None:
        key = (caller.partner_id, person.pk)

        def known() -> None:
            with _verified_lock:
                if len(_verified_known) > 200_000:
                    _verified_known.clear()
                _verified_known.add(key)

        transaction.on_commit(known)


# Our field codes and the e-card app's names for the same data (what its audit row lists).
_ECARD_FIELD_NAMES: Final[dict[str, str]] = {
    PersonField.MASKED_NAME: "masked_name",
    PersonField.FULL_NAME: "name",
    PersonField.GENDER: "gender",
    PersonField.BIRTH_DATE: "birth_date",
    PersonField.CARD_NUMBER: "card_number",
    PersonField.MASKED_ID_NUMBER: "masked_id_number",
}


def qr_redeem_for_terminal(*, caller: TerminalCaller, text: str) -> dict[str, Any]:
    """扫码: redeem a holder's e-card QR once, as this terminal (the e-card app checks the
    SM2 signature, expiry, replay and revocation, and audits the redeem with the terminal).
    The answer: the one-time business token for this visit, the person's reference for
    this partner, and only the partner's granted fields (the same as a verification's)."""
    require_service(caller, PartnerService.REDEEM_QR)
    released = [_ECARD_FIELD_NAMES[f] for f in caller.fields if f in _ECARD_FIELD_NAMES]
    redeemed = qr_redeem(
        text.strip(),
        terminal_code=caller.terminal_code,
        fields=released,
        purpose=Purpose.IDENTITY_VERIFICATION.value,
        actor=caller.service_user,
    )
    person = Person.objects.get(pk=redeemed.person_id)
    card = Card.objects.filter(card_number=redeemed.card_number).first()
    _remember_verified(caller.partner_id, person)
    return {
        "ok": True,
        "business_token": redeemed.business_token,
        "business_token_expires_at": redeemed.business_token_expires_at.isoformat(),
        "person_ref": person_ref(partner_id=caller.partner_id, person_id=person.pk),
        "fields": fields_allowed(person_fields(person, card), caller.fields),
    }
