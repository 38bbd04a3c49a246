"""Payment files to the banks: one sealed file per bank and branch from the frozen batch, a
killed export leaves nothing counted as sent, and each file reaches its own bank only (a
branch only its own customers)."""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from shebao.accounts.models import AuditEvent
from shebao.cards.services.exchange import KIND_PAYMENT_ORDER, open_exchange_file
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.jobs.choices import JobStatus
from shebao.jobs.schedules import schedules_enqueue_due
from shebao.jobs.services import job_run_next
from shebao.payments.jobs_bank import ORPHAN_FILES_SWEEP
from shebao.payments.models import BankPaymentFile, BankPaymentLine, PaymentBatch
from shebao.payments.selectors_bank import payment_files_visible
from shebao.payments.services.bank import (
    bank_files_sweep_orphans,
    payment_file_download,
    payment_files_export,
    seal_and_store,
)
from tests.integration.payments.bank_world import approved_batch, build_bank_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

AMOUNTS = [300_000, 150_050, 1, 99_999, 200_000, 123_456]


def _rows(data: bytes) -> list[dict[str, str]]:
    opened = open_exchange_file(data, kind=KIND_PAYMENT_ORDER)
    return list(csv.DictReader(io.StringIO(opened.content.decode())))


def test_one_file_per_bank_and_branch_exact_to_the_fen() -> None:
    world = build_bank_world()
    batch = approved_batch(world, AMOUNTS)
    files = payment_files_export(actor=world.maker, batch_id=batch.pk)
    by_owner = {(f.bank_id, f.branch_id): f for f in files}
    assert set(by_owner) == {
        (world.bank_a.pk, None),
        (world.bank_a.pk, world.branch_a1.pk),
        (world.bank_b.pk, None),
    }
    assert sum(f.total_fen for f in files) == sum(AMOUNTS)
    assert sum(f.record_count for f in files) == len(AMOUNTS)
    batch.refresh_from_db()
    assert batch.status == "exported"
    assert batch.history.filter(event="export", actor=world.maker).exists()
    assert AuditEvent.objects.filter(target_type="payment_batch", target_id=str(batch.pk)).exists()
    # The head bank's own file: persons 0 and 3, amounts written in yuan exactly.
    head = by_owner[(world.bank_a.pk, None)]
    _, data = payment_file_download(actor=world.bank_a_user, file_id=head.pk)
    rows = _rows(data)
    assert [r["社会保障号码"] for r in rows] == [
        world.persons[0].id_number,
        world.persons[3].id_number,
    ]
    assert [r["金额（元）"] for r in rows] == ["3000.00", "999.99"]
    assert rows[0]["发放项目"] == "城乡居民基本养老保险待遇" and rows[0]["发放期别"] == "2026-11"
    assert rows[0]["流水号"] == BankPaymentLine.objects.get(row__row_number=1).reference


def test_only_an_approved_batch_by_its_own_office() -> None:
    world = build_bank_world()
    batch = approved_batch(world, AMOUNTS)
    with pytest.raises(PermissionDenied):
        payment_files_export(actor=world.bank_a_user, batch_id=batch.pk)
    PaymentBatch.objects.filter(pk=batch.pk).update(status="submitted")
    with pytest.raises(ValidationFailed) as refused:
        payment_files_export(actor=world.maker, batch_id=batch.pk)
    assert refused.value.code == "BATCH_NOT_APPROVED"
    PaymentBatch.objects.filter(pk=batch.pk).update(status="approved")
    payment_files_export(actor=world.maker, batch_id=batch.pk)
    with pytest.raises(ValidationFailed):  # exported once; never a second set of files
        payment_files_export(actor=world.maker, batch_id=batch.pk)


def test_a_killed_export_leaves_no_file_counted_as_sent() -> None:
    world = build_bank_world()
    batch = approved_batch(world, AMOUNTS)
    with pytest.raises(RuntimeError):
        payment_files_export(actor=world.maker, batch_id=batch.pk, _fail_after_files=2)
    batch.refresh_from_db()
    assert batch.status == "approved"
    assert not BankPaymentFile.objects.exists()
    assert not BankPaymentLine.objects.exists()
    stored = Path(settings.MEDIA_ROOT) / "payments" / "bank"
    assert list(stored.iterdir()) == []  # neither the two written files nor a temporary one
    files = payment_files_export(actor=world.maker, batch_id=batch.pk)
    assert len(files) == 3
    assert sorted(p.name for p in stored.iterdir()) == sorted(f"{f.code}.dat" for f in files)


