"""The payment pages end to end with Django's test client, on the real services: the payer
uploads a file with problems, sees every problem row's reasons in Chinese, drops a row and
submits; the same clerk cannot approve (the page says why), another clerk approves and
exports; the bank downloads its file and uploads results; the office sees the failure,
corrects the account and re-pays it in a later batch; the auditor reads everything and
changes nothing; the person page shows the payments received. Other offices and other banks
get 404 without learning that the batch or file exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from shebao.accounts.choices import AuditAction, OrganisationKind, Purpose, Role
from shebao.accounts.models import AuditEvent, User
from shebao.cards.services.exchange import KIND_PAYMENT_ORDER, open_exchange_file
from shebao.jobs.services import job_run_next
from shebao.payments.domain.bankfile import FailureReason, Outcome, ResultLine
from shebao.payments.models import (
    BankPaymentFile,
    BankPaymentLine,
    FailureStatus,
    PaymentBatch,
    PaymentFailure,
)
from shebao.payments.services.bank import bank_results_file
from tests.factories import make_org, make_user
from tests.integration.payments.batches_world import BatchWorld, build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def world(tmp_path: Path) -> BatchWorld:
    return build_world(tmp_path)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _upload(world: BatchWorld, client: Client, rows: list[list[str]]) -> PaymentBatch:
    path = world.write("养老金发放.csv", rows, title_rows=["鄂州市城乡居民养老金发放名单"])
    with path.open("rb") as handle:
        response = client.post(
            reverse("payments:batch_new"),
            {
                "mode": "import",
                "programme": world.programme().pk,
                "period": "2026-03",
                "file": handle,
            },
        )
    # The import runs on the worker: the clerk follows its job page, which then sends them
    # to the batch.
    assert response.status_code == 302, response.content.decode()[:2000]
    job_page = response["Location"]
    waiting = client.get(job_page)
    assert waiting.status_code == 200 and 'data-testid="job-progress"' in waiting.content.decode()
    done = job_run_next()
    assert done is not None and done.status == "succeeded", done.error if done else None
    arrived = client.get(job_page)
    assert arrived.status_code == 302
    return PaymentBatch.objects.get(code=arrived["Location"].rstrip("/").rsplit("/", 1)[-1])


def _approved_and_exported(world: BatchWorld) -> PaymentBatch:
    payer, checker = _client(world.payer), _client(world.checker)
    batch = _upload(world, payer, [world.row(0, "1,500.00"), world.row(1, "2000"), world.row(2)])
    page = reverse("payments:batch", args=[batch.code])
    assert payer.post(page, {"action": "submit"}).status_code == 302
    assert checker.post(page, {"action": "approve"}).status_code == 302
    assert checker.post(page, {"action": "export"}).status_code == 302
    batch.refresh_from_db()
    assert batch.status == "exported"
    return batch


def test_payer_sees_reasons_drops_a_row_submits_and_only_another_clerk_approves(
    world: BatchWorld,
) -> None:
    payer, checker = _client(world.payer), _client(world.checker)
    batch = _upload(
        world,
        payer,
        [world.row(0, "1,234.50"), world.row(1, "-5"), world.row(0, "100"), world.row(2, "200")],
    )
    page = reverse("payments:batch", args=[batch.code])
    html = payer.get(page).content.decode()
    # Every problem row with its reasons in Chinese and what to do; names masked.
    assert "金额无效" in html and "批次内重复" in html
    assert world.people[1].name not in html and world.people[1].id_number not in html
    assert "提交审批" not in html  # problems first
    problem_rows = {r.row_number: r for r in batch.rows.exclude(reasons="")}
    assert set(problem_rows) == {2, 3}
    for number in (2, 3):
        response = payer.post(
            page, {"action": "drop", "row": problem_rows[number].pk, "note": "核实后不发放"}
        )
        assert response.status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.problem_count, batch.payable_fen) == ("checked", 0, 143450)
    assert payer.post(page, {"action": "submit"}).status_code == 302

    refused = payer.post(page, {"action": "approve"})
    assert refused.status_code == 400
    assert "不能审批本批次" in refused.content.decode()
    batch.refresh_from_db()
    assert batch.status == "submitted"

    assert checker.post(page, {"action": "approve", "note": "同意"}).status_code == 302
    batch.refresh_from_db()
    assert batch.status == "approved" and batch.approved_by_id == world.checker.pk
    html = checker.get(page).content.decode()
    assert "已审批" in html and "审批通过（冻结）" in html
    assert "待遇及补贴发放" in html  # the purpose, in the batch's audit trail
    # Each view of the payees' rows is audited with the purpose 待遇及补贴发放.
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW_PERSON,
        target_type="payment_batch",
        target_id=str(batch.pk),
        purpose=Purpose.PAYMENT,
        user=world.checker,
    ).exists()


def test_batches_list_searches_filters_and_hides_other_offices(world: BatchWorld) -> None:
    payer = _client(world.payer)
    batch = _upload(world, payer, [world.row(0), world.row(1)])
    listing = reverse("payments:batches")
    assert batch.code in payer.get(listing).content.decode()
    assert batch.code in payer.get(listing, {"status": "checked"}).content.decode()
    assert batch.code not in payer.get(listing, {"status": "approved"}).content.decode()
    assert batch.code not in payer.get(listing, {"q": "不存在的项目"}).content.decode()
    other = _client(world.other_office_clerk)
    assert batch.code not in other.get(listing).content.decode()
    page = reverse("payments:batch", args=[batch.code])
    assert other.get(page).status_code == 404
    assert other.post(page, {"action": "submit"}).status_code == 404
    # The auditor reads it, with its history and audit trail, and changes nothing.
    auditor = _client(world.auditor)
    html = auditor.get(page).content.decode()
    assert "业务记录" in html and "审计记录" in html and "导入" in html
    assert auditor.post(page, {"action": "check"}).status_code == 403


def test_bank_downloads_its_file_uploads_results_and_office_repays_the_failure(
    world: BatchWorld,
) -> None:
    batch = _approved_and_exported(world)
    bank_user = make_user(Role.BANK_OPERATOR, world.bank)
    bank = _client(bank_user)
    record = BankPaymentFile.objects.get(batch=batch)
    listing = bank.get(reverse("payments:bank_files")).content.decode()
    assert record.code in listing
    download = bank.get(reverse("payments:bank_file_download", args=[record.code]))
    assert download.status_code == 200
    opened = open_exchange_file(download.content, kind=KIND_PAYMENT_ORDER)
    assert opened.reference == record.code
    record.refresh_from_db()
    assert record.status == "sent"

    # Another bank neither sees nor downloads it.
    stranger = _client(make_user(Role.BANK_OPERATOR, make_org(OrganisationKind.BANK, "420700")))
    assert record.code not in stranger.get(reverse("payments:bank_files")).content.decode()
    assert (
        stranger.get(reverse("payments:bank_file_download", args=[record.code])).status_code == 404
    )

    lines = list(BankPaymentLine.objects.filter(file=record).select_related("row"))
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
    sealed = bank_results_file(record, results)
    upload = bank.post(
        reverse("payments:bank_files"),
        {"file": _named(sealed, f"{record.code}-result.sm4", world)},
    )
    assert upload.status_code == 302
    again = bank.post(
        reverse("payments:bank_files"),
        {"file": _named(sealed, f"{record.code}-result.sm4", world)},
    )
    assert again.status_code == 302  # the same file twice changes nothing
    record.refresh_from_db()
    assert (record.paid_count, record.failed_count) == (2, 1)

    payer, checker = _client(world.payer), _client(world.checker)
    page = payer.get(reverse("payments:batch", args=[batch.code])).content.decode()
    assert "银行发放文件与对账" in page and record.code in page
    # Reconciliation to the fen: 3 sent, 2 paid, 1 failed, no difference.
    assert 'data-testid="reconciliation"' in page and 'data-testid="no-differences"' in page
    assert "5,000.00" in page and "1,500.00" in page
    failure = PaymentFailure.objects.get()
    failures_page = payer.get(reverse("payments:failures")).content.decode()
    assert "账户已销户" in failures_page
    corrected = payer.post(
        reverse("payments:failures"),
        {"action": "correct", "failure": failure.pk, "note": "账户已恢复，原账户重新发放"},
    )
    assert corrected.status_code == 302
    repaid = payer.post(reverse("payments:failures"), {"action": "repay", "failures": [failure.pk]})
    assert repaid.status_code == 302
    failure.refresh_from_db()
    assert failure.status == FailureStatus.QUEUED and failure.repaid_by_row is not None
    # Never twice: the same failure again is refused.
    twice = payer.post(reverse("payments:failures"), {"action": "repay", "failures": [failure.pk]})
    assert twice.status_code == 400
    # The auditor and another office: read-only, or nothing.
    assert _client(world.auditor).get(reverse("payments:failures")).status_code == 200
    assert (
        failure.person.name
        not in _client(world.other_office_clerk).get(reverse("payments:failures")).content.decode()
    )
    assert checker.get(reverse("payments:recoveries")).status_code == 200


def _named(data: bytes, name: str, world: BatchWorld) -> object:
    path = world.directory / name
    path.write_bytes(data)
    return path.open("rb")


def test_person_page_shows_payments_received(world: BatchWorld) -> None:
    batch = _approved_and_exported(world)
    admin = make_user(Role.SYSTEM_ADMIN, world.office)
    client = _client(admin)
    person = world.people[0]
    client.post(reverse("web:person_detail", args=[person.pk]), {"purpose": Purpose.PAYMENT})
    html = client.get(reverse("web:person_detail", args=[person.pk])).content.decode()
    assert "待遇及补贴发放进卡" in html
    assert batch.code in html and "1,500.00" in html and "2026-03" in html
