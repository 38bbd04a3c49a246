"""Payments to the banks and back (issue #12 §2): the encrypted payment file per bank and
branch of an approved batch, its download by that bank only, the bank's results imported
atomically and idempotently, the failure queue with its re-payment in a later batch (once,
ever) and the recovery list (追回) of payments made after the payee's death.

A killed export leaves no file counted as sent: each file is written to a temporary name,
fsynced and renamed into place, and only then, in the one transaction that also holds the
batch's row lock, are the file records, their lines and the batch's move to 已生成银行文件
written. A crash before the commit leaves at most an unrecorded file on disk, which no page
lists and no bank can download; the batch stays 已审批 and can be exported again.

Everything over the rows is set-wise (Polars for the file contents, COPY / executemany for
the lines, one UPDATE … FROM for the results), never one ORM object per row.
"""

# ruff: noqa: S608 - SQL is built from Django's quoted table names; values are bound.
from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import User
from shebao.cards.services.bulk import insert_frame
from shebao.cards.services.exchange import (
    KIND_PAYMENT_ORDER,
    KIND_PAYMENT_RESULT,
    open_exchange_file,
    seal_exchange_file,
    sm3_hex,
)
from shebao.errors import NotFound, PermissionDenied, ShebaoError, ValidationFailed
from shebao.identity.spreadsheet import FORMULA_PATTERN
from shebao.payments.domain.bankfile import (
    PAYMENT_FILE_HEADER,
    RESULT_FILE_HEADER,
    ResultLine,
    RowError,
    csv_bytes,
    fen_to_yuan,
    read_results_frame,
    result_file_rows,
)
from shebao.payments.domain.batch_lifecycle import BatchEvent, BatchStatus, transition
from shebao.payments.frames import query_frame
from shebao.payments.models import (
    BankFileStatus,
    BankPaymentFile,
    BankPaymentLine,
    BankResultFile,
    BankResultRow,
    FailureStatus,
    LineStatus,
    PaymentBatch,
    PaymentBatchHistory,
    PaymentFailure,
    PaymentRecovery,
    PaymentRow,
    RecoveryStatus,
)
from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person

__all__ = [
    "EXPORT_IN_BACKGROUND_ROWS",
    "ResultsImport",
    "analyse",
    "bank_files_sweep_orphans",
    "bank_results_file",
    "bank_user_may_see",
    "payment_failures_repay",
    "payment_file_download",
    "payment_files_export",
    "payment_files_export_start",
    "payment_recoveries_sweep",
    "payment_results_import",
    "raise_if_rows_invalid",
    "seal_and_store",
]

# A batch above this many payable rows is exported by the worker, with progress shown.
EXPORT_IN_BACKGROUND_ROWS: Final[int] = 50_000
_TARGET: Final[str] = "payment_bank_file"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _is_admin(actor: User) -> bool:
    return bool(actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN))


def _ensure_office(actor: User, paying_office_id: int) -> None:
    if _is_admin(actor):
        return
    if not actor.has_role(Role.PAYING_OFFICE_CLERK) or actor.organisation_id != paying_office_id:
        raise PermissionDenied("只有本项目发放机构的经办人员可以办理", code="NOT_PAYING_OFFICE")


def bank_user_may_see(actor: User, bank_id: int, branch_id: int | None) -> bool:
    """A bank's users see their bank's files; a branch's users only the files of the branch
    (its own customers), never another branch's or the head bank's undivided one."""
    org = actor.organisation
    if org is None or not org.is_active:
        return False
    if org.kind == OrganisationKind.BANK:
        return org.pk == bank_id
    if org.kind == OrganisationKind.BANK_BRANCH:
        root = org.bank_root
        return root is not None and root.pk == bank_id and branch_id == org.pk
    return False


# ---- storing sealed files -------------------------------------------------------------------


def _storage_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "payments" / "bank"
    path.mkdir(parents=True, exist_ok=True)
    return path


