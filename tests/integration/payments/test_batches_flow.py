"""A payment batch from the office's file through check, correction, submission and
approval: maker–checker, the frozen snapshot, the audit trail, idempotent imports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.cards.models import Card
from shebao.errors import PermissionDenied, ValidationFailed
from shebao.payments.domain.batch_lifecycle import (
    BatchStatus,
    BatchTransitionError,
    MakerCannotApprove,
)
from shebao.payments.models import PaymentBatch, PaymentRow
from shebao.payments.services.batches import (
    BatchFileInvalid,
    BatchStale,
    payment_batch_approve,
    payment_batch_cancel,
    payment_batch_check,
    payment_batch_drop_problem_rows,
    payment_batch_import,
    payment_batch_submit,
    payment_row_correct,
    payment_row_drop,
)
from shebao.registry.models import BankAccount, Person
from tests.integration.payments.batches_world import BatchWorld, build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def world(tmp_path: Path) -> BatchWorld:
    return build_world(tmp_path)


def _import(world: BatchWorld, rows: list[list[str]], name: str = "发放.csv") -> PaymentBatch:
    path = world.write(name, rows, title_rows=["鄂州市城乡居民养老金发放名单", "2026年3月"])
    return payment_batch_import(
        actor=world.payer, programme_id=world.programme().pk, period="2026-03", path=path
    )


def test_import_checks_rows_and_totals_exactly(world: BatchWorld) -> None:
    batch = _import(
        world,
        [world.row(0, "1,234.50"), world.row(1, "２００"), world.row(2, "0.1"), world.row(3, "")],
    )
    assert batch.status == BatchStatus.CHECKED
    assert (batch.row_count, batch.payable_count, batch.problem_count) == (4, 3, 1)
    assert batch.payable_fen == 123450 + 20000 + 10
    rows = {r.row_number: r for r in PaymentRow.objects.filter(batch=batch)}
    assert rows[1].amount_fen == 123450 and rows[1].person_id == world.people[0].pk
    assert rows[4].reasons == "AMOUNT_INVALID" and not rows[4].payable
    assert batch.code.startswith("FF") and batch.source_file_name == "发放.csv"
    assert AuditEvent.objects.filter(
        action=AuditAction.IMPORT, target_type="payment_batch", target_id=str(batch.pk)
    ).exists()


def test_the_same_file_twice_is_the_same_batch(world: BatchWorld) -> None:
    first = _import(world, [world.row(0), world.row(1)])
    second = _import(world, [world.row(0), world.row(1)], name="again.csv")
    assert first.pk == second.pk
    assert PaymentBatch.objects.count() == 1 and PaymentRow.objects.count() == 2


def test_a_file_without_an_amount_column_is_refused_and_nothing_is_written(
    world: BatchWorld,
) -> None:
    path = world.write("bad.csv", [world.row(0)[:2]], header=("社会保障号码", "姓名"))
    with pytest.raises(BatchFileInvalid) as caught:
        payment_batch_import(
            actor=world.payer, programme_id=world.programme().pk, period="2026-03", path=path
        )
    assert "金额" in caught.value.message
    assert PaymentBatch.objects.count() == 0 and PaymentRow.objects.count() == 0


def test_only_the_programmes_own_office_prepares(world: BatchWorld) -> None:
    path = world.write("x.csv", [world.row(0)])
    with pytest.raises(PermissionDenied):
        payment_batch_import(
            actor=world.other_office_clerk,
            programme_id=world.programme().pk,
            period="2026-03",
            path=path,
        )
    with pytest.raises(PermissionDenied):
        payment_batch_import(
            actor=world.auditor, programme_id=world.programme().pk, period="2026-03", path=path
        )


def test_problems_must_be_dropped_or_corrected_before_submission(world: BatchWorld) -> None:
    batch = _import(world, [world.row(0), world.row(1), world.row(0), world.row(2, "abc")])
    rows = {r.row_number: r for r in PaymentRow.objects.filter(batch=batch)}
    assert rows[3].reasons == "DUPLICATE_IN_BATCH"
    with pytest.raises(ValidationFailed) as caught:
        payment_batch_submit(actor=world.payer, batch_id=batch.pk)
    assert caught.value.code == "PAYMENT_BATCH_HAS_PROBLEMS"

    payment_row_drop(actor=world.payer, row_id=rows[3].pk, note="重复申报")
    payment_row_correct(actor=world.payer, row_id=rows[4].pk, amount="880.8", note="核对原始表")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT
    with pytest.raises(BatchTransitionError):
        payment_batch_submit(actor=world.payer, batch_id=batch.pk)
    batch = payment_batch_check(actor=world.payer, batch_id=batch.pk)
    assert (batch.payable_count, batch.problem_count, batch.dropped_count) == (3, 0, 1)
    assert batch.payable_fen == 150000 * 2 + 88080
    batch = payment_batch_submit(actor=world.payer, batch_id=batch.pk)
    assert batch.status == BatchStatus.SUBMITTED


def test_drop_every_problem_row_at_once(world: BatchWorld) -> None:
    batch = _import(world, [world.row(0), world.row(1, "-5"), ["11010519491231002X", "某", "9"]])
    dropped = payment_batch_drop_problem_rows(actor=world.payer, batch_id=batch.pk, note="不发")
    assert dropped == 2
    batch = payment_batch_check(actor=world.payer, batch_id=batch.pk)
    assert (batch.payable_count, batch.problem_count, batch.dropped_count) == (1, 0, 2)


def _submitted(world: BatchWorld, rows: list[list[str]]) -> PaymentBatch:
    batch = _import(world, rows)
    return payment_batch_submit(actor=world.payer, batch_id=batch.pk)


def test_the_preparer_cannot_approve(world: BatchWorld) -> None:
    batch = _submitted(world, [world.row(0), world.row(1)])
    with pytest.raises(MakerCannotApprove) as caught:
        payment_batch_approve(actor=world.payer, batch_id=batch.pk)
    assert caught.value.code == "PAYMENT_MAKER_CANNOT_APPROVE"
    assert "不能审批" in caught.value.message
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUBMITTED and batch.approved_by is None


def test_a_clerk_who_changed_the_batch_cannot_approve_it(world: BatchWorld) -> None:
    batch = _import(world, [world.row(0), world.row(1), world.row(2, "x")])
    bad = PaymentRow.objects.get(batch=batch, row_number=3)
    payment_row_drop(actor=world.checker, row_id=bad.pk, note="金额不明")
    payment_batch_check(actor=world.payer, batch_id=batch.pk)
    payment_batch_submit(actor=world.payer, batch_id=batch.pk)
    with pytest.raises(MakerCannotApprove):
        payment_batch_approve(actor=world.checker, batch_id=batch.pk)


def test_approval_freezes_the_snapshot(world: BatchWorld) -> None:
    batch = _submitted(world, [world.row(0, "1000"), world.row(1, "2000.01")])
    batch = payment_batch_approve(actor=world.checker, batch_id=batch.pk, note="复核无误")
    assert batch.status == BatchStatus.APPROVED and batch.approved_by == world.checker
    assert batch.payable_fen == 300001
    first = PaymentRow.objects.get(batch=batch, row_number=1)
    person = world.people[0]
    account = BankAccount.objects.get(person=person)
    assert (first.frozen_name, first.frozen_id_number) == (person.name, person.id_number)
    assert first.frozen_card_number == world.cards[0].card_number
    assert (first.frozen_bank_id, first.frozen_branch_id) == (world.bank.pk, world.branch.pk)
    assert first.frozen_account_number == account.account_number
    assert AuditEvent.objects.filter(
        action=AuditAction.APPROVE, target_id=str(batch.pk), user=world.checker
    ).exists()

    # Later registry and card changes do not alter the approved batch.
    Person.objects.filter(pk=person.pk).update(name="王建华")
    Card.objects.filter(pk=world.cards[0].pk).update(status="cancelled")
    BankAccount.objects.filter(pk=account.pk).update(account_number="6228489999999999")
    first.refresh_from_db()
    batch.refresh_from_db()
    assert first.frozen_name == person.name
    assert first.frozen_account_number == account.account_number
    assert first.frozen_card_number == world.cards[0].card_number
    assert (batch.payable_count, batch.payable_fen) == (2, 300001)
    with pytest.raises(BatchTransitionError):
        payment_row_correct(actor=world.payer, row_id=first.pk, amount="1")
    with pytest.raises(BatchTransitionError):
        payment_batch_check(actor=world.payer, batch_id=batch.pk)
    with pytest.raises(BatchTransitionError):
        payment_batch_cancel(actor=world.payer, batch_id=batch.pk, note="x")


def test_approval_refuses_a_batch_whose_data_changed_since_the_check(world: BatchWorld) -> None:
    batch = _submitted(world, [world.row(0), world.row(1)])
    Card.objects.filter(pk=world.cards[1].pk).update(status="cancelled")
    with pytest.raises(BatchStale) as caught:
        payment_batch_approve(actor=world.checker, batch_id=batch.pk)
    assert caught.value.code == "PAYMENT_BATCH_STALE" and "重新校验" in caught.value.message
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUBMITTED
    assert not PaymentRow.objects.filter(batch=batch).exclude(frozen_account_number="").exists()


def test_a_second_batch_for_the_same_period_finds_the_paid_rows(world: BatchWorld) -> None:
    batch = _submitted(world, [world.row(0), world.row(1)])
    payment_batch_approve(actor=world.checker, batch_id=batch.pk)
    again = _import(world, [world.row(1), world.row(2)], name="补充.csv")
    reasons = dict(PaymentRow.objects.filter(batch=again).values_list("row_number", "reasons"))
    assert reasons == {1: "ALREADY_PAID", 2: ""}
    # Another period is another payment.
    path = world.write("april.csv", [world.row(1)])
    april = payment_batch_import(
        actor=world.payer, programme_id=world.programme().pk, period="2026-04", path=path
    )
    assert april.payable_count == 1 and april.period_start == date(2026, 4, 1)


def test_cancel_before_approval_lets_the_same_file_make_a_new_batch(world: BatchWorld) -> None:
    batch = _import(world, [world.row(0)])
    with pytest.raises(ValidationFailed):
        payment_batch_cancel(actor=world.payer, batch_id=batch.pk, note=" ")
    payment_batch_cancel(actor=world.payer, batch_id=batch.pk, note="名单有误")
    again = _import(world, [world.row(0)])
    assert again.pk != batch.pk and again.status == BatchStatus.CHECKED


def test_history_records_every_step_with_its_clerk(world: BatchWorld) -> None:
    batch = _submitted(world, [world.row(0)])
    payment_batch_approve(actor=world.checker, batch_id=batch.pk)
    steps = list(batch.history.order_by("at", "pk").values_list("event", "actor__username"))
    assert steps == [
        ("prepare", "payer"),
        ("check", "payer"),
        ("submit", "payer"),
        ("approve", "checker"),
    ]
