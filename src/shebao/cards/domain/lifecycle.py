"""The card's life as an explicit state machine (issue §6), with its fee rules.

A card moves through three phases and never back: before issue (production and the custody
chain), with its holder, closed. Custody (who holds a card in the chain) is not a state of the
card: handovers change the custodian, not the status; the status changes when the card reaches
the point of issue (待领取), when it is recalled from there (回收), and when it is handed to
its holder (已发放). A card applied for online with postal delivery skips the chain: the card
centre mails it (已邮寄待签收, still in the centre's custody) and it is issued when the holder
or a clerk confirms receipt; a returned letter puts it back to 已制卡.

Replacement (补领) and renewal (换领) end the old card (作废) and start a new one at 待制卡:
`Transition.new_card` says so and `fee_for` prices it. PIN reset and information change are
recorded events that leave the status alone. A temporary loss report lapses after
`CardPolicy.temporary_loss_days` unless made formal: `effective_status` reads it, and a sweep
applies LAPSE_TEMPORARY_LOSS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Final

from shebao.errors import ShebaoError

__all__ = [
    "CARD_FILE_STATUSES",
    "DEFAULT_FREE_RENEWAL_REASONS",
    "HANDS_TO_HOLDER",
    "TRANSITIONS",
    "CardEvent",
    "CardPhase",
    "CardPolicy",
    "CardStatus",
    "CardTransitionError",
    "FeeKind",
    "FeeSchedule",
    "FeesNotConfigured",
    "RenewalReason",
    "Transition",
    "allowed_events",
    "apply_events",
    "effective_status",
    "fee_for",
    "temporary_loss_lapses_on",
    "transition",
]


class CardPhase(Enum):
    BEFORE_ISSUE = 1
    WITH_HOLDER = 2
    CLOSED = 3


class CardStatus(StrEnum):
    PENDING_PRODUCTION = "pending_production"
    PRODUCTION_FAILED = "production_failed"
    MADE = "made"
    AWAITING_PICKUP = "awaiting_pickup"
    MAILED = "mailed"
    ISSUED = "issued"
    ACTIVE = "active"
    TEMPORARY_LOSS = "temporary_loss"
    LOST = "lost"
    CANCELLED = "cancelled"
    VOID = "void"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def phase(self) -> CardPhase:
        if self in (CardStatus.CANCELLED, CardStatus.VOID):
            return CardPhase.CLOSED
        if self in (
            CardStatus.ISSUED,
            CardStatus.ACTIVE,
            CardStatus.TEMPORARY_LOSS,
            CardStatus.LOST,
        ):
            return CardPhase.WITH_HOLDER
        return CardPhase.BEFORE_ISSUE

    @property
    def is_terminal(self) -> bool:
        return self.phase is CardPhase.CLOSED


_STATUS_LABELS: Final[dict[CardStatus, str]] = {
    CardStatus.PENDING_PRODUCTION: "待制卡",
    CardStatus.PRODUCTION_FAILED: "制卡失败",
    CardStatus.MADE: "已制卡",
    CardStatus.AWAITING_PICKUP: "待领取",
    CardStatus.MAILED: "已邮寄待签收",
    CardStatus.ISSUED: "已发放",
    CardStatus.ACTIVE: "正常",
    CardStatus.TEMPORARY_LOSS: "临时挂失",
    CardStatus.LOST: "正式挂失",
    CardStatus.CANCELLED: "注销",
    CardStatus.VOID: "作废",
}

# The status words of card files exchanged with other systems (`--cards`): 挂失 without a
# qualifier is read as a formal loss.
CARD_FILE_STATUSES: Final[Mapping[str, CardStatus]] = {
    "正常": CardStatus.ACTIVE,
    "挂失": CardStatus.LOST,
    "临时挂失": CardStatus.TEMPORARY_LOSS,
    "正式挂失": CardStatus.LOST,
    "注销": CardStatus.CANCELLED,
}


class CardEvent(StrEnum):
    PRODUCTION_SUCCEEDED = "production_succeeded"
    PRODUCTION_FAILED = "production_failed"
    RESUBMIT = "resubmit"
    ARRIVE_FOR_PICKUP = "arrive_for_pickup"
    RECALL = "recall"
    ISSUE = "issue"
    MAIL = "mail"
    CONFIRM_DELIVERY = "confirm_delivery"
    RETURN_MAIL = "return_mail"
    ACTIVATE = "activate"
    REPORT_TEMPORARY_LOSS = "report_temporary_loss"
    LAPSE_TEMPORARY_LOSS = "lapse_temporary_loss"
    REPORT_LOSS = "report_loss"
    UNLOCK = "unlock"
    REPLACE = "replace"
    RENEW = "renew"
    RESET_PIN = "reset_pin"
    CHANGE_INFORMATION = "change_information"
    VOID = "void"
    CANCEL = "cancel"
    CANCEL_ON_DEATH = "cancel_on_death"
    # Custody records (cards.services.custody): a hop of the chain, a card short in a
    # handover and its finding. They change the custodian or nothing, never the status, so
    # they are not transitions of the table below.
    HANDOVER_RECEIVED = "handover_received"
    HANDOVER_SHORT = "handover_short"
    SHORTAGE_FOUND = "shortage_found"

    @property
    def label(self) -> str:
        return _EVENT_LABELS[self]


_EVENT_LABELS: Final[dict[CardEvent, str]] = {
    CardEvent.PRODUCTION_SUCCEEDED: "制卡成功",
    CardEvent.PRODUCTION_FAILED: "制卡失败",
    CardEvent.RESUBMIT: "重新提交制卡",
    CardEvent.ARRIVE_FOR_PICKUP: "到达发放点待领取",
    CardEvent.RECALL: "回收逾期未发放卡片",
    CardEvent.ISSUE: "发放（领卡签收）",
    CardEvent.MAIL: "卡管理中心邮寄到家",
    CardEvent.CONFIRM_DELIVERY: "邮寄签收",
    CardEvent.RETURN_MAIL: "邮件退回",
    CardEvent.ACTIVATE: "激活",
    CardEvent.REPORT_TEMPORARY_LOSS: "临时挂失",
    CardEvent.LAPSE_TEMPORARY_LOSS: "临时挂失到期自动解除",
    CardEvent.REPORT_LOSS: "正式挂失",
    CardEvent.UNLOCK: "解挂",
    CardEvent.REPLACE: "补领",
    CardEvent.RENEW: "换领",
    CardEvent.RESET_PIN: "密码重置",
    CardEvent.CHANGE_INFORMATION: "信息变更",
    CardEvent.VOID: "作废",
    CardEvent.CANCEL: "注销",
    CardEvent.CANCEL_ON_DEATH: "注销（持卡人死亡）",
    CardEvent.HANDOVER_RECEIVED: "交接接收",
    CardEvent.HANDOVER_SHORT: "交接短少（待核查）",
    CardEvent.SHORTAGE_FOUND: "短少卡片已找到",
}

_S = CardStatus
_E = CardEvent
_OPEN: Final[tuple[CardStatus, ...]] = tuple(s for s in CardStatus if not s.is_terminal)

# (event, from-status) → to-status. Everything not listed is refused. Choices the seeds leave
# open: a temporary loss (by phone or online) needs an activated card, so that its lapse can
# return it to 正常; a formal loss may be reported for an issued card not yet activated, and
# unlocking, done at the bank branch, activates it at the same time. A card lost before issue
# is voided by its custodian. 补领 needs a formal loss first; 换领 (damage, expiry, changed
# personal data) needs the card in the holder's hands and not reported lost.
TRANSITIONS: Final[Mapping[tuple[CardEvent, CardStatus], CardStatus]] = {
    (_E.PRODUCTION_SUCCEEDED, _S.PENDING_PRODUCTION): _S.MADE,
    (_E.PRODUCTION_FAILED, _S.PENDING_PRODUCTION): _S.PRODUCTION_FAILED,
    (_E.RESUBMIT, _S.PRODUCTION_FAILED): _S.PENDING_PRODUCTION,
    (_E.ARRIVE_FOR_PICKUP, _S.MADE): _S.AWAITING_PICKUP,
    (_E.RECALL, _S.AWAITING_PICKUP): _S.MADE,
    (_E.ISSUE, _S.AWAITING_PICKUP): _S.ISSUED,
    (_E.MAIL, _S.MADE): _S.MAILED,
    (_E.CONFIRM_DELIVERY, _S.MAILED): _S.ISSUED,
    (_E.RETURN_MAIL, _S.MAILED): _S.MADE,
    (_E.ACTIVATE, _S.ISSUED): _S.ACTIVE,
    (_E.REPORT_TEMPORARY_LOSS, _S.ACTIVE): _S.TEMPORARY_LOSS,
    (_E.LAPSE_TEMPORARY_LOSS, _S.TEMPORARY_LOSS): _S.ACTIVE,
    (_E.REPORT_LOSS, _S.ISSUED): _S.LOST,
    (_E.REPORT_LOSS, _S.ACTIVE): _S.LOST,
    (_E.REPORT_LOSS, _S.TEMPORARY_LOSS): _S.LOST,
    (_E.UNLOCK, _S.TEMPORARY_LOSS): _S.ACTIVE,
    (_E.UNLOCK, _S.LOST): _S.ACTIVE,
    (_E.REPLACE, _S.LOST): _S.VOID,
    (_E.RENEW, _S.ISSUED): _S.VOID,
    (_E.RENEW, _S.ACTIVE): _S.VOID,
    (_E.RESET_PIN, _S.ACTIVE): _S.ACTIVE,
    **{(_E.CHANGE_INFORMATION, s): s for s in _OPEN if s.phase is CardPhase.WITH_HOLDER},
    (_E.VOID, _S.MADE): _S.VOID,
    (_E.VOID, _S.AWAITING_PICKUP): _S.VOID,
    (_E.VOID, _S.MAILED): _S.VOID,
    (_E.VOID, _S.PRODUCTION_FAILED): _S.VOID,
    **{(_E.CANCEL, s): _S.CANCELLED for s in _OPEN},
    **{(_E.CANCEL_ON_DEATH, s): _S.CANCELLED for s in _OPEN},
}


# The events that put a card into its holder's hands: no organisation holds it afterwards.
HANDS_TO_HOLDER: Final[frozenset[CardEvent]] = frozenset({_E.ISSUE, _E.CONFIRM_DELIVERY})


class FeeKind(StrEnum):
    FIRST_ISSUE = "first_issue"
    REPLACEMENT = "replacement"
    RENEWAL = "renewal"


class RenewalReason(StrEnum):
    DAMAGED = "damaged"
    QUALITY = "quality"
    EXPIRED = "expired"
    INFORMATION_CHANGED = "information_changed"

    @property
    def label(self) -> str:
        return _RENEWAL_LABELS[self.value]

    @classmethod
    def parse(cls, value: str) -> RenewalReason | None:
        """The reason a form or request names, None for an empty or unknown value (`value in
        RenewalReason` raises TypeError for a plain string before Python 3.12)."""
        try:
            return cls(value)
        except ValueError:
            return None


_RENEWAL_LABELS: Final[dict[str, str]] = {
    "damaged": "人为损坏",
    "quality": "卡片质量问题或自然老化",
    "expired": "有效期满",
    "information_changed": "个人信息变更",
}


@dataclass(frozen=True, slots=True)
class Transition:
    event: CardEvent
    from_status: CardStatus
    to_status: CardStatus

    @property
    def changes_status(self) -> bool:
        return self.from_status is not self.to_status

    @property
    def new_card(self) -> FeeKind | None:
        """Whether the transition starts a new card (at 待制卡), and which fee applies."""
        if self.event is CardEvent.REPLACE:
            return FeeKind.REPLACEMENT
        if self.event is CardEvent.RENEW:
            return FeeKind.RENEWAL
        return None


class CardTransitionError(ShebaoError):
    def __init__(self, status: CardStatus, event: CardEvent) -> None:
        allowed = "、".join(e.label for e in allowed_events(status)) or "无（已终结）"
        super().__init__(
            code="CARD_INVALID_TRANSITION",
            message=f"卡片状态为“{status.label}”，不能办理“{event.label}”。可办理：{allowed}",
            status=409,
            details=[{"status": status.value, "event": event.value}],
        )
        self.card_status = status
        self.event = event


def transition(status: CardStatus, event: CardEvent) -> Transition:
    """The transition `event` makes from `status`; raises CardTransitionError if refused."""
    to = TRANSITIONS.get((event, status))
    if to is None:
        raise CardTransitionError(status, event)
    return Transition(event, status, to)


def allowed_events(status: CardStatus) -> tuple[CardEvent, ...]:
    return tuple(e for e in CardEvent if (e, status) in TRANSITIONS)


def apply_events(
    events: Iterable[CardEvent], start: CardStatus = CardStatus.PENDING_PRODUCTION
) -> CardStatus:
    """Fold events over a status, stopping at the first refused one (which raises)."""
    status = start
    for event in events:
        status = transition(status, event).to_status
    return status


DEFAULT_FREE_RENEWAL_REASONS: Final[frozenset[RenewalReason]] = frozenset(
    {RenewalReason.EXPIRED, RenewalReason.QUALITY}
)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """工本费 for a new card. The first card is always free (Panyu's rule, 首次申领不得收取
    工本费); 补领 after a loss costs `replacement`; 换领 costs `renewal` unless its reason is in
    `free_renewal_reasons` — by default expiry and a card that failed by itself (quality or
    ageing), not the holder's doing; damage by the holder and a change of personal data are
    charged. The card centre configures the amounts and the free reasons."""

    replacement: Decimal
    renewal: Decimal
    free_renewal_reasons: frozenset[RenewalReason] = DEFAULT_FREE_RENEWAL_REASONS

    def __post_init__(self) -> None:
        if self.replacement < 0 or self.renewal < 0:
            raise ValueError("工本费不能为负数")


class FeesNotConfigured(ShebaoError):
    def __init__(self) -> None:
        super().__init__(
            code="CARD_FEES_NOT_CONFIGURED",
            message="未配置补领、换领工本费标准，请先配置收费规则",
            status=409,
        )


@dataclass(frozen=True, slots=True)
class CardPolicy:
    """A card centre's life-cycle settings. `temporary_loss_days` is local practice (no seed
    gives it); `fees` None means the centre has not configured them yet."""

    temporary_loss_days: int = 5
    fees: FeeSchedule | None = None
    validity_years: int = 10

    def __post_init__(self) -> None:
        if self.temporary_loss_days < 1:
            raise ValueError("临时挂失有效天数应至少为1天")


def fee_for(
    kind: FeeKind,
    *,
    fees: FeeSchedule | None,
    renewal_reason: RenewalReason | None = None,
) -> Decimal:
    if kind is FeeKind.FIRST_ISSUE:
        return Decimal("0")
    if fees is None:
        raise FeesNotConfigured()
    if kind is FeeKind.REPLACEMENT:
        return fees.replacement
    if renewal_reason is None:
        raise ValueError("换领须说明原因")
    return Decimal("0") if renewal_reason in fees.free_renewal_reasons else fees.renewal


def temporary_loss_lapses_on(reported_on: date, policy: CardPolicy) -> date:
    """The first day on which a temporary loss report no longer holds."""
    return reported_on + timedelta(days=policy.temporary_loss_days)


def effective_status(
    status: CardStatus,
    *,
    temporary_loss_reported_on: date | None,
    today: date,
    policy: CardPolicy,
) -> CardStatus:
    """The status as of `today`: a temporary loss past its term reads as 正常 even before the
    sweep records the lapse."""
    if (
        status is CardStatus.TEMPORARY_LOSS
        and temporary_loss_reported_on is not None
        and today >= temporary_loss_lapses_on(temporary_loss_reported_on, policy)
    ):
        return CardStatus.ACTIVE
    return status