def seal_and_store(content: bytes, *, kind: str, code: str, partner: str) -> tuple[str, str]:
    """Seal `content` and put it durably at its final name: temporary file, fsync, rename,
    fsync of the directory. Returns (path relative to MEDIA_ROOT, SM3 of the sealed bytes)."""
    sealed = seal_exchange_file(content, kind=kind, reference=code, partner=partner)
    directory = _storage_dir()
    final = directory / f"{code}.dat"
    fd, tmp = tempfile.mkstemp(prefix=f".{code}-", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(sealed)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return str(final.relative_to(Path(settings.MEDIA_ROOT))), sm3_hex(sealed)


# An export writes its files before the transaction that records them commits; a file younger
# than this may belong to an export still running in another process, so the sweep spares it.
# Even a million-row export takes well under a minute.
ORPHAN_GRACE: Final[timedelta] = timedelta(hours=1)


def bank_files_sweep_orphans(*, older_than: timedelta = ORPHAN_GRACE) -> int:
    """Delete what a killed export (payment or deduction file) left on disk: temporary
    `.part` files, and sealed `.dat` files that no file record names (the export died before
    its commit, so no page lists them and no bank can download them). Run at every export and
    by the worker's nightly job. Returns how many files were removed."""
    from shebao.payments.models import DeductionFile

    directory = _storage_dir()
    cutoff = time.time() - older_than.total_seconds()
    candidates: dict[str, Path] = {}
    removed = 0
    for path in directory.iterdir():
        try:
            if not path.is_file() or path.stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        if path.name.startswith(".") and path.name.endswith(".part"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        elif path.suffix == ".dat":
            candidates[str(path.relative_to(Path(settings.MEDIA_ROOT)))] = path
    if candidates:
        recorded = set(
            BankPaymentFile.objects.filter(stored_path__in=candidates).values_list(
                "stored_path", flat=True
            )
        ) | set(
            DeductionFile.objects.filter(stored_path__in=candidates).values_list(
                "stored_path", flat=True
            )
        )
        for stored, path in candidates.items():
            if stored not in recorded:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
    return removed


def _read_stored(stored_path: str, expected_sm3: str) -> bytes:
    data = (Path(settings.MEDIA_ROOT) / stored_path).read_bytes()
    if sm3_hex(data) != expected_sm3:
        raise ShebaoError(
            code="BANK_FILE_CORRUPT",
            message="存储的银行文件与生成时的 SM3 校验值不符，请联系系统管理员",
            status=500,
        )
    return data


def _neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    """Vectorised twin of the formula-safe CSV writer: text a spreadsheet would run gets a
    leading apostrophe."""
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_PATTERN))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, t in frame.schema.items()
        if t == pl.Utf8
    )


def _frame_csv(header: tuple[str, ...], frame: pl.DataFrame) -> bytes:
    out = _neutralised(frame)
    out.columns = list(header)
    buffer = io.BytesIO()
    out.write_csv(buffer, line_terminator="\n")
    return buffer.getvalue()


# ---- export ---------------------------------------------------------------------------------


_ROWS_SCHEMA: Final[dict[str, Any]] = {
    "row_id": pl.Int64,
    "bank_id": pl.Int64,
    "branch_id": pl.Int64,
    "id_number": pl.Utf8,
    "name": pl.Utf8,
    "card_number": pl.Utf8,
    "account_number": pl.Utf8,
    "amount_fen": pl.Int64,
}


def _payable_rows(batch: PaymentBatch) -> pl.DataFrame:
    table = _q(PaymentRow._meta.db_table)
    return query_frame(
        f"SELECT id, frozen_bank_id, frozen_branch_id, frozen_id_number, frozen_name, "
        f"frozen_card_number, frozen_account_number, amount_fen FROM {table} "
        f"WHERE batch_id = %s AND payable AND NOT dropped ORDER BY row_number",
        [batch.pk],
        _ROWS_SCHEMA,
    )


