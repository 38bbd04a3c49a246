"""The card's life cycle: every allowed and every refused transition, fees, lapsing losses."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shebao.cards.domain.lifecycle import (
    CARD_FILE_STATUSES,
    TRANSITIONS,
    CardEvent,
    CardPhase,
    CardPolicy,
    CardStatus,
    CardTransitionError,
    FeeKind,
    FeeSchedule,
    FeesNotConfigured,
    RenewalReason,
    allowed_events,
    apply_events,
    effective_status,
    fee_for,
    temporary_loss_lapses_on,
    transition,
)

pytestmark = pytest.mark.unit

S, E = CardStatus, CardEvent

# The whole table, written out independently of the module's own: (event, from) → to.
EXPECTED: dict[tuple[CardEvent, CardStatus], CardStatus] = {
    (E.PRODUCTION_SUCCEEDED, S.PENDING_PRODUCTION): S.MADE,
    (E.PRODUCTION_FAILED, S.PENDING_PRODUCTION): S.PRODUCTION_FAILED,
    (E.RESUBMIT, S.PRODUCTION_FAILED): S.PENDING_PRODUCTION,
    (E.ARRIVE_FOR_PICKUP, S.MADE): S.AWAITING_PICKUP,
    (E.RECALL, S.AWAITING_PICKUP): S.MADE,
    (E.ISSUE, S.AWAITING_PICKUP): S.ISSUED,
    (E.MAIL, S.MADE): S.MAILED,
    (E.CONFIRM_DELIVERY, S.MAILED): S.ISSUED,
    (E.RETURN_MAIL, S.MAILED): S.MADE,
    (E.ACTIVATE, S.ISSUED): S.ACTIVE,
    (E.REPORT_TEMPORARY_LOSS, S.ACTIVE): S.TEMPORARY_LOSS,
    (E.LAPSE_TEMPORARY_LOSS, S.TEMPORARY_LOSS): S.ACTIVE,
    (E.REPORT_LOSS, S.ISSUED): S.LOST,
    (E.REPORT_LOSS, S.ACTIVE): S.LOST,
    (E.REPORT_LOSS, S.TEMPORARY_LOSS): S.LOST,
    (E.UNLOCK, S.TEMPORARY_LOSS): S.ACTIVE,
    (E.UNLOCK, S.LOST): S.ACTIVE,
    (E.REPLACE, S.LOST): S.VOID,
    (E.RENEW, S.ISSUED): S.VOID,
    (E.RENEW, S.ACTIVE): S.VOID,
    (E.RESET_PIN, S.ACTIVE): S.ACTIVE,
    (E.CHANGE_INFORMATION, S.ISSUED): S.ISSUED,
    (E.CHANGE_INFORMATION, S.ACTIVE): S.ACTIVE,
    (E.CHANGE_INFORMATION, S.TEMPORARY_LOSS): S.TEMPORARY_LOSS,
    (E.CHANGE_INFORMATION, S.LOST): S.LOST,
    (E.VOID, S.PRODUCTION_FAILED): S.VOID,
    (E.VOID, S.MADE): S.VOID,
    (E.VOID, S.AWAITING_PICKUP): S.VOID,
    (E.VOID, S.MAILED): S.VOID,
    **{
        (event, status): S.CANCELLED
        for event in (E.CANCEL, E.CANCEL_ON_DEATH)
        for status in CardStatus
        if status not in (S.CANCELLED, S.VOID)
    },
}
ALL_PAIRS = [(event, status) for event in CardEvent for status in CardStatus]


def test_the_module_table_is_the_expected_table() -> None:
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize(("event", "status"), [p for p in ALL_PAIRS if p in EXPECTED])
def test_every_allowed_transition(event: CardEvent, status: CardStatus) -> None:
    step = transition(status, event)
    assert step.to_status is EXPECTED[(event, status)]
    assert step.from_status is status
    assert step.changes_status == (step.to_status is not status)
    assert event in allowed_events(status)


@pytest.mark.parametrize(("event", "status"), [p for p in ALL_PAIRS if p not in EXPECTED])
def test_every_refused_transition(event: CardEvent, status: CardStatus) -> None:
    with pytest.raises(CardTransitionError) as caught:
        transition(status, event)
    error = caught.value
    assert error.code == "CARD_INVALID_TRANSITION"
    assert error.status == 409
    assert f"卡片状态为“{status.label}”，不能办理“{event.label}”" in error.message
    assert error.details == [{"status": status.value, "event": event.value}]
    assert event not in allowed_events(status)


def test_closed_cards_allow_nothing_and_say_so() -> None:
    for status in (S.CANCELLED, S.VOID):
        assert allowed_events(status) == ()
        with pytest.raises(CardTransitionError, match="无（已终结）"):
            transition(status, E.ACTIVATE)


def test_pin_reset_and_information_change_are_recorded_without_a_status_change() -> None:
    assert not transition(S.ACTIVE, E.RESET_PIN).changes_status
    for status in (S.ISSUED, S.ACTIVE, S.TEMPORARY_LOSS, S.LOST):
        assert not transition(status, E.CHANGE_INFORMATION).changes_status


def test_replacement_and_renewal_start_a_new_card() -> None:
    assert transition(S.LOST, E.REPLACE).new_card is FeeKind.REPLACEMENT
    assert transition(S.ACTIVE, E.RENEW).new_card is FeeKind.RENEWAL
    assert transition(S.ACTIVE, E.REPORT_LOSS).new_card is None


def test_a_whole_life_from_production_to_replacement() -> None:
    events = [
        E.PRODUCTION_SUCCEEDED,
        E.ARRIVE_FOR_PICKUP,
        E.ISSUE,
        E.ACTIVATE,
        E.REPORT_TEMPORARY_LOSS,
        E.REPORT_LOSS,
        E.REPLACE,
    ]
    assert apply_events(events) is S.VOID


def test_card_file_statuses_map_to_life_cycle_statuses() -> None:
    assert CARD_FILE_STATUSES["正常"] is S.ACTIVE
    assert CARD_FILE_STATUSES["挂失"] is S.LOST
    assert CARD_FILE_STATUSES["注销"] is S.CANCELLED


# ---- random sequences --------------------------------------------------------------------


@settings(max_examples=300)
@given(st.lists(st.sampled_from(list(CardEvent)), max_size=40))
def test_random_event_sequences_keep_the_invariants(events: list[CardEvent]) -> None:
    status = S.PENDING_PRODUCTION
    ever_with_holder = False
    new_cards = 0
    for event in events:
        before = status
        try:
            step = transition(status, event)
        except CardTransitionError:
            assert (event, status) not in TRANSITIONS
            continue  # a refusal changes nothing
        status = step.to_status
        # Phases only move forward: before issue → with the holder → closed.
        assert status.phase.value >= before.phase.value
        ever_with_holder |= status.phase is CardPhase.WITH_HOLDER
        if step.new_card is not None:
            new_cards += 1
            assert status is S.VOID
        # 正常 is reached only by activation, unlocking or a lapsed temporary loss.
        if status is S.ACTIVE and before is not S.ACTIVE:
            assert event in (E.ACTIVATE, E.UNLOCK, E.LAPSE_TEMPORARY_LOSS)
        if status.is_terminal:
            assert allowed_events(status) == ()
    # A card starts at most one successor, and only after reaching its holder.
    assert new_cards <= 1
    assert new_cards == 0 or ever_with_holder


# ---- fees and lapses ---------------------------------------------------------------------

FEES = FeeSchedule(replacement=Decimal("20"), renewal=Decimal("15"))


def test_first_issue_is_free_even_without_configured_fees() -> None:
    assert fee_for(FeeKind.FIRST_ISSUE, fees=None) == 0
    assert fee_for(FeeKind.FIRST_ISSUE, fees=FEES) == 0


def test_replacement_and_renewal_fees_follow_the_schedule() -> None:
    assert fee_for(FeeKind.REPLACEMENT, fees=FEES) == Decimal("20")
    assert fee_for(FeeKind.RENEWAL, fees=FEES, renewal_reason=RenewalReason.DAMAGED) == Decimal(
        "15"
    )
    changed = RenewalReason.INFORMATION_CHANGED
    assert fee_for(FeeKind.RENEWAL, fees=FEES, renewal_reason=changed) == Decimal("15")
    assert fee_for(FeeKind.RENEWAL, fees=FEES, renewal_reason=RenewalReason.EXPIRED) == 0
    free_changes = FeeSchedule(
        replacement=Decimal("20"), renewal=Decimal("15"), free_renewal_reasons=frozenset({changed})
    )
    assert fee_for(FeeKind.RENEWAL, fees=free_changes, renewal_reason=changed) == 0


def test_fees_must_be_configured_and_sane() -> None:
    with pytest.raises(FeesNotConfigured) as caught:
        fee_for(FeeKind.REPLACEMENT, fees=None)
    assert caught.value.code == "CARD_FEES_NOT_CONFIGURED"
    with pytest.raises(ValueError, match="原因"):
        fee_for(FeeKind.RENEWAL, fees=FEES)
    with pytest.raises(ValueError, match="负数"):
        FeeSchedule(replacement=Decimal("-1"), renewal=Decimal("0"))


def test_a_temporary_loss_lapses_after_the_configured_days() -> None:
    policy = CardPolicy(temporary_loss_days=5)
    reported = date(2025, 3, 1)
    assert temporary_loss_lapses_on(reported, policy) == date(2025, 3, 6)
    for offset, expected in ((0, S.TEMPORARY_LOSS), (4, S.TEMPORARY_LOSS), (5, S.ACTIVE)):
        today = reported + timedelta(days=offset)
        assert (
            effective_status(
                S.TEMPORARY_LOSS, temporary_loss_reported_on=reported, today=today, policy=policy
            )
            is expected
        )
    # A formal loss never lapses.
    assert (
        effective_status(
            S.LOST, temporary_loss_reported_on=reported, today=date(2030, 1, 1), policy=policy
        )
        is S.LOST
    )
    with pytest.raises(ValueError, match="至少"):
        CardPolicy(temporary_loss_days=0)