def test_each_bank_downloads_its_own_and_a_branch_only_its_customers() -> None:
    world = build_bank_world()
    batch = approved_batch(world, AMOUNTS)
    files = {
        (f.bank_id, f.branch_id): f
        for f in payment_files_export(actor=world.maker, batch_id=batch.pk)
    }
    head = files[(world.bank_a.pk, None)]
    branch = files[(world.bank_a.pk, world.branch_a1.pk)]
    other = files[(world.bank_b.pk, None)]
    assert set(payment_files_visible(world.bank_a_user)) == {head, branch}
    assert set(payment_files_visible(world.branch_a1_user)) == {branch}
    assert set(payment_files_visible(world.bank_b_user)) == {other}
    assert set(payment_files_visible(world.maker)) == {head, branch, other}
    for user, record in [
        (world.branch_a1_user, head),
        (world.bank_b_user, head),
        (world.bank_a_user, other),
        (world.maker, head),  # the office sees the file's figures, never its contents
    ]:
        with pytest.raises(NotFound):
            payment_file_download(actor=user, file_id=record.pk)
    record, data = payment_file_download(actor=world.branch_a1_user, file_id=branch.pk)
    assert [r["社会保障号码"] for r in _rows(data)] == [
        world.persons[1].id_number,
        world.persons[4].id_number,
    ]
    assert record.status == "sent" and record.sent_on is not None
    assert record.first_downloaded_by == world.branch_a1_user
    payment_file_download(actor=world.bank_a_user, file_id=branch.pk)
    record.refresh_from_db()
    assert record.download_count == 2 and record.first_downloaded_by == world.branch_a1_user


def test_a_big_batch_is_exported_by_the_worker_with_progress(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from shebao.jobs.models import Job
    from shebao.jobs.services import job_run_next
    from shebao.payments.services import bank

    world = build_bank_world()
    batch = approved_batch(world, AMOUNTS)
    monkeypatch.setattr(bank, "EXPORT_IN_BACKGROUND_ROWS", 3)
    job_id = bank.payment_files_export_start(actor=world.maker, batch_id=batch.pk)
    assert isinstance(job_id, int)
    assert not BankPaymentFile.objects.exists()
    job_run_next(job_id=job_id)
    job = Job.objects.get(pk=job_id)
    assert job.status == "succeeded", job.error
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.result["rows"] == len(AMOUNTS) and job.result["fen"] == sum(AMOUNTS)
    assert BankPaymentFile.objects.filter(batch=batch).count() == 3


def _age(path: Path, hours: float) -> None:
    then = path.stat().st_mtime - hours * 3600
    os.utime(path, (then, then))


def test_what_a_killed_export_left_on_disk_is_swept() -> None:
    """A process killed between the rename of a sealed file and the commit leaves a `.dat`
    that no record names, and one killed mid-write a `.part`: the next export (and the
    worker's nightly job) removes them once they are old enough not to belong to an export
    still running; recorded files and fresh ones stay."""
    world = build_bank_world()
    stored = Path(settings.MEDIA_ROOT) / "payments" / "bank"
    kept_path, _ = seal_and_store(b"x", kind=KIND_PAYMENT_ORDER, code="DFKEPT", partner="B")
    first = approved_batch(world, AMOUNTS)
    recorded = payment_files_export(actor=world.maker, batch_id=first.pk)
    orphan, _ = seal_and_store(b"x", kind=KIND_PAYMENT_ORDER, code="DFORPHAN1", partner="B")
    partial = stored / ".DFORPHAN2-abc.part"
    partial.write_bytes(b"half a file")
    for path in [Path(settings.MEDIA_ROOT) / orphan, partial]:
        _age(path, 2)
    for record in recorded:  # recorded files are never swept, however old
        _age(Path(settings.MEDIA_ROOT) / record.stored_path, 48)
    second = approved_batch(world, AMOUNTS, period="2026-12", code="PB0002")
    exported = payment_files_export(actor=world.maker, batch_id=second.pk)
    names = {p.name for p in stored.iterdir()}
    assert "DFORPHAN1.dat" not in names and partial.name not in names
    assert Path(kept_path).name in names  # too young: may be another export's, in flight
    assert {f"{f.code}.dat" for f in [*recorded, *exported]} <= names
    head = next(f for f in recorded if f.bank_id == world.bank_a.pk and f.branch_id is None)
    assert payment_file_download(actor=world.bank_a_user, file_id=head.pk)[1]
    # The worker's nightly job does the same without an export.
    _age(Path(settings.MEDIA_ROOT) / kept_path, 2)
    schedules_enqueue_due(now=timezone.localtime().replace(hour=5))
    while (job := job_run_next(kinds=[ORPHAN_FILES_SWEEP])) is not None:
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert job.result == {"removed": 1}
    assert "DFKEPT.dat" not in {p.name for p in stored.iterdir()}
    assert bank_files_sweep_orphans(older_than=timedelta(0)) == 0
