"""The card as identity credential at a government service window (政务服务窗口): the clerk
types the card number or pastes the e-card QR text, and the person's record opens, audited
with the purpose 办事 (SERVICE_WINDOW) by `registry.selectors.person_detail`."""

from __future__ import annotations

from typing import Final

from shebao.accounts.choices import Purpose, Role
from shebao.accounts.models import User
from shebao.cards.domain.codes import validate_card_number
from shebao.cards.models import Card
from shebao.ecard.services.common import CARD_CENTRE_TERMINAL
from shebao.ecard.services.qr import qr_redeem
from shebao.errors import NotFound, PermissionDenied, ValidationFailed

__all__ = ["WINDOW_ROLES", "window_find_person"]

WINDOW_ROLES: Final[frozenset[str]] = frozenset(
    {
        Role.CARD_CENTRE_OPERATOR,
        Role.DISTRICT_CLERK,
        Role.TOWN_CLERK,
        Role.DEPARTMENT_CLERK,
        Role.SYSTEM_ADMIN,
    }
)
QR_PREFIX: Final[str] = "SBK1:"


def _person_by_qr(actor: User, text: str) -> int:
    """Redeem the holder's QR once as the card centre's own counter terminal (the e-card app
    refuses an expired, replayed, forged or revoked code with its own message)."""
    redeemed = qr_redeem(
        text,
        terminal_code=CARD_CENTRE_TERMINAL,
        fields=[],
        purpose=Purpose.SERVICE_WINDOW.value,
        actor=actor,
    )
    return int(redeemed.person_id)


def window_find_person(*, actor: User, card_number: str = "", qr_text: str = "") -> int:
    """The person id behind a card number or a QR text. The caller opens the record with
    `person_detail(..., purpose=SERVICE_WINDOW)`, which checks scope and audits."""
    if not (actor.is_superuser or actor.has_role(*WINDOW_ROLES)):
        raise PermissionDenied("只有窗口经办人员可以办理", code="WINDOW_CLERK_ONLY")
    qr_text = qr_text.strip()
    if qr_text:
        if not qr_text.startswith(QR_PREFIX):
            raise ValidationFailed("二维码内容无效：不是电子社保卡二维码", code="QR_INVALID")
        return _person_by_qr(actor, qr_text)
    check = validate_card_number(card_number or "")
    if not check.ok:
        raise ValidationFailed(
            "社保卡号有误：" + check.errors[0].message, code="INVALID_CARD_NUMBER"
        )
    person_id = (
        Card.objects.filter(card_number=check.normalized)
        .values_list("person_id", flat=True)
        .first()
    )
    if person_id is None:
        raise NotFound("未找到该社保卡", code="CARD_NOT_FOUND")
    return int(person_id)
