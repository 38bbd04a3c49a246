"""What a person following an application sees (申领进度): the application's own status
until a card exists, then the card's — made, on its way down the chain, awaiting pickup,
mailed, issued, activated — so that an application does not read 已制卡 for ever once the
card has moved on. Also the masking of a postal address for lists. Pure code."""

from __future__ import annotations

from typing import Final

from shebao.cards.domain.lifecycle import CardStatus

__all__ = ["IN_TRANSIT", "application_progress", "mask_address"]

IN_TRANSIT: Final[str] = "已制卡，正在送往发放点"

_CARD_PROGRESS: Final[dict[CardStatus, str]] = {
    CardStatus.PENDING_PRODUCTION: "制卡中",
    CardStatus.PRODUCTION_FAILED: "制卡失败",
    CardStatus.MADE: "已制卡",
    CardStatus.AWAITING_PICKUP: "已到发放点，待领取",
    CardStatus.MAILED: "已邮寄，待签收",
    CardStatus.ISSUED: "已发放",
    CardStatus.ACTIVE: "已激活",
    CardStatus.TEMPORARY_LOSS: "已激活（临时挂失）",
    CardStatus.LOST: "已发放（正式挂失）",
    CardStatus.CANCELLED: "卡已注销",
    CardStatus.VOID: "卡已作废",
}


def application_progress(
    application_label: str,
    card_status: str | None,
    *,
    custodian_is_card_centre: bool = True,
    postal_delivery: bool = False,
) -> str:
    """The progress to show for an application: its own label while it has no card, else
    where its card is. A made card that has left the card centre is in transit down the
    chain (已制卡，正在送往发放点); a postal card issued was received by post."""
    if not card_status:
        return application_label
    status = CardStatus(card_status)
    if status is CardStatus.MADE and not custodian_is_card_centre:
        return IN_TRANSIT
    if status is CardStatus.ISSUED and postal_delivery:
        return "已邮寄签收"
    return _CARD_PROGRESS[status]


def mask_address(value: str) -> str:
    """A postal address for lists: the first six characters (province, city, district as a
    rule) and the rest hidden."""
    value = value.strip()
    if len(value) <= 6:
        return value[:2] + "*" * max(len(value) - 2, 0)
    return value[:6] + "*" * min(len(value) - 6, 8)
