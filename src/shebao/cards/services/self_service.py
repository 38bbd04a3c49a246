"""The citizen's self-service identity: what one must know (ID number, name, the phone's
last four digits) and what one must hold (the phone on record, which receives a one-time
code), with rate limits per person and per client address rather than per address alone
(a village hall's shared connection must not lock out its village).

    sent = self_service_request_code(id_number=..., name=..., phone_last4=..., client=ip)
    person = self_service_verify(person_id=sent.person_id, code_id=sent.code_id, code=...,
                                 client=ip)

Only after `self_service_verify` may the page show the person's cards and applications or
act on them. The phone and the postal address are those on record: changing them is a
verified channel's work (the village committee or a card office counter with the ID card),
never the self-service page's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from django.db import transaction

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.clients import client_address
from shebao.errors import ValidationFailed
from shebao.identity.id_number import normalize_id_number
from shebao.identity.masking import mask_phone
from shebao.registry.models import Person
from shebao.sms.services import (
    Throttled,
    attempt_record,
    attempts_count,
    keyed_hash,
    otp_issue,
    otp_verify,
)

__all__ = [
    "CHANGE_CONTACT_HINT",
    "CodeSent",
    "client_address",
    "self_service_action_allowed",
    "self_service_postal_address",
    "self_service_request_code",
    "self_service_resend_code",
    "self_service_verify",
]

OTP_PURPOSE: Final[str] = "self_service"
IDENTIFY: Final[str] = "self_service.identify"
ACTION: Final[str] = "self_service.action"
# Failed identity checks: per ID number tried (guessing a known person's phone digits) and
# per client address (trying many people); successes count against neither.
FAILURES_PER_PERSON: Final[int] = 5
PERSON_WINDOW: Final[timedelta] = timedelta(minutes=30)
FAILURES_PER_CLIENT: Final[int] = 30
CLIENT_WINDOW: Final[timedelta] = timedelta(minutes=10)
# Applications and loss reports per verified person.
ACTIONS_PER_PERSON: Final[int] = 10
ACTION_WINDOW: Final[timedelta] = timedelta(minutes=10)

SMS_TEXT: Final[str] = (
    "【社会保障卡】您的验证码为 {code}，{minutes} 分钟内有效，仅用于本人查询和办理社保卡业务。"
    "请勿告诉他人；如非本人操作，请忽略本短信。"
)
CHANGE_CONTACT_HINT: Final[str] = (
    "手机号码和邮寄地址以登记信息为准，本页不能修改。如需变更，请本人携带身份证到户籍所在地"
    "村（居）委会或社保卡服务网点办理。"
)


@dataclass(frozen=True, slots=True)
class CodeSent:
    person_id: int
    code_id: int
    phone_masked: str
    expires_at: datetime


def _person_key(id_number: str) -> str:
    return keyed_hash(normalize_id_number(id_number), salt="self_service.person")


def _client_key(client: str) -> str:
    return "ip:" + (client or "unknown")


def _check_identify_limits(*, person_key: str, client: str) -> None:
    if (
        attempts_count(scope=IDENTIFY, key=person_key, within=PERSON_WINDOW, ok=False)
        >= FAILURES_PER_PERSON
    ):
        raise Throttled(
            "该身份证号码核验失败次数过多，请 30 分钟后再试，"
            "或本人携带身份证到社保卡服务网点办理。",
            code="SELF_SERVICE_PERSON_LIMIT",
        )
    if (
        attempts_count(scope=IDENTIFY, key=_client_key(client), within=CLIENT_WINDOW, ok=False)
        >= FAILURES_PER_CLIENT
    ):
        raise Throttled(
            "本机核验失败次数过多，请 10 分钟后再试。", code="SELF_SERVICE_CLIENT_LIMIT"
        )


def _send_code(person: Person, client: str) -> CodeSent:
    issued = otp_issue(
        purpose=OTP_PURPOSE,
        subject=f"person:{person.pk}",
        phone=person.phone,
        text=SMS_TEXT,
        client=client,
    )
    with transaction.atomic():
        audit_record(
            actor=None,
            username="citizen",
            action=AuditAction.CREATE,
            target_type="sms_code",
            target_id=issued.code_id,
            person_id=person.pk,
            detail={"purpose": OTP_PURPOSE},
        )
    return CodeSent(
        person_id=person.pk,
        code_id=issued.code_id,
        phone_masked=mask_phone(person.phone),
        expires_at=issued.expires_at,
    )


def self_service_request_code(
    *, id_number: str, name: str, phone_last4: str, client: str
) -> CodeSent:
    """Check what the citizen knows and send a one-time code to the phone on record.
    Raises Throttled (per person, per client) or ValidationFailed (SELF_SERVICE_IDENTITY,
    one message whichever part was wrong)."""
    normalized = normalize_id_number(id_number or "")
    person_key = _person_key(normalized)
    _check_identify_limits(person_key=person_key, client=client)
    person = Person.objects.filter(id_number=normalized).first() if len(normalized) == 18 else None
    last4 = (phone_last4 or "").strip()
    ok = (
        person is not None
        and person.name == (name or "").strip()
        and len(last4) == 4
        and bool(person.phone)
        and person.phone.endswith(last4)
    )
    with transaction.atomic():
        attempt_record(scope=IDENTIFY, key=person_key, ok=ok)
        attempt_record(scope=IDENTIFY, key=_client_key(client), ok=ok)
        if not ok:
            audit_record(
                actor=None,
                username="citizen",
                action=AuditAction.DENIED,
                target_type="card_self_service",
                detail={"result": "identity_mismatch"},
            )
    if not ok or person is None:
        raise ValidationFailed(
            "身份信息核验未通过，请检查身份证号码、姓名和预留手机号后四位。",
            code="SELF_SERVICE_IDENTITY",
        )
    return _send_code(person, client)


def self_service_resend_code(*, person_id: int, client: str) -> CodeSent:
    """A new code for a citizen who passed the identity check (throttled by `otp_issue`)."""
    person = Person.objects.filter(pk=person_id).first()
    if person is None or not person.phone:
        raise ValidationFailed("请重新核验身份", code="SELF_SERVICE_IDENTITY")
    return _send_code(person, client)


def self_service_verify(*, person_id: int, code_id: int, code: str, client: str) -> Person:
    """Accept the one-time code; the page may then show and act for the person. Audited
    (VIEW_PERSON for the citizen's own request, DENIED for a wrong code)."""
    subject = f"person:{person_id}"
    try:
        otp_verify(code_id=code_id, purpose=OTP_PURPOSE, subject=subject, code=code)
    except ValidationFailed as exc:
        with transaction.atomic():
            audit_record(
                actor=None,
                username="citizen",
                action=AuditAction.DENIED,
                target_type="card_self_service",
                person_id=person_id,
                detail={"result": "code_refused", "code": exc.code},
            )
        raise
    person = Person.objects.get(pk=person_id)
    with transaction.atomic():
        audit_record(
            actor=None,
            username="citizen",
            action=AuditAction.VIEW_PERSON,
            target_type="card_self_service",
            person_id=person.pk,
            purpose=Purpose.CITIZEN_REQUEST.value,
            detail={"result": "ok", "verified_by": "sms_code"},
        )
    return person


def self_service_action_allowed(*, person: Person) -> None:
    """Count one application or loss report for the verified person; Throttled past the
    limit (a person's retries, not the village hall's neighbours, use it up)."""
    key = _person_key(person.id_number)
    if attempts_count(scope=ACTION, key=key, within=ACTION_WINDOW) >= ACTIONS_PER_PERSON:
        raise Throttled("操作过于频繁，请 10 分钟后再试。", code="SELF_SERVICE_ACTION_LIMIT")
    attempt_record(scope=ACTION, key=key, ok=True)


def self_service_postal_address(person: Person) -> str:
    """The postal address on record (the household's address), or "" if there is none."""
    household = person.household
    return household.address.strip() if household is not None else ""