def _record_batch(
    batch: PaymentBatch, *, actor: User | None, event: BatchEvent, note: str = ""
) -> None:
    step = transition(batch.batch_status, event)
    PaymentBatchHistory.objects.create(
        batch=batch,
        event=event.value,
        from_status=batch.status,
        to_status=step.to_status.value,
        actor=actor,
        note=note[:255],
    )
    batch.status = step.to_status.value
    batch.updated_at = timezone.now()
    batch.save(update_fields=["status", "updated_at"])


def payment_files_export(
    *,
    actor: User,
    batch_id: int,
    progress: Any = None,
    _fail_after_files: int | None = None,
) -> list[BankPaymentFile]:
    """已审批 → 已生成银行文件: one sealed payment file per bank and branch from the frozen
    snapshot. `progress(done, total, message)` is called as files are written (the job shows
    it). `_fail_after_files` is for the crash test only: it raises after that many files are
    on disk, before anything is recorded. What an earlier, killed export left on disk is
    swept first."""
    bank_files_sweep_orphans()
    with transaction.atomic():
        batch = (
            PaymentBatch.objects.select_for_update(of=("self",))
            .select_related("programme")
            .filter(pk=batch_id)
            .first()
        )
        if batch is None:
            raise NotFound("未找到该发放批次", code="PAYMENT_BATCH_NOT_FOUND")
        _ensure_office(actor, batch.programme.paying_office_id)
        if batch.status != BatchStatus.APPROVED.value:
            raise ValidationFailed(
                f"批次状态为“{batch.batch_status.label}”，只有已审批的批次可以生成银行发放文件",
                code="BATCH_NOT_APPROVED",
            )
        rows = _payable_rows(batch)
        if rows.is_empty():
            raise ValidationFailed("该批次没有可发放的明细", code="NOTHING_TO_PAY")
        unbanked = rows.filter(pl.col("bank_id").is_null() | (pl.col("account_number") == ""))
        if unbanked.height:
            raise ValidationFailed(
                f"有 {unbanked.height} 笔明细没有冻结的银行账户，不能生成银行文件",
                code="ROWS_WITHOUT_ACCOUNT",
            )
        rows = rows.with_columns(
            ("DF" + pl.col("row_id").cast(pl.Utf8).str.zfill(12)).alias("reference")
        )
        groups = rows.partition_by(["bank_id", "branch_id"], maintain_order=True, as_dict=True)
        from shebao.accounts.models import Organisation

        banks = Organisation.objects.in_bulk({int(k[0]) for k in groups})
        written: list[Path] = []
        made: list[BankPaymentFile] = []
        try:
            for n, ((bank_id, branch_id), group) in enumerate(sorted(groups.items(), key=_key)):
                if _fail_after_files is not None and n >= _fail_after_files:
                    raise RuntimeError("export interrupted (test)")
                bank = banks[int(bank_id)]
                code = f"DF{timezone.localdate():%Y%m%d}{uuid.uuid4().hex[:10].upper()}"
                content = _frame_csv(
                    PAYMENT_FILE_HEADER,
                    group.select(
                        pl.int_range(1, pl.len() + 1).alias("n"),
                        "reference",
                        "id_number",
                        "name",
                        "card_number",
                        "account_number",
                        (
                            (pl.col("amount_fen") // 100).cast(pl.Utf8)
                            + "."
                            + (pl.col("amount_fen") % 100).cast(pl.Utf8).str.zfill(2)
                        ).alias("yuan"),
                        pl.lit(batch.programme.name).alias("programme"),
                        pl.lit(batch.period).alias("period"),
                    ),
                )
                stored, file_sm3 = seal_and_store(
                    content, kind=KIND_PAYMENT_ORDER, code=code, partner=bank.code
                )
                written.append(Path(settings.MEDIA_ROOT) / stored)
                made.append(
                    BankPaymentFile(
                        code=code,
                        batch=batch,
                        bank_id=int(bank_id),
                        branch_id=int(branch_id) if branch_id is not None else None,
                        record_count=group.height,
                        total_fen=int(group["amount_fen"].sum()),
                        stored_path=stored,
                        file_sm3=file_sm3,
                        content_sm3=sm3_hex(content),
                        created_by=actor,
                    )
                )
                if progress is not None:
                    progress(n + 1, len(groups), f"已生成 {bank.name} 的发放文件")
            # Everything on disk: now record it, in this one transaction.
            for record, (_, group) in zip(made, sorted(groups.items(), key=_key), strict=True):
                record.save()
                insert_frame(
                    BankPaymentLine,
                    group.select(
                        pl.lit(record.pk, dtype=pl.Int64).alias("file_id"),
                        "row_id",
                        "reference",
                        "amount_fen",
                        pl.lit(LineStatus.PENDING.value).alias("status"),
                        pl.lit(None, dtype=pl.Int64).alias("paid_fen"),
                        pl.lit("").alias("failure_reason"),
                        pl.lit("").alias("failure_text"),
                    ),
                )
            analyse(BankPaymentLine)
            _record_batch(
                batch,
                actor=actor,
                event=BatchEvent.EXPORT,
                note=(
                    f"{len(made)} 个银行文件，{rows.height} 笔，"
                    f"{fen_to_yuan(int(rows['amount_fen'].sum()))} 元"
                ),
            )
            audit_record(
                actor=actor,
                action=AuditAction.EXPORT,
                target_type="payment_batch",
                target_id=batch.pk,
                detail={
                    "batch": batch.code,
                    "files": [f.code for f in made],
                    "rows": rows.height,
                    "fen": int(rows["amount_fen"].sum()),
                },
            )
        except BaseException:
            for path in written:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            raise
    return made


def payment_files_export_start(*, actor: User, batch_id: int) -> list[BankPaymentFile] | int:
    """Export now (a small batch: the files) or on the worker (a big one: the job's id, whose
    page shows the progress). The checks that need no work run first, so a refusal is
    immediate either way."""
    batch = PaymentBatch.objects.select_related("programme").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("未找到该发放批次", code="PAYMENT_BATCH_NOT_FOUND")
    _ensure_office(actor, batch.programme.paying_office_id)
    if batch.status != BatchStatus.APPROVED.value:
        raise ValidationFailed(
            f"批次状态为“{batch.batch_status.label}”，只有已审批的批次可以生成银行发放文件",
            code="BATCH_NOT_APPROVED",
        )
    if batch.payable_count <= EXPORT_IN_BACKGROUND_ROWS:
        return payment_files_export(actor=actor, batch_id=batch_id)
    from shebao.jobs.services import job_enqueue
    from shebao.payments.jobs_bank import EXPORT_BANK_FILES

    job = job_enqueue(
        kind=EXPORT_BANK_FILES,
        parameters={"batch_id": batch_id, "actor_id": actor.pk},
        created_by=actor,
    )
    return int(job.pk)


def _key(item: tuple[tuple[object, ...], pl.DataFrame]) -> tuple[int, int]:
    bank_id, branch_id = item[0]
    return int(bank_id or 0), int(branch_id or 0)  # type: ignore[call-overload]


# ---- download -------------------------------------------------------------------------------


def payment_file_download(
    *, actor: User, file_id: int, today: date | None = None
) -> tuple[BankPaymentFile, bytes]:
    """The sealed file, for its bank (or its branch) only. The first download counts as
    sent to the bank: the sent date is set (the working-day clock of the results starts)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        record = (
            BankPaymentFile.objects.select_for_update(of=("self",))
            .select_related("bank", "batch")
            .filter(pk=file_id)
            .first()
        )
        if record is None or not bank_user_may_see(actor, record.bank_id, record.branch_id):
            raise NotFound("银行发放文件不存在或不属于本行", code="BANK_FILE_NOT_FOUND")
        data = _read_stored(record.stored_path, record.file_sm3)
        if record.status == BankFileStatus.READY:
            record.status = BankFileStatus.SENT
            record.sent_on = today
            record.first_downloaded_at = timezone.now()
            record.first_downloaded_by = actor
        record.download_count += 1
        record.save(
            update_fields=[
                "status",
                "sent_on",
                "first_downloaded_at",
                "first_downloaded_by",
                "download_count",
            ]
        )
        audit_record(
            actor=actor,
            action=AuditAction.DOWNLOAD,
            target_type=_TARGET,
            target_id=record.pk,
            detail={"file": record.code, "records": record.record_count, "sm3": record.file_sm3},
        )
    return record, data


# ---- results --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResultsImport:
    file: BankPaymentFile
    paid: int
    failed: int
    unchanged: int
    never_sent: int
    already_imported: bool = False


class ResultRowsInvalid(ShebaoError):
    def __init__(self, errors: Sequence[RowError]) -> None:
        shown = "；".join(e.message() for e in errors[:3])
        more = f"等 {len(errors)} 处" if len(errors) > 3 else ""
        super().__init__(
            code="RESULT_ROWS_INVALID",
            message=f"回盘文件有误，未导入任何结果：{shown}{more}",
            status=422,
            details=[e.as_detail() for e in errors],
        )


def raise_if_rows_invalid(errors: Sequence[RowError]) -> None:
    if errors:
        raise ResultRowsInvalid(sorted(errors, key=lambda e: e.row))


def bank_results_file(record: BankPaymentFile, lines: list[ResultLine]) -> bytes:
    """The bank's side (tests, the demo, a bank's tooling): results as a sealed file."""
    content = csv_bytes(RESULT_FILE_HEADER, result_file_rows(lines))
    return seal_exchange_file(
        content, kind=KIND_PAYMENT_RESULT, reference=record.code, partner=record.bank.code
    )


def _results_frame(good: pl.DataFrame, result_file_id: int) -> pl.DataFrame:
    return good.select(pl.lit(result_file_id, dtype=pl.Int64).alias("result_file_id"), pl.all())


def _check_against_sent(
    good: pl.DataFrame, record: BankPaymentFile
) -> tuple[pl.DataFrame, list[RowError]]:
    """A result for a sent reference must name the person it was sent for; one for a
    reference never sent is kept for reconciliation, not refused. Returns the rows joined
    with what was sent (`sent_id` null: never sent) and the mismatches."""
    line = _q(BankPaymentLine._meta.db_table)
    row = _q(PaymentRow._meta.db_table)
    sent = query_frame(
        f"SELECT l.reference, r.frozen_id_number FROM {line} AS l "
        f"JOIN {row} AS r ON r.id = l.row_id WHERE l.file_id = %s",
        [record.pk],
        {"reference": pl.Utf8, "sent_id": pl.Utf8},
    )
    joined = good.join(sent, on="reference", how="left")
    mismatched = joined.filter(
        pl.col("sent_id").is_not_null() & (pl.col("sent_id") != pl.col("id_number"))
    )
    errors = [
        RowError(int(n), "社会保障号码", "与本系统发出的该流水号的人员不符")
        for n in mismatched["row_number"].to_list()
    ]
    return joined, errors


def payment_results_import(*, actor: User, data: bytes, today: date | None = None) -> ResultsImport:
    """The bank's results for one of its payment files: verified and decrypted, every row
    checked before anything is written (a bad row refuses the whole file, naming row and
    column), then in one transaction the rows are kept, each pending line takes its answer,
    failures enter the queue and payments after death the recovery list. The same file
    again changes nothing."""
    today = today or timezone.localdate()
    opened = open_exchange_file(data, kind=KIND_PAYMENT_RESULT)
    good, format_errors = read_results_frame(opened.content)
    with transaction.atomic():
        record = (
            BankPaymentFile.objects.select_for_update(of=("self",))
            .select_related("bank", "batch")
            .filter(code=opened.reference)
            .first()
        )
        if record is None or not bank_user_may_see(actor, record.bank_id, record.branch_id):
            raise NotFound(
                f"银行发放文件 {opened.reference} 不存在或不属于本行", code="BANK_FILE_NOT_FOUND"
            )
        if record.status == BankFileStatus.READY:
            raise ValidationFailed("该发放文件尚未发送银行，不能导入回盘", code="FILE_NOT_SENT")
        if BankResultFile.objects.filter(payment_file=record, content_sm3=opened.digest).exists():
            return ResultsImport(record, 0, 0, 0, 0, already_imported=True)
        joined, person_errors = _check_against_sent(good, record)
        raise_if_rows_invalid([*format_errors, *person_errors])
        succeeded = int((good["outcome"] == "succeeded").sum())
        result_file = BankResultFile.objects.create(
            payment_file=record,
            content_sm3=opened.digest,
            row_count=good.height,
            succeeded_count=succeeded,
            failed_count=good.height - succeeded,
            imported_by=actor,
        )
        insert_frame(BankResultRow, _results_frame(good, result_file.pk))
        paid, failed = _apply_results(record, result_file)
        never_sent = int(joined["sent_id"].is_null().sum())
        unchanged = good.height - never_sent - paid - failed
        _queue_failures(record)
        _mark_repaid(record)
        _refresh_file(record)
        _reconcile_batch_if_answered(record.batch, actor)
        payment_recoveries_sweep(batch_id=record.batch_id)
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            target_type=_TARGET,
            target_id=record.pk,
            detail={
                "file": record.code,
                "paid": paid,
                "failed": failed,
                "unchanged": unchanged,
                "never_sent": never_sent,
                "sm3": opened.digest,
            },
        )
    return ResultsImport(record, paid, failed, unchanged, never_sent)


def analyse(*models: type[Any]) -> None:
    """Fresh statistics after a bulk insert, on PostgreSQL: without them the planner takes a
    just-filled table for empty and joins it by nested loops (20,000 results took 28 s)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {_q(model._meta.db_table)}")


