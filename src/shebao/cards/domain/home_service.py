"""Home-service appointments (上门服务) for holders who cannot come to a counter — the
elderly, the ill, the disabled — as a state machine: booked → assigned → visited, or
cancelled before the visit. Pure: no Django."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from shebao.errors import ValidationFailed

__all__ = [
    "HomeServiceEvent",
    "HomeServiceKind",
    "HomeServiceReason",
    "HomeServiceStatus",
    "home_service_transition",
]


class HomeServiceStatus(StrEnum):
    BOOKED = "booked"
    ASSIGNED = "assigned"
    VISITED = "visited"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: Final[dict[HomeServiceStatus, str]] = {
    HomeServiceStatus.BOOKED: "已预约",
    HomeServiceStatus.ASSIGNED: "已派单",
    HomeServiceStatus.VISITED: "已上门办结",
    HomeServiceStatus.CANCELLED: "已取消",
}


class HomeServiceEvent(StrEnum):
    ASSIGN = "assign"
    VISIT = "visit"
    CANCEL = "cancel"


class HomeServiceKind(StrEnum):
    APPLY = "apply"
    REPLACE = "replace"
    ACTIVATE = "activate"
    LOSS = "loss"
    CHANGE_INFORMATION = "change_information"
    OTHER = "other"


KIND_LABELS: Final[dict[str, str]] = {
    HomeServiceKind.APPLY: "申领社保卡（采集照片、签字）",
    HomeServiceKind.REPLACE: "补领、换领",
    HomeServiceKind.ACTIVATE: "激活、密码设置",
    HomeServiceKind.LOSS: "挂失、解挂",
    HomeServiceKind.CHANGE_INFORMATION: "信息变更",
    HomeServiceKind.OTHER: "其他",
}


class HomeServiceReason(StrEnum):
    ELDERLY = "elderly"
    ILL = "ill"
    DISABLED = "disabled"


REASON_LABELS: Final[dict[str, str]] = {
    HomeServiceReason.ELDERLY: "高龄老人",
    HomeServiceReason.ILL: "重病、卧床",
    HomeServiceReason.DISABLED: "残疾人",
}

_TRANSITIONS: Final[dict[tuple[HomeServiceStatus, HomeServiceEvent], HomeServiceStatus]] = {
    # A booking is assigned to the clerk who will visit; reassigning (another clerk) is
    # allowed until the visit.
    (HomeServiceStatus.BOOKED, HomeServiceEvent.ASSIGN): HomeServiceStatus.ASSIGNED,
    (HomeServiceStatus.ASSIGNED, HomeServiceEvent.ASSIGN): HomeServiceStatus.ASSIGNED,
    (HomeServiceStatus.ASSIGNED, HomeServiceEvent.VISIT): HomeServiceStatus.VISITED,
    (HomeServiceStatus.BOOKED, HomeServiceEvent.CANCEL): HomeServiceStatus.CANCELLED,
    (HomeServiceStatus.ASSIGNED, HomeServiceEvent.CANCEL): HomeServiceStatus.CANCELLED,
}


def home_service_transition(
    status: HomeServiceStatus, event: HomeServiceEvent
) -> HomeServiceStatus:
    """The status after `event`, or ValidationFailed (HOME_SERVICE_INVALID_TRANSITION)."""
    after = _TRANSITIONS.get((status, event))
    if after is None:
        raise ValidationFailed(
            f"预约当前为“{status.label}”，不能{_EVENT_WORDS[event]}",
            code="HOME_SERVICE_INVALID_TRANSITION",
        )
    return after


_EVENT_WORDS: Final[dict[HomeServiceEvent, str]] = {
    HomeServiceEvent.ASSIGN: "派单",
    HomeServiceEvent.VISIT: "登记上门办结",
    HomeServiceEvent.CANCEL: "取消",
}
