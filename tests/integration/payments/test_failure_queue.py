"""The failure queue through its page, on the real services: a payment fails (account
closed), the person gets a replacement card with a new account, the clerk corrects the
failure to it (a made-up account is refused), re-pays it in a batch that is checked,
submitted and approved by another clerk, and the bank file pays the replacement card's
account. A failure is in at most one live re-payment batch: it is released only when that
batch is cancelled, then re-paid once more. A failure closed as 不再补发 needs a reason, is
audited and can no longer be re-paid."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from shebao.accounts.choices import AuditAction, Role
from shebao.accounts.models import AuditEvent, User
from shebao.jobs.services import job_run_next
from shebao.payments.domain.bankfile import FailureReason, Outcome, ResultLine
from shebao.payments.models import (
    BankPaymentFile,
    BankPaymentLine,
    FailureStatus,
    PaymentBatch,
    PaymentFailure,
    PaymentRow,
)
from shebao.payments.services.bank import (
    bank_results_file,
    payment_file_download,
    payment_results_import,
)
from shebao.payments.services.failures import payment_failure_release
from shebao.registry.models import BankAccount
from tests.factories import make_card, make_user
from tests.integration.payments.batches_world import BatchWorld, build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NEW_ACCOUNT = "6228480777777777777"


@pytest.fixture
def world(tmp_path: Path) -> BatchWorld:
    return build_world(tmp_path, people=3)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _batch_page(code: str) -> str:
    return reverse("payments:batch", args=[code])


def _run_jobs() -> None:
    while (job := job_run_next()) is not None:
        assert job.status == "succeeded", job.error


def _paid_with_one_failure(world: BatchWorld) -> PaymentFailure:
    """A 3-row batch imported, approved, exported; the bank fails the first row."""
    payer, checker = _client(world.payer), _client(world.checker)
    path = world.write("名单.csv", [world.row(0), world.row(1), world.row(2)])
    with path.open("rb") as handle:
        response = payer.post(
            reverse("payments:batch_new"),
            {
                "mode": "import",
                "programme": world.programme().pk,
                "period": "2026-03",
                "file": handle,
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    _run_jobs()
    batch = PaymentBatch.objects.get(source_file_name="名单.csv")
    page = _batch_page(batch.code)
    assert payer.post(page, {"action": "submit"}).status_code == 302
    assert checker.post(page, {"action": "approve"}).status_code == 302
    assert checker.post(page, {"action": "export"}).status_code == 302
    record = BankPaymentFile.objects.get(batch=batch)
    lines = list(BankPaymentLine.objects.filter(file=record).select_related("row").order_by("pk"))
    results = [
        ResultLine(
            row=i + 1,
            reference=line.reference,
            id_number=line.row.frozen_id_number,
            account_number=line.row.frozen_account_number,
            amount_fen=line.amount_fen,
            outcome=Outcome.FAILED if i == 0 else Outcome.SUCCEEDED,
            reason=FailureReason.ACCOUNT_CLOSED if i == 0 else None,
            reason_text="账户已销户" if i == 0 else "",
        )
        for i, line in enumerate(lines)
    ]
    bank_user = make_user(Role.BANK_OPERATOR, world.bank)
    payment_file_download(actor=bank_user, file_id=record.pk)
    record.refresh_from_db()
    payment_results_import(actor=bank_user, data=bank_results_file(record, results))
    return PaymentFailure.objects.select_related("line__row").get()


def _replacement_card(world: BatchWorld, failure: PaymentFailure) -> None:
    """补换卡: the old card cancelled, a new one active with a new account at the bank."""
    person = failure.person
    old = next(c for c in world.cards if c.person_id == person.pk)
    type(old).objects.filter(pk=old.pk).update(status="cancelled")
    make_card(person, custodian=None, status="active", bank=world.bank)
    BankAccount.objects.create(
        person=person,
        bank=world.bank,
        branch=world.branch,
        account_number=NEW_ACCOUNT,
        opened_on=date(2026, 3, 20),
    )


def test_a_failure_is_repaid_into_the_replacement_cards_account(world: BatchWorld) -> None:
    failure = _paid_with_one_failure(world)
    payer, checker = _client(world.payer), _client(world.checker)
    queue = reverse("payments:failures")
    # Before the replacement card: the same account again needs a note, a made-up one is
    # refused (the bank file could not use it), and nothing changes.
    same = payer.post(queue, {"action": "correct", "failure": failure.pk})
    assert same.status_code == 400 and "账户相同" in same.content.decode()
    _replacement_card(world, failure)
    made_up = payer.post(
        queue, {"action": "correct", "failure": failure.pk, "account_number": "6228480123456789"}
    )
    assert made_up.status_code == 400
    assert "不是该人员当前社保卡的银行账户" in made_up.content.decode()
    failure.refresh_from_db()
    assert failure.status == FailureStatus.OPEN
    # Left empty: the replacement card's account.
    assert payer.post(queue, {"action": "correct", "failure": failure.pk}).status_code == 302
    failure.refresh_from_db()
    assert (failure.status, failure.corrected_account_number) == ("corrected", NEW_ACCOUNT)
    html = payer.get(queue).content.decode()
    assert "已更正待补发" in html and NEW_ACCOUNT not in html  # masked
    repay = payer.post(queue, {"action": "repay", "failures": [failure.pk]})
    assert repay.status_code == 302
    repay_batch = PaymentBatch.objects.get(source_file_name="发放失败补发")
    page = _batch_page(repay_batch.code)
    assert payer.post(page, {"action": "check"}).status_code == 302
    assert payer.post(page, {"action": "submit"}).status_code == 302
    assert checker.post(page, {"action": "approve"}).status_code == 302
    row = PaymentRow.objects.get(batch=repay_batch)
    assert row.frozen_account_number == NEW_ACCOUNT == failure.corrected_account_number
    assert checker.post(page, {"action": "export"}).status_code == 302
    line = BankPaymentLine.objects.get(row=row)
    assert line.amount_fen == failure.amount_fen
    failure.refresh_from_db()
    assert failure.status == FailureStatus.QUEUED and failure.repaid_by_row_id == row.pk


def test_a_cancelled_repayment_releases_the_failure_to_be_repaid_once_more(
    world: BatchWorld,
) -> None:
    failure = _paid_with_one_failure(world)
    _replacement_card(world, failure)
    payer = _client(world.payer)
    queue = reverse("payments:failures")
    assert payer.post(queue, {"action": "correct", "failure": failure.pk}).status_code == 302
    assert payer.post(queue, {"action": "repay", "failures": [failure.pk]}).status_code == 302
    first = PaymentBatch.objects.get(source_file_name="发放失败补发")
    # While the re-payment batch lives, no release and no second batch.
    live = payer.post(queue, {"action": "release", "failure": failure.pk})
    assert live.status_code == 400 and "只有作废的补发批次" in live.content.decode()
    twice = payer.post(queue, {"action": "repay", "failures": [failure.pk]})
    assert twice.status_code == 400
    assert 'data-testid="release-failure-' not in payer.get(queue).content.decode()

    cancel = payer.post(_batch_page(first.code), {"action": "cancel", "note": "期别填错"})
    assert cancel.status_code == 302
    html = payer.get(queue).content.decode()
    assert f'data-testid="release-failure-{failure.pk}"' in html and "（已作废）" in html
    # The auditor reads the queue but cannot release.
    auditor = _client(world.auditor)
    assert auditor.post(queue, {"action": "release", "failure": failure.pk}).status_code == 403
    # Another office does not even learn that the failure exists.
    other = _client(world.other_office_clerk)
    assert other.post(queue, {"action": "release", "failure": failure.pk}).status_code == 404

    assert payer.post(queue, {"action": "release", "failure": failure.pk}).status_code == 302
    failure.refresh_from_db()
    assert (failure.status, failure.repaid_by_row_id) == ("corrected", None)
    assert PaymentRow.objects.get(batch=first).repays_id is None
    with pytest.raises(Exception, match="无需释放"):  # released once; nothing left to release
        payment_failure_release(actor=world.payer, failure_id=failure.pk)
    assert payer.post(queue, {"action": "repay", "failures": [failure.pk]}).status_code == 302
    second = PaymentBatch.objects.exclude(pk=first.pk).get(source_file_name="发放失败补发")
    failure.refresh_from_db()
    assert failure.status == FailureStatus.QUEUED
    assert failure.repaid_by_row is not None and failure.repaid_by_row.batch_id == second.pk
    # In at most one live batch: the cancelled one pays nothing, the new one pays it once.
    live_rows = PaymentRow.objects.filter(repays=failure.line.row).exclude(
        batch__status="cancelled"
    )
    assert list(live_rows.values_list("batch_id", flat=True)) == [second.pk]
    assert AuditEvent.objects.filter(
        target_type="payment_failure", target_id=str(failure.pk), detail__event="release"
    ).exists()


def test_a_failure_closed_as_no_longer_repaid_needs_a_reason_and_is_audited(
    world: BatchWorld,
) -> None:
    failure = _paid_with_one_failure(world)
    payer = _client(world.payer)
    queue = reverse("payments:failures")
    no_reason = payer.post(queue, {"action": "close", "failure": failure.pk, "reason": " "})
    assert no_reason.status_code == 400 and "须说明原因" in no_reason.content.decode()
    closed = payer.post(
        queue, {"action": "close", "failure": failure.pk, "reason": "本人已领取现金"}
    )
    assert closed.status_code == 302
    failure.refresh_from_db()
    assert (failure.status, failure.closed_reason, failure.closed_by_id) == (
        "closed",
        "本人已领取现金",
        world.payer.pk,
    )
    html = payer.get(queue).content.decode()
    assert "不再补发" in html and "本人已领取现金" in html
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE,
        target_type="payment_failure",
        target_id=str(failure.pk),
        detail__event="close",
        person_id=failure.person_id,
    ).exists()
    # Closed is final: neither corrected, nor re-paid, nor closed again.
    for data in (
        {"action": "correct", "failure": failure.pk, "note": "x"},
        {"action": "close", "failure": failure.pk, "reason": "x"},
        {"action": "repay", "failures": [failure.pk]},
    ):
        assert payer.post(queue, data).status_code == 400
