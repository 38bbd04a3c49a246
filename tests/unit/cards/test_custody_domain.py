"""The custody chain's pure rules: reading typed or scanned card lists, reconciling what was
sent with what arrived, the handover state machine, the recall period and the subsidy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shebao.cards.domain.codes import card_number_of
from shebao.cards.domain.custody import (
    HANDOVER_TRANSITIONS,
    HandoverEvent,
    HandoverStatus,
    HandoverTransitionError,
    IssuingPolicy,
    handover_transition,
    parse_card_list,
    pickup_overdue,
    reconcile,
    subsidy_amount,
)

A, B, C = card_number_of("B7K33477"), card_number_of("18376064"), card_number_of("X0000001")


def test_a_scanner_list_with_separators_full_width_and_repeats() -> None:
    text = f"{A}\r\n{B.lower()}，{A}\n\n" + "".join(chr(ord(ch) + 0xFEE0) for ch in C)
    parsed = parse_card_list(text)
    assert parsed.ok
    assert parsed.numbers == (A, B, C)
    assert parsed.duplicates == (A,)


def test_invalid_entries_are_reported_with_their_line() -> None:
    bad_check = A[:8] + ("0" if A[8] != "0" else "1")
    parsed = parse_card_list(f"{A}\n{bad_check}\n12345")
    assert not parsed.ok
    assert [(x.line, x.errors[0].code.value) for x in parsed.invalid] == [
        (2, "BAD_CHECK"),
        (3, "BAD_LENGTH"),
    ]
    assert parsed.numbers == (A,)


def test_reconcile_received_missing_extra() -> None:
    result = reconcile([A, B], [B, C, C])
    assert result.received == (B,) and result.missing == (A,) and result.extra == (C,)
    assert result.has_discrepancies
    assert result.counts == {"listed": 2, "received": 1, "missing": 1, "extra": 1}
    assert not reconcile([A], [A.lower()]).has_discrepancies


@given(
    listed=st.lists(st.sampled_from([A, B, C]), unique=True),
    arrived=st.lists(st.sampled_from([A, B, C])),
)
def test_reconcile_partitions_the_lists(listed: list[str], arrived: list[str]) -> None:
    r = reconcile(listed, arrived)
    assert sorted(r.received + r.missing) == sorted(listed)
    assert set(r.received) | set(r.extra) == set(arrived)
    assert not set(r.extra) & set(listed)


@pytest.mark.parametrize("status", list(HandoverStatus))
@pytest.mark.parametrize("event", list(HandoverEvent))
def test_handover_state_machine(status: HandoverStatus, event: HandoverEvent) -> None:
    expected = HANDOVER_TRANSITIONS.get((event, status))
    if expected is None:
        with pytest.raises(HandoverTransitionError) as exc:
            handover_transition(status, event)
        assert exc.value.code == "HANDOVER_INVALID_TRANSITION"
        assert status.label in exc.value.message
    else:
        assert handover_transition(status, event) is expected


def test_confirmed_and_cancelled_handovers_are_final() -> None:
    for final in (
        HandoverStatus.CONFIRMED,
        HandoverStatus.CONFIRMED_WITH_DISCREPANCIES,
        HandoverStatus.CANCELLED,
    ):
        assert not final.is_open
        assert not any(s is final for (_, s) in HANDOVER_TRANSITIONS)


def test_recall_period_and_subsidy() -> None:
    policy = IssuingPolicy(recall_after_days=30, subsidy_per_card=Decimal("2.5"))
    arrived = datetime(2026, 1, 1, tzinfo=UTC)
    assert not pickup_overdue(arrived, arrived + timedelta(days=29, hours=23), policy)
    assert pickup_overdue(arrived, arrived + timedelta(days=30), policy)
    assert subsidy_amount(3, policy) == Decimal("7.50")
    with pytest.raises(ValueError, match="逾期回收天数"):
        IssuingPolicy(recall_after_days=0)
    with pytest.raises(ValueError, match="工作补助经费"):
        IssuingPolicy(subsidy_per_card=Decimal("-1"))
