"""The payment batch's state machine and the maker–checker rule (pure)."""

from __future__ import annotations

import pytest

from shebao.payments.domain.batch_lifecycle import (
    EDITABLE,
    FROZEN,
    TRANSITIONS,
    BatchEvent,
    BatchStatus,
    BatchTransitionError,
    MakerCannotApprove,
    allowed_events,
    ensure_not_maker,
    transition,
)

pytestmark = pytest.mark.unit

S = BatchStatus
E = BatchEvent


def test_the_happy_path_runs_from_draft_to_closed() -> None:
    status = S.DRAFT
    for event in (E.CHECK, E.SUBMIT, E.APPROVE, E.EXPORT, E.RECONCILE, E.CLOSE):
        status = transition(status, event).to_status
    assert status is S.CLOSED


def test_approval_is_the_step_that_freezes() -> None:
    assert transition(S.SUBMITTED, E.APPROVE).freezes
    assert not transition(S.CHECKED, E.SUBMIT).freezes
    assert {S.APPROVED, S.EXPORTED, S.RECONCILED, S.CLOSED} == FROZEN
    assert not FROZEN & EDITABLE


@pytest.mark.parametrize("status", sorted(FROZEN | {S.CANCELLED}))
def test_nothing_changes_a_frozen_or_cancelled_batch(status: BatchStatus) -> None:
    for event in (E.CHANGE, E.CHECK, E.SUBMIT, E.CANCEL, E.APPROVE):
        if status is S.APPROVED and event is E.APPROVE:
            continue
        with pytest.raises(BatchTransitionError):
            transition(status, event)
    with pytest.raises(BatchTransitionError):
        transition(S.APPROVED, E.APPROVE)


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_a_change_before_approval_sends_the_batch_back_to_be_checked(status: BatchStatus) -> None:
    assert transition(status, E.CHANGE).to_status is S.DRAFT
    assert transition(status, E.CANCEL).to_status is S.CANCELLED


def test_only_a_submitted_batch_is_approved_and_only_a_checked_one_submitted() -> None:
    approvable = [s for s in BatchStatus if (E.APPROVE, s) in TRANSITIONS]
    submittable = [s for s in BatchStatus if (E.SUBMIT, s) in TRANSITIONS]
    assert approvable == [S.SUBMITTED] and submittable == [S.CHECKED]


def test_refusals_say_in_chinese_what_is_allowed() -> None:
    with pytest.raises(BatchTransitionError) as caught:
        transition(S.DRAFT, E.APPROVE)
    assert caught.value.code == "PAYMENT_BATCH_INVALID_TRANSITION"
    assert "草稿" in caught.value.message and "逐行校验" in caught.value.message
    assert allowed_events(S.CLOSED) == ()
    assert "无（已终结）" in BatchTransitionError(S.CLOSED, E.CHANGE).message


def test_a_maker_cannot_approve() -> None:
    ensure_not_maker(3, [1, 2])
    with pytest.raises(MakerCannotApprove) as caught:
        ensure_not_maker(2, [1, 2])
    assert caught.value.code == "PAYMENT_MAKER_CANNOT_APPROVE" and caught.value.status == 403
