"""The custody chain as pure rules: the handover state machine, the reading of typed or
scanned card-number lists, the reconciliation of what was sent with what arrived, the issuing
policy (recall period, work subsidy) and the subsidy arithmetic.

A handover is drafted and dispatched by the sender and confirmed by the receiver, who lists
what arrived: listed items that arrived are received, listed items that did not are missing,
arrived items that were not listed are extra. Any missing or extra item makes the confirmation
one "with discrepancies". A draft or a dispatched handover may be cancelled by the sender
(the cards never left, or came back unopened); a confirmed one is final.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final

from shebao.cards.domain.codes import CardCodeIssue, normalize_card_code, validate_card_number
from shebao.errors import ShebaoError

__all__ = [
    "FINAL_POINT_KINDS",
    "HANDOVER_TRANSITIONS",
    "CardList",
    "CardListLine",
    "HandoverEvent",
    "HandoverItemOutcome",
    "HandoverKind",
    "HandoverStatus",
    "HandoverTransitionError",
    "IssuingPolicy",
    "ReceiptLineOutcome",
    "ReceiptStatus",
    "Reconciliation",
    "ShortageResolution",
    "handover_transition",
    "parse_card_list",
    "pickup_overdue",
    "recall_cutoff",
    "reconcile",
    "subsidy_amount",
]


class HandoverStatus(StrEnum):
    DRAFT = "draft"
    DISPATCHED = "dispatched"
    CONFIRMED = "confirmed"
    CONFIRMED_WITH_DISCREPANCIES = "confirmed_with_discrepancies"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _HANDOVER_STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self in (HandoverStatus.DRAFT, HandoverStatus.DISPATCHED)


_HANDOVER_STATUS_LABELS: Final[dict[HandoverStatus, str]] = {
    HandoverStatus.DRAFT: "草稿",
    HandoverStatus.DISPATCHED: "已移交待接收",
    HandoverStatus.CONFIRMED: "已接收",
    HandoverStatus.CONFIRMED_WITH_DISCREPANCIES: "已接收（有差异）",
    HandoverStatus.CANCELLED: "已撤销",
}


class HandoverEvent(StrEnum):
    DISPATCH = "dispatch"
    CONFIRM = "confirm"
    CONFIRM_WITH_DISCREPANCIES = "confirm_with_discrepancies"
    CANCEL = "cancel"

    @property
    def label(self) -> str:
        return {
            "dispatch": "移交",
            "confirm": "确认接收",
            "confirm_with_discrepancies": "确认接收（有差异）",
            "cancel": "撤销",
        }[self.value]


HANDOVER_TRANSITIONS: Final[dict[tuple[HandoverEvent, HandoverStatus], HandoverStatus]] = {
    (HandoverEvent.DISPATCH, HandoverStatus.DRAFT): HandoverStatus.DISPATCHED,
    (HandoverEvent.CONFIRM, HandoverStatus.DISPATCHED): HandoverStatus.CONFIRMED,
    (
        HandoverEvent.CONFIRM_WITH_DISCREPANCIES,
        HandoverStatus.DISPATCHED,
    ): HandoverStatus.CONFIRMED_WITH_DISCREPANCIES,
    (HandoverEvent.CANCEL, HandoverStatus.DRAFT): HandoverStatus.CANCELLED,
    (HandoverEvent.CANCEL, HandoverStatus.DISPATCHED): HandoverStatus.CANCELLED,
}


class HandoverTransitionError(ShebaoError):
    def __init__(self, status: HandoverStatus, event: HandoverEvent) -> None:
        super().__init__(
            code="HANDOVER_INVALID_TRANSITION",
            message=f"交接单状态为“{status.label}”，不能{event.label}",
            status=409,
            details=[{"status": status.value, "event": event.value}],
        )


def handover_transition(status: HandoverStatus, event: HandoverEvent) -> HandoverStatus:
    to = HANDOVER_TRANSITIONS.get((event, status))
    if to is None:
        raise HandoverTransitionError(status, event)
    return to


class HandoverKind(StrEnum):
    CARDS = "cards"
    RECALL = "recall"
    RECEIPTS = "receipts"

    @property
    def label(self) -> str:
        return {"cards": "卡片下发", "recall": "逾期卡片回收", "receipts": "领卡签收表上交"}[
            self.value
        ]

    @property
    def carries_cards(self) -> bool:
        return self is not HandoverKind.RECEIPTS


class HandoverItemOutcome(StrEnum):
    LISTED = "listed"
    RECEIVED = "received"
    MISSING = "missing"
    EXTRA = "extra"

    @property
    def label(self) -> str:
        return {"listed": "在途", "received": "已接收", "missing": "短少", "extra": "多出"}[
            self.value
        ]


class ShortageResolution(StrEnum):
    """How a card short in a handover (listed, not counted by the receiver) was settled. Until
    then the sender remains its custodian and the card waits in the discrepancy queue."""

    FOUND_AT_RECEIVER = "found_at_receiver"
    FOUND_AT_SENDER = "found_at_sender"
    LOST = "lost"

    @property
    def label(self) -> str:
        return {
            "found_at_receiver": "已找到（接收单位已收到，补办接收）",
            "found_at_sender": "已找到（仍在移交单位，可重新移交）",
            "lost": "确认遗失（卡片作废）",
        }[self.value]


class ReceiptStatus(StrEnum):
    OPEN = "open"
    SEALED = "sealed"
    SUBMITTED = "submitted"

    @property
    def label(self) -> str:
        return {"open": "发放中", "sealed": "已汇总盖章", "submitted": "已交回卡管中心"}[self.value]


class ReceiptLineOutcome(StrEnum):
    PENDING = "pending"
    PICKED_UP = "picked_up"
    RECALLED = "recalled"

    @property
    def label(self) -> str:
        return {"pending": "待领取", "picked_up": "已领取", "recalled": "逾期回收"}[self.value]


# Organisation kinds (accounts.choices.OrganisationKind values) where cards reach their
# holders: the village or residential committee, the unit of a collective application.
FINAL_POINT_KINDS: Final[frozenset[str]] = frozenset(
    {"village_committee", "employer", "public_institution", "school"}
)


@dataclass(frozen=True, slots=True)
class IssuingPolicy:
    """Recall period (回收逾期未发放卡片: no seed gives the number; 90 days is a default the
    card centre changes) and the work subsidy per card distributed (工作补助经费)."""

    recall_after_days: int = 90
    subsidy_per_card: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        if self.recall_after_days < 1:
            raise ValueError("逾期回收天数应至少为1天")
        if self.subsidy_per_card < 0:
            raise ValueError("工作补助经费不能为负数")


def pickup_overdue(arrived_at: datetime, now: datetime, policy: IssuingPolicy) -> bool:
    return now - arrived_at >= timedelta(days=policy.recall_after_days)


def recall_cutoff(now: datetime, policy: IssuingPolicy) -> datetime:
    """Cards that arrived for pickup at or before this moment are overdue."""
    return now - timedelta(days=policy.recall_after_days)


def subsidy_amount(cards_distributed: int, policy: IssuingPolicy) -> Decimal:
    return (policy.subsidy_per_card * cards_distributed).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class CardListLine:
    line: int
    raw: str
    normalized: str
    errors: tuple[CardCodeIssue, ...] = ()


@dataclass(frozen=True, slots=True)
class CardList:
    """A typed or scanned list of card numbers: the valid numbers in order (each once), the
    invalid entries with their line, and the repeated ones."""

    numbers: tuple[str, ...]
    invalid: tuple[CardListLine, ...] = ()
    duplicates: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.invalid


# Separators people and scanners use: newlines, commas (full or half width), semicolons,
# enumeration commas, tabs and spaces between numbers on one line.
_SPLIT: Final[re.Pattern[str]] = re.compile(r"[\r\n,，;；、\t ]+")


def parse_card_list(text: str) -> CardList:
    """Read card numbers, one per line or separated by commas or blanks (a barcode scanner
    types each number followed by Enter); full-width characters are folded; each number is
    checked (length, characters, check character)."""
    numbers: list[str] = []
    seen: set[str] = set()
    invalid: list[CardListLine] = []
    duplicates: list[str] = []
    for line_no, line in enumerate(text.splitlines() or [text], start=1):
        for raw in _SPLIT.split(line.replace("\u3000", " ")):
            if not raw.strip():
                continue
            check = validate_card_number(raw)
            if not check.ok:
                invalid.append(CardListLine(line_no, raw, check.normalized, check.errors))
                continue
            if check.normalized in seen:
                duplicates.append(check.normalized)
                continue
            seen.add(check.normalized)
            numbers.append(check.normalized)
    return CardList(tuple(numbers), tuple(invalid), tuple(duplicates))


@dataclass(frozen=True, slots=True)
class Reconciliation:
    received: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def has_discrepancies(self) -> bool:
        return bool(self.missing or self.extra)


def reconcile(listed: Sequence[str], arrived: Iterable[str]) -> Reconciliation:
    """Compare the sender's list with what the receiver counted (both normalised codes)."""
    listed_norm = [normalize_card_code(c) for c in listed]
    arrived_norm: list[str] = []
    seen: set[str] = set()
    for code in arrived:
        n = normalize_card_code(code)
        if n and n not in seen:
            seen.add(n)
            arrived_norm.append(n)
    listed_set = set(listed_norm)
    received = tuple(c for c in listed_norm if c in seen)
    missing = tuple(c for c in listed_norm if c not in seen)
    extra = tuple(c for c in arrived_norm if c not in listed_set)
    return Reconciliation(
        received,
        missing,
        extra,
        {"listed": len(listed_norm), "received": len(received), "missing": len(missing),
         "extra": len(extra)},
    )  # fmt: skip
