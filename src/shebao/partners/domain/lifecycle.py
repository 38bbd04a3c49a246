"""A partner's life as an explicit state machine.

申请 (applied) → 已批准 (approved) ⇄ 已暂停 (suspended); any of them → 已终止 (ended), final.
Only an approved partner's terminals may call the platform. The card centre approves,
suspends, resumes and ends; each transition is one service in `partners.services`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from shebao.errors import ShebaoError

__all__ = ["TRANSITIONS", "PartnerEvent", "PartnerStatus", "PartnerTransitionError", "next_status"]


class PartnerStatus(StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    SUSPENDED = "suspended"
    ENDED = "ended"


class PartnerEvent(StrEnum):
    APPROVE = "approve"
    SUSPEND = "suspend"
    RESUME = "resume"
    END = "end"


STATUS_LABELS: Final[dict[str, str]] = {
    PartnerStatus.APPLIED: "已申请",
    PartnerStatus.APPROVED: "已批准",
    PartnerStatus.SUSPENDED: "已暂停",
    PartnerStatus.ENDED: "已终止",
}

EVENT_LABELS: Final[dict[str, str]] = {
    PartnerEvent.APPROVE: "批准",
    PartnerEvent.SUSPEND: "暂停",
    PartnerEvent.RESUME: "恢复",
    PartnerEvent.END: "终止",
}

TRANSITIONS: Final[dict[tuple[PartnerStatus, PartnerEvent], PartnerStatus]] = {
    (PartnerStatus.APPLIED, PartnerEvent.APPROVE): PartnerStatus.APPROVED,
    (PartnerStatus.APPROVED, PartnerEvent.SUSPEND): PartnerStatus.SUSPENDED,
    (PartnerStatus.SUSPENDED, PartnerEvent.RESUME): PartnerStatus.APPROVED,
    (PartnerStatus.APPLIED, PartnerEvent.END): PartnerStatus.ENDED,
    (PartnerStatus.APPROVED, PartnerEvent.END): PartnerStatus.ENDED,
    (PartnerStatus.SUSPENDED, PartnerEvent.END): PartnerStatus.ENDED,
}


class PartnerTransitionError(ShebaoError):
    def __init__(self, status: str, event: str) -> None:
        super().__init__(
            code="PARTNER_TRANSITION_NOT_ALLOWED",
            message=(
                f"合作机构当前状态为“{STATUS_LABELS.get(status, status)}”，"
                f"不能{EVENT_LABELS.get(event, event)}"
            ),
            status=409,
        )


def next_status(status: str, event: str) -> PartnerStatus:
    """The status after `event`, or PartnerTransitionError if not allowed from `status`."""
    try:
        return TRANSITIONS[(PartnerStatus(status), PartnerEvent(event))]
    except (KeyError, ValueError):
        raise PartnerTransitionError(status, event) from None