def _apply_results(record: BankPaymentFile, result_file: BankResultFile) -> tuple[int, int]:
    """Pending lines take their answer in one UPDATE … FROM per outcome; a line already
    answered keeps its first answer (a contradiction shows in the reconciliation)."""
    line = _q(BankPaymentLine._meta.db_table)
    result = _q(BankResultRow._meta.db_table)
    now = timezone.now()
    analyse(BankResultRow, BankPaymentLine)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {line} SET status = %s, paid_fen = r.amount_fen, answered_at = %s "
            f"FROM {result} AS r WHERE r.result_file_id = %s AND r.reference = {line}.reference "
            f"AND {line}.file_id = %s AND {line}.status = %s AND r.outcome = %s",
            [LineStatus.PAID.value, now, result_file.pk, record.pk, "pending", "succeeded"],
        )
        paid = cursor.rowcount
        cursor.execute(
            f"UPDATE {line} SET status = %s, failure_reason = r.failure_reason, "
            f"failure_text = r.failure_text, answered_at = %s "
            f"FROM {result} AS r WHERE r.result_file_id = %s AND r.reference = {line}.reference "
            f"AND {line}.file_id = %s AND {line}.status = %s AND r.outcome = %s",
            [LineStatus.FAILED.value, now, result_file.pk, record.pk, "pending", "failed"],
        )
        failed = cursor.rowcount
    return paid, failed


