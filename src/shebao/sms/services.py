"""One-time codes and rate limits: issue a code by SMS (hashed at rest, five minutes, a
minute before a resend), verify it (five tries), and count attempts per key in a window."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shebao.errors import ShebaoError, ValidationFailed
from shebao.sms.backends import sms_send
from shebao.sms.models import Attempt, OneTimeCode

__all__ = [
    "CODE_ATTEMPTS",
    "CODE_TTL",
    "RESEND_AFTER",
    "IssuedCode",
    "Throttled",
    "attempt_record",
    "attempts_count",
    "keyed_hash",
    "otp_issue",
    "otp_verify",
]

CODE_TTL: Final[timedelta] = timedelta(minutes=5)
CODE_ATTEMPTS: Final[int] = 5
RESEND_AFTER: Final[timedelta] = timedelta(seconds=60)
CODES_PER_HOUR: Final[int] = 5
CODE_DIGITS: Final[int] = 6


def keyed_hash(value: str, *, salt: str = "") -> str:
    """HMAC-SHA256 of `value` under the secret key (hex): a key for personal data, a code
    at rest."""
    key = f"shebao.sms:{salt}:{settings.SECRET_KEY}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class Throttled(ShebaoError):
    """Too many attempts or codes: try again later (HTTP 429)."""

    def __init__(self, message: str, code: str = "THROTTLED") -> None:
        super().__init__(code=code, message=message, status=429)


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code_id: int
    expires_at: datetime


def otp_issue(*, purpose: str, subject: str, phone: str, text: str, client: str = "") -> IssuedCode:
    """Send a new code to `phone`; `text` holds ``{code}`` and ``{minutes}``. Refuses
    (OTP_RESEND_TOO_SOON, OTP_TOO_MANY_CODES) within a minute of the last code for the
    subject, or after five codes in an hour."""
    now = timezone.now()
    with transaction.atomic():
        recent = OneTimeCode.objects.select_for_update().filter(
            purpose=purpose, subject=subject, created_at__gte=now - timedelta(hours=1)
        )
        last = recent.order_by("-created_at").first()
        if last is not None and now - last.created_at < RESEND_AFTER:
            wait = int((RESEND_AFTER - (now - last.created_at)).total_seconds()) + 1
            raise Throttled(f"验证码已发送，请 {wait} 秒后再重新获取", code="OTP_RESEND_TOO_SOON")
        if recent.count() >= CODES_PER_HOUR:
            raise Throttled("一小时内获取验证码次数过多，请稍后再试", code="OTP_TOO_MANY_CODES")
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        salt = secrets.token_hex(16)
        row = OneTimeCode.objects.create(
            purpose=purpose,
            subject=subject,
            code_hash=keyed_hash(code, salt=salt),
            salt=salt,
            client=client[:64],
            created_at=now,
            expires_at=now + CODE_TTL,
        )
        # Sent inside the transaction: a gateway that refuses leaves no usable code behind.
        sms_send(
            phone=phone,
            text=text.format(code=code, minutes=int(CODE_TTL.total_seconds() // 60)),
        )
    return IssuedCode(code_id=row.pk, expires_at=row.expires_at)


def otp_verify(*, code_id: int, purpose: str, subject: str, code: str) -> None:
    """Accept the code once, within its time and tries; raises ValidationFailed with
    OTP_WRONG (tries left said), OTP_EXPIRED, OTP_EXHAUSTED or OTP_USED otherwise."""
    now = timezone.now()
    code = code.strip()
    with transaction.atomic():
        row = (
            OneTimeCode.objects.select_for_update()
            .filter(pk=code_id, purpose=purpose, subject=subject)
            .first()
        )
        if row is None or row.used_at is not None:
            raise ValidationFailed("验证码已失效，请重新获取", code="OTP_USED")
        if row.expires_at <= now:
            raise ValidationFailed("验证码已过期（5 分钟内有效），请重新获取", code="OTP_EXPIRED")
        if row.attempts >= CODE_ATTEMPTS:
            raise ValidationFailed("验证码错误次数过多，请重新获取", code="OTP_EXHAUSTED")
        row.attempts += 1
        good = hmac.compare_digest(row.code_hash, keyed_hash(code, salt=row.salt))
        if good:
            row.used_at = now
        row.save(update_fields=["attempts", "used_at"])
    if not good:
        left = CODE_ATTEMPTS - row.attempts
        if left <= 0:
            raise ValidationFailed("验证码错误次数过多，请重新获取", code="OTP_EXHAUSTED")
        raise ValidationFailed(f"验证码不正确，还可尝试 {left} 次", code="OTP_WRONG")


def attempt_record(*, scope: str, key: str, ok: bool) -> None:
    Attempt.objects.create(scope=scope, key=key[:64], ok=ok)


def attempts_count(*, scope: str, key: str, within: timedelta, ok: bool | None = None) -> int:
    qs = Attempt.objects.filter(scope=scope, key=key[:64], at__gte=timezone.now() - within)
    if ok is not None:
        qs = qs.filter(ok=ok)
    return qs.count()
