"""The holder's sign-in (持卡人登录): by card number, or by ID number and name, then a
one-time code sent to the phone on record. The citizen portal and the OIDC provider use it:

    sent = holder_login_start(card_number="A12345678", client=ip)
    #   or holder_login_start(id_number="…", name="…", client=ip)
    user = holder_login_verify(person_id=sent.person_id, code_id=sent.code_id,
                               code="123456", client=ip)
    django.contrib.auth.login(request, user, backend=HOLDER_BACKEND)

`user` is the person's own `accounts.User` with the citizen role (made on first sign-in,
no password: only a code signs it in), linked one to one by `HolderAccount`;
`holder_person(user)` gives the person back. Failed identity checks are limited per
identifier and per client address; the code expires in five minutes and allows five tries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from django.db import IntegrityError, transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Role
from shebao.accounts.models import User, UserRole
from shebao.cards.domain.lifecycle import CardPhase, CardStatus
from shebao.cards.models import Card
from shebao.ecard.models import HolderAccount
from shebao.ecard.services.common import client_key, person_key
from shebao.errors import ValidationFailed
from shebao.identity.id_number import normalize_id_number
from shebao.identity.masking import mask_name, mask_phone
from shebao.registry.choices import LifeStatus
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
    "HOLDER_BACKEND",
    "LoginCodeSent",
    "holder_login_start",
    "holder_login_verify",
    "holder_person",
    "holder_user_for",
]

# Django's model backend: `login(request, user, backend=HOLDER_BACKEND)` after a verified code.
HOLDER_BACKEND: Final[str] = "django.contrib.auth.backends.ModelBackend"
OTP_PURPOSE: Final[str] = "holder_login"
IDENTIFY: Final[str] = "holder.identify"
FAILURES_PER_KEY: Final[int] = 5
KEY_WINDOW: Final[timedelta] = timedelta(minutes=30)
FAILURES_PER_CLIENT: Final[int] = 30
CLIENT_WINDOW: Final[timedelta] = timedelta(minutes=10)
SMS_TEXT: Final[str] = (
    "【电子社保卡】您正在登录社会保障卡服务，验证码 {code}，{minutes} 分钟内有效。"
    "请勿告诉他人；如非本人操作，请忽略本短信。"
)
MISMATCH: Final[str] = "登录信息核验未通过，请检查社会保障卡号，或身份证号码和姓名。"


@dataclass(frozen=True, slots=True)
class LoginCodeSent:
    person_id: int
    code_id: int
    phone_masked: str
    expires_at: datetime


def _find(card_number: str, id_number: str, name: str) -> tuple[Person | None, str]:
    """The person the identifiers name (or None) and the rate-limit key they count under."""
    if card_number.strip():
        number = card_number.strip().upper()
        key = keyed_hash(number, salt=IDENTIFY + ".card")
        with_holder = [s.value for s in CardStatus if s.phase is CardPhase.WITH_HOLDER]
        card = (
            Card.objects.select_related("person")
            .filter(card_number=number, status__in=with_holder)
            .first()
        )
        return (card.person if card is not None else None), key
    normalized = normalize_id_number(id_number or "")
    key = person_key(normalized, scope=IDENTIFY)
    person = Person.objects.filter(id_number=normalized).first() if len(normalized) == 18 else None
    if person is not None and person.name != (name or "").strip():
        person = None
    return person, key


def holder_login_start(
    *, card_number: str = "", id_number: str = "", name: str = "", client: str = ""
) -> LoginCodeSent:
    """Identify the holder and send a code to the phone on record. HOLDER_IDENTITY (one
    message whichever part was wrong), HOLDER_NO_PHONE, or Throttled."""
    person, key = _find(card_number or "", id_number or "", name or "")
    if attempts_count(scope=IDENTIFY, key=key, within=KEY_WINDOW, ok=False) >= FAILURES_PER_KEY:
        raise Throttled("核验失败次数过多，请 30 分钟后再试。", code="HOLDER_IDENTIFY_LIMIT")
    if (
        attempts_count(scope=IDENTIFY, key=client_key(client), within=CLIENT_WINDOW, ok=False)
        >= FAILURES_PER_CLIENT
    ):
        raise Throttled("本机核验失败次数过多，请 10 分钟后再试。", code="HOLDER_CLIENT_LIMIT")
    ok = person is not None and person.life_status != LifeStatus.DECEASED
    with transaction.atomic():
        attempt_record(scope=IDENTIFY, key=key, ok=ok)
        attempt_record(scope=IDENTIFY, key=client_key(client), ok=ok)
        if not ok:
            audit_record(
                actor=None,
                username="citizen",
                action=AuditAction.DENIED,
                target_type="holder_login",
                detail={"result": "identity_mismatch"},
            )
    if not ok or person is None:
        raise ValidationFailed(MISMATCH, code="HOLDER_IDENTITY")
    if not person.phone:
        raise ValidationFailed(
            "登记信息中没有手机号码，请本人携带身份证到社保卡服务网点办理。",
            code="HOLDER_NO_PHONE",
        )
    issued = otp_issue(
        purpose=OTP_PURPOSE,
        subject=f"person:{person.pk}",
        phone=person.phone,
        text=SMS_TEXT,
        client=client,
    )
    return LoginCodeSent(
        person_id=person.pk,
        code_id=issued.code_id,
        phone_masked=mask_phone(person.phone),
        expires_at=issued.expires_at,
    )


def holder_user_for(person: Person) -> User:
    """The person's citizen account, made on first use (username ``holder-<person id>``: no
    personal data; the display name masked; no usable password)."""
    account = HolderAccount.objects.select_related("user").filter(person=person).first()
    if account is not None:
        return account.user
    try:
        with transaction.atomic():
            user = User(username=f"holder-{person.pk}", full_name=mask_name(person.name))
            user.set_unusable_password()
            user.save()
            UserRole.objects.create(user=user, role=Role.CITIZEN)
            HolderAccount.objects.create(user=user, person=person)
            audit_record(
                actor=None,
                username="citizen",
                action=AuditAction.CREATE,
                target_type="holder_account",
                target_id=user.pk,
                person_id=person.pk,
            )
    except IntegrityError:
        # Two first sign-ins at once: the other made it.
        return HolderAccount.objects.select_related("user").get(person=person).user
    return user


def holder_login_verify(*, person_id: int, code_id: int, code: str, client: str = "") -> User:
    """Accept the code (OTP_WRONG / OTP_EXPIRED / OTP_EXHAUSTED / OTP_USED otherwise) and
    return the holder's citizen user. Audited (SSO_LOGIN for the holder's own sign-in)."""
    try:
        otp_verify(code_id=code_id, purpose=OTP_PURPOSE, subject=f"person:{person_id}", code=code)
    except ValidationFailed as exc:
        with transaction.atomic():
            audit_record(
                actor=None,
                username="citizen",
                action=AuditAction.DENIED,
                target_type="holder_login",
                person_id=person_id,
                detail={"result": "code_refused", "code": exc.code},
            )
        raise
    person = Person.objects.get(pk=person_id)
    user = holder_user_for(person)
    with transaction.atomic():
        HolderAccount.objects.filter(person=person).update(last_sign_in_at=timezone.now())
        audit_record(
            actor=user,
            action=AuditAction.SSO_LOGIN,
            target_type="holder_login",
            person_id=person.pk,
            detail={"verified_by": "sms_code"},
        )
    return user


def holder_person(user: object) -> Person | None:
    """The person a signed-in citizen user stands for (None for staff or anonymous)."""
    if not isinstance(user, User) or user.pk is None:
        return None
    account = HolderAccount.objects.select_related("person").filter(user_id=user.pk).first()
    return account.person if account is not None else None
