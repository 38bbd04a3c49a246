"""The e-card's life, which follows its physical card (一卡一码, bound one to one).

    active ──(card lost: 临时/正式挂失)──▶ suspended ──(card unlocked / loss lapsed)──▶ active
    active|suspended ──(card cancelled, or replaced with no new card)──▶ ended
    active|suspended ──(card replaced/renewed: 补领/换领)──▶ active, bound to the new card

`ecard_status_for` says which e-card status a bound card's status implies. A replacement card
still in production (待制卡…待领取) keeps the e-card usable: the holder's identity has not
changed and the e-card is what he or she carries meanwhile; a replacement that is itself
lost or cancelled suspends or ends the e-card like any card.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from shebao.cards.domain.lifecycle import CardPhase, CardStatus

__all__ = ["ISSUABLE_CARD_STATUSES", "ECardStatus", "ecard_status_for"]


class ECardStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS: Final[dict[ECardStatus, str]] = {
    ECardStatus.ACTIVE: "正常",
    ECardStatus.SUSPENDED: "暂停（实体卡挂失）",
    ECardStatus.ENDED: "已终止",
}

# An e-card is first issued only to the holder of a card in hand and in use.
ISSUABLE_CARD_STATUSES: Final[frozenset[CardStatus]] = frozenset(
    {CardStatus.ISSUED, CardStatus.ACTIVE}
)


def ecard_status_for(card_status: CardStatus) -> ECardStatus:
    """The e-card status implied by the status of the card it is bound to. VOID (the card was
    replaced) ends the e-card unless the caller rebinds it to the replacement first."""
    if card_status in (CardStatus.TEMPORARY_LOSS, CardStatus.LOST):
        return ECardStatus.SUSPENDED
    if card_status.phase is CardPhase.CLOSED:
        return ECardStatus.ENDED
    # In hand, or (a replacement) being made — a failed production is re-made, not abandoned.
    return ECardStatus.ACTIVE
