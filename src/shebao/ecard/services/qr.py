"""The dynamic QR code: issue (亮码), check offline, redeem online (扫码), and the business
token a redeem hands the terminal.

    issued = qr_issue(ecard)                      # IssuedQr: text (SBK1:…), expires_at
    png = qr_png(issued.text)                     # PNG bytes (segno)
    check = qr_verify(text)                       # offline, with the platform's keys: QrCheck
    redeemed = qr_redeem(text, terminal_code="T001", fields=["name", "card_number"])
    visit = business_token_check(redeemed.business_token, terminal_code="T001")

`qr_redeem` refuses with `QrRefused` whose `code` is EXPIRED, REPLAYED, FORGED, REVOKED,
UNKNOWN_KEY or MALFORMED and a Chinese message; every redeem, accepted or refused, is
audited (QR_REDEEM with the terminal, the fields released and the purpose; refusals as
DENIED). The caller (the partner API) decides which `fields` the terminal's scope allows;
`REDEEM_FIELDS` lists those that exist.
"""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import segno
from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import User
from shebao.ecard.domain.lifecycle import ECardStatus
from shebao.ecard.domain.qr import (
    QR_TTL_SECONDS,
    TOKEN_LENGTH,
    QrCheck,
    QrClaims,
    QrResult,
    qr_encode,
    qr_verify_offline,
)
from shebao.ecard.models import BusinessToken, ECard, QrCode
from shebao.ecard.services.common import QrRefused, token_hash
from shebao.ecard.services.keys import keys_signing, keys_verifiers
from shebao.errors import ShebaoError, ValidationFailed
from shebao.identity.masking import mask_id_number, mask_name

__all__ = [
    "BUSINESS_TOKEN_TTL",
    "REDEEM_FIELDS",
    "BusinessTokenInvalid",
    "IssuedQr",
    "Redeemed",
    "VisitToken",
    "business_token_check",
    "qr_issue",
    "qr_png",
    "qr_png_data_uri",
    "qr_redeem",
    "qr_verify",
]

BUSINESS_TOKEN_TTL: Final[timedelta] = timedelta(minutes=30)
# What a redeem can release, each only if the caller's scope allows it.
REDEEM_FIELDS: Final[dict[str, str]] = {
    "name": "姓名",
    "masked_name": "姓名（脱敏）",
    "id_number": "公民身份号码",
    "masked_id_number": "公民身份号码（脱敏）",
    "gender": "性别",
    "birth_date": "出生日期",
    "card_number": "社会保障卡号",
    "phone": "联系电话",
}


@dataclass(frozen=True, slots=True)
class IssuedQr:
    text: str
    issued_at: datetime
    expires_at: datetime
    kid: str


@dataclass(frozen=True, slots=True)
class Redeemed:
    ecard_id: int
    person_id: int
    card_number: str
    holder: dict[str, Any]  # only the fields asked for (and allowed by the caller)
    business_token: str
    business_token_expires_at: datetime


@dataclass(frozen=True, slots=True)
class VisitToken:
    ecard_id: int
    person_id: int
    fields: list[str]
    expires_at: datetime