def _queue_failures(record: BankPaymentFile) -> None:
    failure = _q(PaymentFailure._meta.db_table)
    line = _q(BankPaymentLine._meta.db_table)
    row = _q(PaymentRow._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {failure} (line_id, person_id, bank_id, amount_fen, reason, status, "
            f"corrected_account_number, corrected_card_number, correction_note, created_at) "
            f"SELECT l.id, r.person_id, r.frozen_bank_id, l.amount_fen, l.failure_reason, %s, "
            f"'', '', '', %s FROM {line} AS l JOIN {row} AS r ON r.id = l.row_id "
            f"WHERE l.file_id = %s AND l.status = %s "
            f"AND NOT EXISTS (SELECT 1 FROM {failure} AS f WHERE f.line_id = l.id)",
            [FailureStatus.OPEN.value, timezone.now(), record.pk, LineStatus.FAILED.value],
        )


def _mark_repaid(record: BankPaymentFile) -> None:
    """A re-payment row of this file that the bank paid closes its failure (已补发成功)."""
    PaymentFailure.objects.filter(
        status=FailureStatus.QUEUED,
        repaid_by_row__bank_line__file=record,
        repaid_by_row__bank_line__status=LineStatus.PAID,
    ).update(status=FailureStatus.REPAID)


def _refresh_file(record: BankPaymentFile) -> None:
    figures = BankPaymentLine.objects.filter(file=record).aggregate(
        paid_count=Count("pk", filter=Q(status=LineStatus.PAID)),
        paid_fen=Sum("paid_fen", filter=Q(status=LineStatus.PAID)),
        failed_count=Count("pk", filter=Q(status=LineStatus.FAILED)),
        failed_fen=Sum("amount_fen", filter=Q(status=LineStatus.FAILED)),
        pending=Count("pk", filter=Q(status=LineStatus.PENDING)),
    )
    record.paid_count = figures["paid_count"]
    record.paid_fen = figures["paid_fen"] or 0
    record.failed_count = figures["failed_count"]
    record.failed_fen = figures["failed_fen"] or 0
    if figures["pending"] == 0:
        record.status = BankFileStatus.ANSWERED
    record.save(update_fields=["paid_count", "paid_fen", "failed_count", "failed_fen", "status"])


def _reconcile_batch_if_answered(batch: PaymentBatch, actor: User) -> None:
    """已生成银行文件 → 已对账 once every line of every file has its answer."""
    locked = PaymentBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.status != BatchStatus.EXPORTED.value:
        return
    if (
        BankPaymentFile.objects.filter(batch=locked)
        .exclude(status=BankFileStatus.ANSWERED)
        .exists()
    ):
        return
    _record_batch(locked, actor=actor, event=BatchEvent.RECONCILE, note="各银行回盘均已导入")


# ---- failures and re-payment ----------------------------------------------------------------
# Correcting, closing and releasing a failure: services/failures.py.


def payment_failures_repay(
    *, actor: User, failure_ids: list[int], period: str | None = None
) -> PaymentBatch:
    """A later batch (草稿, 按系统数据生成) of the same programme re-paying corrected
    failures: one row per failure, linked both ways one-to-one, so no failure is ever re-paid
    twice (the database refuses it even if two clerks try at once). The batch then goes
    through check, submission and approval like any other."""
    if not failure_ids:
        raise ValidationFailed("请选择要补发的失败记录", code="NOTHING_TO_REPAY")
    with transaction.atomic():
        failures = list(
            PaymentFailure.objects.select_for_update(of=("self",))
            .select_related("line__row__batch__programme", "person")
            .filter(pk__in=failure_ids)
            .order_by("pk")
        )
        if len(failures) != len(set(failure_ids)):
            raise NotFound("部分失败记录不存在", code="PAYMENT_FAILURE_NOT_FOUND")
        programmes = {f.line.row.batch.programme_id for f in failures}
        if len(programmes) != 1:
            raise ValidationFailed("一次只能补发同一发放项目的失败记录", code="MIXED_PROGRAMMES")
        first = failures[0].line.row.batch
        _ensure_office(actor, first.programme.paying_office_id)
        not_ready = [f.pk for f in failures if f.status != FailureStatus.CORRECTED]
        if not_ready:
            raise ValidationFailed(
                f"失败记录 {', '.join(map(str, not_ready))} 不是“已更正待补发”状态"
                "（未更正，或已纳入补发）",
                code="FAILURE_NOT_CORRECTED",
            )
        digest = sm3_hex(("repay:" + ",".join(str(f.pk) for f in failures)).encode())
        batch = PaymentBatch.objects.create(
            code=f"BF{timezone.localdate():%Y%m%d}{uuid.uuid4().hex[:8].upper()}",
            programme=first.programme,
            period=period or first.period,
            period_start=first.period_start,
            source="generated",
            source_file_name="发放失败补发",
            source_digest=digest,
            row_count=len(failures),
            prepared_by=actor,
        )
        PaymentBatchHistory.objects.create(
            batch=batch,
            event=BatchEvent.PREPARE.value,
            from_status=BatchStatus.DRAFT.value,
            to_status=BatchStatus.DRAFT.value,
            actor=actor,
            note=f"补发 {len(failures)} 笔发放失败记录",
        )
        for n, failure in enumerate(failures, start=1):
            old = failure.line.row
            new = PaymentRow.objects.create(
                batch=batch,
                row_number=n,
                person_id=old.person_id,
                id_number=old.frozen_id_number or old.id_number,
                name=old.frozen_name or old.name,
                amount_text=fen_to_yuan(failure.amount_fen),
                amount_fen=failure.amount_fen,
                repays=old,
            )
            failure.repaid_by_row = new
            failure.status = FailureStatus.QUEUED
            failure.save(update_fields=["repaid_by_row", "status"])
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="payment_batch",
            target_id=batch.pk,
            detail={"batch": batch.code, "repays": [f.pk for f in failures]},
        )
    return batch


