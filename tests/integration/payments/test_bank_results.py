"""The banks' results: imported atomically and idempotently, reconciled to the fen with every
difference, failures queued, corrected and re-paid in a later batch once only, and payments
after a recorded death put on the recovery list."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from shebao.errors import ShebaoError, ValidationFailed
from shebao.payments.domain.bankfile import FailureReason, Outcome, ResultLine
from shebao.payments.models import (
    BankPaymentFile,
    BankPaymentLine,
    BankResultRow,
    PaymentFailure,
    PaymentRecovery,
    PaymentRow,
)
from shebao.payments.selectors_bank import batch_reconciliation
from shebao.payments.services.bank import (
    bank_results_file,
    payment_failures_repay,
    payment_file_download,
    payment_files_export,
    payment_recoveries_sweep,
    payment_results_import,
)
from shebao.payments.services.failures import payment_failure_correct
from shebao.registry.choices import LifeStatus
from shebao.registry.models import BankAccount
from tests.factories import make_card
from tests.integration.payments.bank_world import BankWorld, approved_batch, build_bank_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

AMOUNTS = [300_000, 150_050, 1, 99_999, 200_000, 123_456]


def _ok(line: BankPaymentLine, n: int, amount: int | None = None) -> ResultLine:
    return ResultLine(
        n,
        line.reference,
        line.row.frozen_id_number,
        line.row.frozen_account_number,
        line.amount_fen if amount is None else amount,
        Outcome.SUCCEEDED,
        None,
        "",
    )


def _failed(line: BankPaymentLine, n: int, text: str) -> ResultLine:
    return ResultLine(
        n,
        line.reference,
        line.row.frozen_id_number,
        line.row.frozen_account_number,
        line.amount_fen,
        Outcome.FAILED,
        None,
        text,
    )


def _exported(world: BankWorld) -> dict[str, BankPaymentFile]:
    batch = approved_batch(world, AMOUNTS)
    files = payment_files_export(actor=world.maker, batch_id=batch.pk)
    users = {world.bank_a.pk: world.bank_a_user, world.bank_b.pk: world.bank_b_user}
    out = {}
    for record in files:
        user = world.branch_a1_user if record.branch_id else users[record.bank_id]
        payment_file_download(actor=user, file_id=record.pk, today=date(2026, 11, 2))
        key = "branch" if record.branch_id else ("a" if record.bank_id == world.bank_a.pk else "b")
        out[key] = BankPaymentFile.objects.select_related("bank").get(pk=record.pk)
    return out


def _lines(record: BankPaymentFile) -> list[BankPaymentLine]:
    return list(BankPaymentLine.objects.filter(file=record).select_related("row").order_by("pk"))


def test_results_reconcile_to_the_fen_with_every_difference() -> None:
    world = build_bank_world()
    files = _exported(world)
    a0, a3 = _lines(files["a"])
    b2, b5 = _lines(files["b"])
    data = bank_results_file(
        files["a"],
        [
            _ok(a0, 1),
            _failed(a3, 2, "账户已冻结"),
            ResultLine(
                3,
                "DF999999999999",
                "420704198005170000",
                "6228480099999999",
                5_000,
                Outcome.SUCCEEDED,
                None,
                "",
            ),
        ],
    )
    outcome = payment_results_import(actor=world.bank_a_user, data=data)
    assert (outcome.paid, outcome.failed, outcome.never_sent) == (1, 1, 1)
    again = payment_results_import(actor=world.bank_a_user, data=data)
    assert again.already_imported and BankResultRow.objects.count() == 3
    payment_results_import(
        actor=world.bank_b_user,
        data=bank_results_file(files["b"], [_ok(b5, 1, amount=b5.amount_fen - 50)]),
    )
    a3.refresh_from_db()
    assert (a3.status, a3.failure_reason, a3.failure_text) == (
        "failed",
        "account_frozen",
        "账户已冻结",
    )
    failure = PaymentFailure.objects.get()
    assert (failure.line_id, failure.amount_fen, failure.status) == (a3.pk, 99_999, "open")

    report = batch_reconciliation(
        actor=world.maker, batch_id=files["a"].batch_id, as_of=date(2026, 11, 20)
    )
    totals = {r["bank_id"]: r for r in report.totals.iter_rows(named=True)}
    a = totals[world.bank_a.pk]  # head and branch files together
    assert (a["sent_count"], a["sent_fen"]) == (4, 300_000 + 150_050 + 99_999 + 200_000)
    assert (a["paid_count"], a["paid_fen"], a["failed_count"], a["failed_fen"]) == (
        1,
        300_000,
        1,
        99_999,
    )
    assert (a["pending_count"], a["overdue_count"]) == (2, 2)  # the branch never answered
    b = totals[world.bank_b.pk]
    assert (b["paid_count"], b["paid_fen"], b["pending_count"]) == (
        1,
        b5.amount_fen - 50,
        1,
    )
    kinds = sorted((r["kind"], r["reference"]) for r in report.differences.iter_rows(named=True))
    assert ("not_sent", "DF999999999999") in kinds
    assert ("amount_differs", b5.reference) in kinds
    assert ("no_result", b2.reference) in kinds
    assert len([k for k in kinds if k[0] == "no_result"]) == 3


def test_a_bad_row_refuses_the_whole_file_naming_row_and_column() -> None:
    world = build_bank_world()
    files = _exported(world)
    a0, a3 = _lines(files["a"])
    data = bank_results_file(
        files["a"],
        [
            _ok(a0, 1),
            ResultLine(
                2,
                a3.reference,
                "420704198005170000",
                "6228480000000004",
                a3.amount_fen,
                Outcome.SUCCEEDED,
                None,
                "",
            ),
        ],
    )
    with pytest.raises(ShebaoError) as refused:
        payment_results_import(actor=world.bank_a_user, data=data)
    assert refused.value.code == "RESULT_ROWS_INVALID"
    assert "第 2 行“社会保障号码”列" in refused.value.message
    assert BankResultRow.objects.count() == 0
    assert BankPaymentLine.objects.filter(status="paid").count() == 0
    # Another bank cannot import this bank's results.
    with pytest.raises(ShebaoError):
        payment_results_import(
            actor=world.bank_b_user, data=bank_results_file(files["a"], [_ok(a0, 1)])
        )


def test_a_failure_is_corrected_and_repaid_once_in_a_later_batch() -> None:
    world = build_bank_world()
    files = _exported(world)
    a0, a3 = _lines(files["a"])
    payment_results_import(
        actor=world.bank_a_user,
        data=bank_results_file(files["a"], [_ok(a0, 1), _failed(a3, 2, "账户已销户")]),
    )
    failure = PaymentFailure.objects.get()
    assert failure.reason == FailureReason.ACCOUNT_CLOSED
    with pytest.raises(ValidationFailed):  # not corrected yet
        payment_failures_repay(actor=world.maker, failure_ids=[failure.pk])
    # The replacement card's account, opened since at bank B.
    make_card(failure.person, custodian=None, status="active", bank=world.bank_b)
    BankAccount.objects.create(
        person_id=failure.person_id,
        bank=world.bank_b,
        account_number="6221880000000001",
        opened_on=date(2026, 11, 5),
    )
    payment_failure_correct(actor=world.maker, failure_id=failure.pk)
    failure.refresh_from_db()
    assert (failure.status, failure.corrected_account_number) == ("corrected", "6221880000000001")
    batch = payment_failures_repay(actor=world.maker, failure_ids=[failure.pk])
    row = PaymentRow.objects.get(batch=batch)
    assert (row.amount_fen, row.repays_id, row.person_id) == (99_999, a3.row_id, failure.person_id)
    assert batch.status == "draft" and batch.programme_id == world.programme.pk
    failure.refresh_from_db()
    assert (failure.status, failure.repaid_by_row_id) == ("queued", row.pk)
    with pytest.raises(ValidationFailed):  # never twice through the service
        payment_failures_repay(actor=world.maker, failure_ids=[failure.pk])
    with pytest.raises(IntegrityError), transaction.atomic():  # nor behind its back
        PaymentRow.objects.create(
            batch=batch,
            row_number=2,
            person_id=failure.person_id,
            id_number="x",
            name="x",
            amount_fen=99_999,
            repays_id=a3.row_id,
        )
    # Checked and approved like any batch (here as approval leaves it), paid by bank B: the
    # failure is closed as re-paid.
    PaymentRow.objects.filter(pk=row.pk).update(
        payable=True,
        frozen_name=row.name,
        frozen_id_number=row.id_number,
        frozen_bank=world.bank_b,
        frozen_account_number="6221880000000001",
    )
    type(batch).objects.filter(pk=batch.pk).update(
        status="approved", approved_by=world.checker, approved_at=timezone.now()
    )
    (record,) = payment_files_export(actor=world.maker, batch_id=batch.pk)
    payment_file_download(actor=world.bank_b_user, file_id=record.pk)
    record = BankPaymentFile.objects.select_related("bank").get(pk=record.pk)
    (line,) = _lines(record)
    payment_results_import(actor=world.bank_b_user, data=bank_results_file(record, [_ok(line, 1)]))
    failure.refresh_from_db()
    assert failure.status == "repaid"


def test_a_payment_after_a_recorded_death_is_listed_for_recovery() -> None:
    world = build_bank_world()
    files = _exported(world)
    a0, a3 = _lines(files["a"])
    payment_results_import(
        actor=world.bank_a_user, data=bank_results_file(files["a"], [_ok(a0, 1), _ok(a3, 2)])
    )
    person = a0.row.person
    assert person is not None
    person.life_status = LifeStatus.DECEASED
    person.status_date = date(2026, 10, 20)  # before the period's first day, 2026-11-01
    person.save()  # the receiver lists it at once
    recovery = PaymentRecovery.objects.get()
    assert (recovery.line_id, recovery.amount_fen, recovery.died_on) == (
        a0.pk,
        300_000,
        date(2026, 10, 20),
    )
    # Died within the period: paid rightly, not listed; the sweep adds nothing twice.
    other = a3.row.person
    assert other is not None
    other.life_status = LifeStatus.DECEASED
    other.status_date = date(2026, 11, 3)
    other.save()
    assert payment_recoveries_sweep() == 0
    assert PaymentRecovery.objects.count() == 1