class BusinessTokenInvalid(ShebaoError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(code=code, message=message, status=401)


def qr_issue(ecard: ECard, *, now: float | None = None) -> IssuedQr:
    """A fresh code for an active e-card (REVOKED refusal otherwise), valid 60 seconds."""
    if ecard.status != ECardStatus.ACTIVE.value:
        raise QrRefused(QrResult.REVOKED, "电子社保卡已暂停或终止，不能出示二维码")
    key = keys_signing()
    issued = int(now if now is not None else time.time())
    token = secrets.token_bytes(TOKEN_LENGTH)
    claims = QrClaims(
        token=token, issued_at=issued, expires_at=issued + QR_TTL_SECONDS, kid=key.kid
    )
    text = qr_encode(claims, key.private_key)
    issued_at = datetime.fromtimestamp(claims.issued_at, UTC)
    expires_at = datetime.fromtimestamp(claims.expires_at, UTC)
    QrCode.objects.create(
        token_hash=token_hash(token),
        ecard=ecard,
        kid=key.kid_hex,
        issued_at=issued_at,
        expires_at=expires_at,
    )
    return IssuedQr(text=text, issued_at=issued_at, expires_at=expires_at, kid=key.kid_hex)


def qr_png(text: str, *, scale: int = 6) -> bytes:
    """The code as a PNG (error correction M, a quiet zone of 4 modules)."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


# The holder's page draws a fresh code every minute: choosing the best of the eight masks
# (ISO/IEC 18004 §7.8.3, what segno does by default) is about four fifths of the cost of
# drawing one. Any mask is a valid code that every reader decodes (the format information
# names it); the penalty rules only avoid patterns that trouble poor scanners on paper, not
# a phone screen's code at full contrast. The file for print (`qr_png`) keeps the best mask.
PAGE_MASK: Final[int] = 4


def qr_png_data_uri(text: str, *, scale: int = 6) -> str:
    """The code for the holder's page (a data: URI of the PNG), drawn with `PAGE_MASK`."""
    code = segno.make(text, error="m", micro=False, mask=PAGE_MASK)
    return str(code.png_data_uri(scale=scale, border=4))


def qr_verify(text: str, *, now: float | None = None) -> QrCheck:
    """The offline check, with the platform's own published keys (what a terminal does)."""
    return qr_verify_offline(text, keys_verifiers(), now=time.time() if now is None else now)


def _holder_fields(ecard: ECard, fields: Sequence[str]) -> dict[str, Any]:
    person = ecard.person
    values: dict[str, Any] = {
        "name": person.name,
        "masked_name": mask_name(person.name),
        "id_number": person.id_number,
        "masked_id_number": mask_id_number(person.id_number),
        "gender": person.gender,
        "birth_date": person.birth_date.isoformat(),
        "card_number": ecard.card.card_number,
        "phone": person.phone,
    }
    return {f: values[f] for f in fields}


def _refuse(
    result: QrResult, *, terminal_code: str, actor: User | None, ecard: ECard | None = None
) -> QrRefused:
    with transaction.atomic():
        audit_record(
            actor=actor,
            username=f"terminal:{terminal_code}"[:150],
            action=AuditAction.DENIED,
            target_type="ecard_qr",
            target_id=ecard.pk if ecard is not None else "",
            person_id=ecard.person_id if ecard is not None else None,
            detail={"step": "qr_redeem", "code": result.value, "terminal": terminal_code},
        )
    return QrRefused(result)


def qr_redeem(
    text: str,
    *,
    terminal_code: str,
    fields: Sequence[str],
    purpose: str = Purpose.CARD_USE.value,
    actor: User | None = None,
    now: float | None = None,
) -> Redeemed:
    """Redeem a code once, for `terminal_code`: the holder's `fields` and a business token
    bound to the terminal (30 minutes). Raises QrRefused (see the module) or ValidationFailed
    (REDEEM_FIELD_UNKNOWN) for a field that does not exist."""
    unknown = [f for f in fields if f not in REDEEM_FIELDS]
    if unknown:
        raise ValidationFailed(f"不支持的信息项：{'、'.join(unknown)}", code="REDEEM_FIELD_UNKNOWN")
    if not terminal_code:
        raise ValidationFailed("缺少终端编码", code="TERMINAL_REQUIRED")
    at = time.time() if now is None else now
    check = qr_verify(text, now=at)
    if not check.ok or check.claims is None:
        raise _refuse(check.result, terminal_code=terminal_code, actor=actor)
    moment = datetime.fromtimestamp(at, UTC)
    qr = (
        QrCode.objects.select_related("ecard", "ecard__person", "ecard__card")
        .filter(token_hash=token_hash(check.claims.token))
        .first()
    )
    if qr is None:
        # Signed by our key yet never recorded: the key has leaked or the record is gone.
        raise _refuse(QrResult.FORGED, terminal_code=terminal_code, actor=actor)
    ecard = qr.ecard
    if qr.revoked_at is not None or ecard.status != ECardStatus.ACTIVE.value:
        raise _refuse(QrResult.REVOKED, terminal_code=terminal_code, actor=actor, ecard=ecard)
    if qr.redeemed_at is not None:
        raise _refuse(QrResult.REPLAYED, terminal_code=terminal_code, actor=actor, ecard=ecard)
    if moment >= qr.expires_at:
        raise _refuse(QrResult.EXPIRED, terminal_code=terminal_code, actor=actor, ecard=ecard)
    business = secrets.token_urlsafe(24)
    expires = moment + BUSINESS_TOKEN_TTL
    with transaction.atomic():
        # The conditional update is the once-only guarantee: of two terminals redeeming the
        # same code at once, exactly one changes the row.
        won = QrCode.objects.filter(
            pk=qr.pk, redeemed_at__isnull=True, revoked_at__isnull=True
        ).update(redeemed_at=moment, redeemed_by=terminal_code[:64])
        if won == 1:
            BusinessToken.objects.create(
                token_hash=token_hash(business.encode("ascii")),
                qr_code=qr,
                ecard=ecard,
                terminal_code=terminal_code[:64],
                fields=list(fields),
                issued_at=moment,
                expires_at=expires,
            )
            audit_record(
                actor=actor,
                username=f"terminal:{terminal_code}"[:150],
                action=AuditAction.QR_REDEEM,
                target_type="ecard",
                target_id=ecard.pk,
                person_id=ecard.person_id,
                purpose=purpose,
                detail={"terminal": terminal_code, "fields": list(fields), "qr": qr.pk},
            )
    if won != 1:
        raise _refuse(QrResult.REPLAYED, terminal_code=terminal_code, actor=actor, ecard=ecard)
    return Redeemed(
        ecard_id=ecard.pk,
        person_id=ecard.person_id,
        card_number=ecard.card.card_number,
        holder=_holder_fields(ecard, fields),
        business_token=business,
        business_token_expires_at=expires,
    )


def business_token_check(token: str, *, terminal_code: str) -> VisitToken:
    """The visit a business token stands for, if it is this terminal's, unexpired and not
    revoked (BUSINESS_TOKEN_INVALID, _EXPIRED, _WRONG_TERMINAL, _REVOKED otherwise)."""
    row = (
        BusinessToken.objects.select_related("ecard")
        .filter(token_hash=token_hash((token or "").encode("utf-8")))
        .first()
    )
    if row is None:
        raise BusinessTokenInvalid("业务令牌无效", code="BUSINESS_TOKEN_INVALID")
    if row.terminal_code != terminal_code:
        raise BusinessTokenInvalid("业务令牌不属于本终端", code="BUSINESS_TOKEN_WRONG_TERMINAL")
    if row.revoked_at is not None or row.ecard.status != ECardStatus.ACTIVE.value:
        raise BusinessTokenInvalid("业务令牌已作废", code="BUSINESS_TOKEN_REVOKED")
    if timezone.now() >= row.expires_at:
        raise BusinessTokenInvalid("业务令牌已过期，请重新扫码", code="BUSINESS_TOKEN_EXPIRED")
    return VisitToken(
        ecard_id=row.ecard_id,
        person_id=row.ecard.person_id,
        fields=list(row.fields),
        expires_at=row.expires_at,
    )