# ---- recoveries -----------------------------------------------------------------------------


def payment_recoveries_sweep(
    *, person_ids: list[int] | None = None, batch_id: int | None = None
) -> int:
    """Put on the recovery list (追回) every paid line whose period began after the payee's
    recorded death. Set-wise and idempotent (a line is listed once); called when a death is
    recorded (the receiver), after results are imported, and by the nightly sweep for deaths
    loaded in bulk. Returns how many were added."""
    recovery = _q(PaymentRecovery._meta.db_table)
    line = _q(BankPaymentLine._meta.db_table)
    row = _q(PaymentRow._meta.db_table)
    batch = _q(PaymentBatch._meta.db_table)
    person = _q(Person._meta.db_table)
    where = ""
    params: list[Any] = [
        RecoveryStatus.OPEN.value,
        timezone.now(),
        LineStatus.PAID.value,
        LifeStatus.DECEASED.value,
    ]
    if person_ids is not None:
        if not person_ids:
            return 0
        where += f" AND r.person_id IN ({', '.join(['%s'] * len(person_ids))})"
        params.extend(person_ids)
    if batch_id is not None:
        where += " AND r.batch_id = %s"
        params.append(batch_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {recovery} (line_id, person_id, died_on, period_start, amount_fen, "
            f"status, recovered_fen, note, created_at) "
            f"SELECT l.id, r.person_id, p.status_date, b.period_start, l.paid_fen, %s, 0, '', %s "
            f"FROM {line} AS l JOIN {row} AS r ON r.id = l.row_id "
            f"JOIN {batch} AS b ON b.id = r.batch_id JOIN {person} AS p ON p.id = r.person_id "
            f"WHERE l.status = %s AND p.life_status = %s AND p.status_date IS NOT NULL "
            f"AND p.status_date < b.period_start{where} "
            f"AND NOT EXISTS (SELECT 1 FROM {recovery} AS x WHERE x.line_id = l.id)",
            params,
        )
        return int(cursor.rowcount)
