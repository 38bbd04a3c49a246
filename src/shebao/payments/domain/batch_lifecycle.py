"""A payment batch's life as an explicit state machine (issue #12 §1).

    draft ─check─▶ checked ─submit─▶ submitted ─approve─▶ approved ─export─▶ exported
    exported ─reconcile─▶ reconciled ─close─▶ closed   (exported ─close─▶ closed)
    draft | checked | submitted ─change─▶ draft         (a corrected batch is checked again)
    draft | checked | submitted ─cancel─▶ cancelled

A batch is prepared (imported or generated: 草稿), checked row by row (已校验), submitted for
approval (待审批) and approved by another clerk (已审批): approval freezes it. From then on its
rows are read only; the bank files are produced from it (已生成银行文件), the bank results
reconcile it (已对账) and it is closed (已办结). Until approval a batch may be cancelled
(已作废); a cancelled or closed batch is final.

Maker–checker: every clerk who prepared, changed, checked or submitted the batch is a maker;
no maker may approve it (`MakerCannotApprove`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from shebao.errors import ShebaoError

__all__ = [
    "EDITABLE",
    "FROZEN",
    "MAKER_EVENTS",
    "TRANSITIONS",
    "BatchEvent",
    "BatchStatus",
    "BatchTransitionError",
    "MakerCannotApprove",
    "Transition",
    "allowed_events",
    "ensure_not_maker",
    "transition",
]


class BatchStatus(StrEnum):
    DRAFT = "draft"
    CHECKED = "checked"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    EXPORTED = "exported"
    RECONCILED = "reconciled"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def is_frozen(self) -> bool:
        """Approved or later: the rows, amounts and snapshot no longer change."""
        return self in FROZEN

    @property
    def is_editable(self) -> bool:
        """Rows may be corrected or dropped (which sends the batch back to be checked)."""
        return self in EDITABLE

    @property
    def is_final(self) -> bool:
        return self in (BatchStatus.CLOSED, BatchStatus.CANCELLED)


_STATUS_LABELS: Final[dict[BatchStatus, str]] = {
    BatchStatus.DRAFT: "草稿（待校验）",
    BatchStatus.CHECKED: "已校验",
    BatchStatus.SUBMITTED: "待审批",
    BatchStatus.APPROVED: "已审批",
    BatchStatus.EXPORTED: "已生成银行文件",
    BatchStatus.RECONCILED: "已对账",
    BatchStatus.CLOSED: "已办结",
    BatchStatus.CANCELLED: "已作废",
}

FROZEN: Final[frozenset[BatchStatus]] = frozenset(
    {BatchStatus.APPROVED, BatchStatus.EXPORTED, BatchStatus.RECONCILED, BatchStatus.CLOSED}
)
EDITABLE: Final[frozenset[BatchStatus]] = frozenset(
    {BatchStatus.DRAFT, BatchStatus.CHECKED, BatchStatus.SUBMITTED}
)


class BatchEvent(StrEnum):
    PREPARE = "prepare"
    CHECK = "check"
    CHANGE = "change"
    SUBMIT = "submit"
    APPROVE = "approve"
    EXPORT = "export"
    RECONCILE = "reconcile"
    CLOSE = "close"
    CANCEL = "cancel"

    @property
    def label(self) -> str:
        return _EVENT_LABELS[self]


_EVENT_LABELS: Final[dict[BatchEvent, str]] = {
    BatchEvent.PREPARE: "制作批次",
    BatchEvent.CHECK: "逐行校验",
    BatchEvent.CHANGE: "更正或剔除明细",
    BatchEvent.SUBMIT: "提交审批",
    BatchEvent.APPROVE: "审批通过（冻结）",
    BatchEvent.EXPORT: "生成银行发放文件",
    BatchEvent.RECONCILE: "对账完成",
    BatchEvent.CLOSE: "办结",
    BatchEvent.CANCEL: "作废",
}

# The events that make their actor a maker of the batch (制单人): none of them may approve it.
MAKER_EVENTS: Final[frozenset[BatchEvent]] = frozenset(
    {BatchEvent.PREPARE, BatchEvent.CHECK, BatchEvent.CHANGE, BatchEvent.SUBMIT}
)

_S = BatchStatus
_E = BatchEvent

# (event, from-status) → to-status. Everything not listed is refused. A change (correcting or
# dropping a row) is allowed until approval and always sends the batch back to 草稿: the
# changed batch must be checked (and submitted) again before anyone approves it.
TRANSITIONS: Final[Mapping[tuple[BatchEvent, BatchStatus], BatchStatus]] = {
    (_E.CHECK, _S.DRAFT): _S.CHECKED,
    (_E.CHECK, _S.CHECKED): _S.CHECKED,
    (_E.CHANGE, _S.DRAFT): _S.DRAFT,
    (_E.CHANGE, _S.CHECKED): _S.DRAFT,
    (_E.CHANGE, _S.SUBMITTED): _S.DRAFT,
    (_E.SUBMIT, _S.CHECKED): _S.SUBMITTED,
    (_E.APPROVE, _S.SUBMITTED): _S.APPROVED,
    (_E.EXPORT, _S.APPROVED): _S.EXPORTED,
    (_E.RECONCILE, _S.EXPORTED): _S.RECONCILED,
    (_E.RECONCILE, _S.RECONCILED): _S.RECONCILED,
    (_E.CLOSE, _S.EXPORTED): _S.CLOSED,
    (_E.CLOSE, _S.RECONCILED): _S.CLOSED,
    (_E.CANCEL, _S.DRAFT): _S.CANCELLED,
    (_E.CANCEL, _S.CHECKED): _S.CANCELLED,
    (_E.CANCEL, _S.SUBMITTED): _S.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class Transition:
    event: BatchEvent
    from_status: BatchStatus
    to_status: BatchStatus

    @property
    def freezes(self) -> bool:
        return not self.from_status.is_frozen and self.to_status.is_frozen


class BatchTransitionError(ShebaoError):
    def __init__(self, status: BatchStatus, event: BatchEvent) -> None:
        allowed = "、".join(e.label for e in allowed_events(status)) or "无（已终结）"
        super().__init__(
            code="PAYMENT_BATCH_INVALID_TRANSITION",
            message=f"发放批次状态为“{status.label}”，不能办理“{event.label}”。可办理：{allowed}",
            status=409,
            details=[{"status": status.value, "event": event.value}],
        )
        self.batch_status = status
        self.event = event


class MakerCannotApprove(ShebaoError):
    def __init__(self) -> None:
        super().__init__(
            code="PAYMENT_MAKER_CANNOT_APPROVE",
            message="制作、校验、更正或提交本批次的经办人不能审批本批次，请由其他经办人审批",
            status=403,
        )


def transition(status: BatchStatus, event: BatchEvent) -> Transition:
    """The transition `event` makes from `status`; raises BatchTransitionError if refused."""
    to = TRANSITIONS.get((event, status))
    if to is None:
        raise BatchTransitionError(status, event)
    return Transition(event, status, to)


def allowed_events(status: BatchStatus) -> tuple[BatchEvent, ...]:
    return tuple(e for e in BatchEvent if (e, status) in TRANSITIONS)


def ensure_not_maker(approver_id: int, maker_ids: Iterable[int]) -> None:
    """Raise MakerCannotApprove when the approver is one of the batch's makers."""
    if approver_id in set(maker_ids):
        raise MakerCannotApprove()
