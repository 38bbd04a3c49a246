"""Contributions taken from the card's account (代扣, issue #12 §2): a person's withholding
authorisation for a scheme and account, the monthly deduction file per bank (sealed like the
payment files, written durably before it is recorded), its download by that bank only and the
bank's results imported atomically and idempotently. A person is deducted at most once per
scheme and month (a unique constraint on authorisation and period)."""

# ruff: noqa: S608 - SQL is built from Django's quoted table names; values are bound.
from __future__ import annotations

import contextlib
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose, Role
from shebao.accounts.models import Organisation, User
from shebao.cards.services.bulk import insert_frame
from shebao.cards.services.exchange import (
    KIND_DEDUCTION_ORDER,
    KIND_DEDUCTION_RESULT,
    open_exchange_file,
    seal_exchange_file,
    sm3_hex,
)
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.payments.domain.bankfile import (
    DEDUCTION_FILE_HEADER,
    RESULT_FILE_HEADER,
    ResultLine,
    csv_bytes,
    read_results_frame,
    result_file_rows,
)
from shebao.payments.models import (
    BankFileStatus,
    BankResultFile,
    BankResultRow,
    DeductionFile,
    DeductionLine,
    LineStatus,
    WithholdingAuthorisation,
)
from shebao.payments.selectors_withholding import withholding_person_in_scope
from shebao.payments.services.bank import (
    _frame_csv,
    _read_stored,
    _results_frame,
    analyse,
    bank_user_may_see,
    raise_if_rows_invalid,
    seal_and_store,
)
from shebao.registry.models import Person, Scheme

__all__ = [
    "DeductionImport",
    "deduction_file_download",
    "deduction_file_export",
    "deduction_results_file",
    "deduction_results_import",
    "withholding_authorise",
    "withholding_revoke",
]

_PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_CLERK_ROLES = (
    Role.PAYING_OFFICE_CLERK,
    Role.DISTRICT_CLERK,
    Role.TOWN_CLERK,
    Role.SYSTEM_ADMIN,
)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _ensure_clerk(actor: User) -> None:
    if not (actor.is_superuser or actor.has_role(*_CLERK_ROLES)):
        raise PermissionDenied("您的角色不能办理代扣业务", code="ROLE_REQUIRED")


def _period_bounds(period: str) -> tuple[date, date]:
    match = _PERIOD_RE.match(period)
    if match is None:
        raise ValidationFailed(
            f"扣款期别“{period}”应为 YYYY-MM",
            code="PERIOD_INVALID",
            details=[{"field": "period", "reason": "应为 YYYY-MM"}],
        )
    year, month = int(match.group(1)), int(match.group(2))
    first = date(year, month, 1)
    last = date(year + (month == 12), month % 12 + 1, 1).toordinal() - 1
    return first, date.fromordinal(last)


def withholding_authorise(
    *,
    actor: User,
    person_id: int,
    scheme_code: str,
    bank_id: int,
    account_number: str,
    valid_from: date,
    valid_to: date | None = None,
) -> WithholdingAuthorisation:
    """Sign a withholding authorisation; a live one for the same scheme is replaced (revoked
    in the same transaction), never doubled."""
    _ensure_clerk(actor)
    account_number = account_number.replace(" ", "")
    if not account_number.isdigit() or not 8 <= len(account_number) <= 32:
        raise ValidationFailed(
            "扣款账号应为 8 至 32 位数字",
            code="ACCOUNT_INVALID",
            details=[{"field": "account_number", "reason": "应为 8 至 32 位数字"}],
        )
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed("截止日期不能早于生效日期", code="VALID_RANGE_INVALID")
    with transaction.atomic():
        person = Person.objects.filter(pk=person_id).first()
        scheme = Scheme.objects.filter(pk=scheme_code).first()
        bank = Organisation.objects.filter(pk=bank_id).first()
        # A person outside the office's region is answered like one who does not exist.
        if (
            person is None
            or scheme is None
            or bank is None
            or not withholding_person_in_scope(actor, person.pk)
        ):
            raise NotFound("人员、险种或银行不存在", code="WITHHOLDING_TARGET_NOT_FOUND")
        WithholdingAuthorisation.objects.select_for_update().filter(
            person=person, scheme=scheme, revoked_at__isnull=True
        ).update(revoked_at=timezone.now(), revoked_by=actor)
        authorisation = WithholdingAuthorisation.objects.create(
            person=person,
            scheme=scheme,
            bank=bank,
            account_number=account_number,
            valid_from=valid_from,
            valid_to=valid_to,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="withholding_authorisation",
            target_id=authorisation.pk,
            person_id=person.pk,
            purpose=Purpose.PAYMENT,
            detail={"scheme": scheme.code, "bank": bank.name},
        )
    return authorisation


def withholding_revoke(*, actor: User, authorisation_id: int) -> WithholdingAuthorisation:
    _ensure_clerk(actor)
    with transaction.atomic():
        authorisation = (
            WithholdingAuthorisation.objects.select_for_update()
            .filter(pk=authorisation_id, revoked_at__isnull=True)
            .first()
        )
        # Out of the office's region: not found, as if it did not exist.
        if authorisation is None or not withholding_person_in_scope(actor, authorisation.person_id):
            raise NotFound("未找到有效的代扣授权", code="WITHHOLDING_NOT_FOUND")
        authorisation.revoked_at = timezone.now()
        authorisation.revoked_by = actor
        authorisation.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="withholding_authorisation",
            target_id=authorisation.pk,
            person_id=authorisation.person_id,
            purpose=Purpose.PAYMENT,
            detail={"event": "revoke"},
        )
    return authorisation


def deduction_file_export(
    *,
    actor: User,
    bank_id: int,
    scheme_code: str,
    period: str,
    amount_fen: int,
    amounts: dict[int, int] | None = None,
) -> DeductionFile:
    """The month's deduction file for one bank and scheme: every authorisation live on the
    period's first day, at `amount_fen` each (or `amounts[person_id]`). Once per bank,
    scheme and month."""
    _ensure_clerk(actor)
    first, _ = _period_bounds(period)
    if amount_fen <= 0 or any(v <= 0 for v in (amounts or {}).values()):
        raise ValidationFailed("扣款金额应大于零", code="AMOUNT_INVALID")
    with transaction.atomic():
        bank = Organisation.objects.filter(pk=bank_id).first()
        if bank is None:
            raise NotFound("银行不存在", code="BANK_NOT_FOUND")
        if DeductionFile.objects.filter(bank=bank, scheme_id=scheme_code, period=period).exists():
            raise ValidationFailed(
                f"{bank.name} {period} 的代扣文件已生成，不能重复生成", code="DEDUCTION_EXISTS"
            )
        live = list(
            WithholdingAuthorisation.objects.filter(
                bank=bank, scheme_id=scheme_code, revoked_at__isnull=True, valid_from__lte=first
            )
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first))
            .order_by("pk")
            .values_list("pk", "person_id", "person__id_number", "person__name", "account_number")
        )
        if not live:
            raise ValidationFailed("该银行本期没有有效的代扣授权", code="NOTHING_TO_DEDUCT")
        frame = pl.DataFrame(
            live,
            schema={
                "authorisation_id": pl.Int64,
                "person_id": pl.Int64,
                "id_number": pl.Utf8,
                "name": pl.Utf8,
                "account_number": pl.Utf8,
            },
            orient="row",
        ).with_columns(
            pl.col("person_id")
            .replace_strict(amounts or {}, default=amount_fen, return_dtype=pl.Int64)
            .alias("amount_fen"),
            (f"DK{period.replace('-', '')}-" + pl.col("authorisation_id").cast(pl.Utf8)).alias(
                "reference"
            ),
        )
        code = f"DK{timezone.localdate():%Y%m%d}{uuid.uuid4().hex[:10].upper()}"
        content = _frame_csv(
            DEDUCTION_FILE_HEADER,
            frame.select(
                pl.int_range(1, pl.len() + 1).alias("n"),
                "reference",
                "id_number",
                "name",
                "account_number",
                pl.lit(scheme_code).alias("scheme"),
                pl.lit(period).alias("period"),
                (
                    (pl.col("amount_fen") // 100).cast(pl.Utf8)
                    + "."
                    + (pl.col("amount_fen") % 100).cast(pl.Utf8).str.zfill(2)
                ).alias("yuan"),
            ),
        )
        stored, file_sm3 = seal_and_store(
            content, kind=KIND_DEDUCTION_ORDER, code=code, partner=bank.code
        )
        try:
            record = DeductionFile.objects.create(
                code=code,
                bank=bank,
                scheme_id=scheme_code,
                period=period,
                record_count=frame.height,
                total_fen=int(frame["amount_fen"].sum()),
                stored_path=stored,
                file_sm3=file_sm3,
                content_sm3=sm3_hex(content),
                created_by=actor,
            )
            insert_frame(
                DeductionLine,
                frame.select(
                    pl.lit(record.pk, dtype=pl.Int64).alias("file_id"),
                    "authorisation_id",
                    "person_id",
                    pl.lit(period).alias("period"),
                    "reference",
                    "account_number",
                    "amount_fen",
                    pl.lit(LineStatus.PENDING.value).alias("status"),
                    pl.lit(None, dtype=pl.Int64).alias("deducted_fen"),
                    pl.lit("").alias("failure_reason"),
                    pl.lit("").alias("failure_text"),
                ),
            )
            audit_record(
                actor=actor,
                action=AuditAction.EXPORT,
                target_type="deduction_file",
                target_id=record.pk,
                detail={"file": code, "records": frame.height, "fen": record.total_fen},
            )
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                (Path(settings.MEDIA_ROOT) / stored).unlink()
            raise
    return record


def deduction_file_download(
    *, actor: User, file_id: int, today: date | None = None
) -> tuple[DeductionFile, bytes]:
    today = today or timezone.localdate()
    with transaction.atomic():
        record = DeductionFile.objects.select_for_update().filter(pk=file_id).first()
        if record is None or not bank_user_may_see(actor, record.bank_id, None):
            raise NotFound("代扣文件不存在或不属于本行", code="DEDUCTION_FILE_NOT_FOUND")
        data = _read_stored(record.stored_path, record.file_sm3)
        if record.status == BankFileStatus.READY:
            record.status = BankFileStatus.SENT
            record.sent_on = today
        record.download_count += 1
        record.save(update_fields=["status", "sent_on", "download_count"])
        audit_record(
            actor=actor,
            action=AuditAction.DOWNLOAD,
            target_type="deduction_file",
            target_id=record.pk,
            detail={"file": record.code, "records": record.record_count},
        )
    return record, data


def deduction_results_file(record: DeductionFile, lines: list[ResultLine]) -> bytes:
    content = csv_bytes(RESULT_FILE_HEADER, result_file_rows(lines))
    return seal_exchange_file(
        content, kind=KIND_DEDUCTION_RESULT, reference=record.code, partner=record.bank.code
    )


@dataclass(frozen=True, slots=True)
class DeductionImport:
    file: DeductionFile
    deducted: int
    failed: int
    already_imported: bool = False


def deduction_results_import(*, actor: User, data: bytes) -> DeductionImport:
    """The bank's deduction results, the same way as payment results: all rows checked
    first, nothing written on any error, the same file twice changes nothing."""
    opened = open_exchange_file(data, kind=KIND_DEDUCTION_RESULT)
    good, errors = read_results_frame(opened.content)
    with transaction.atomic():
        record = (
            DeductionFile.objects.select_for_update()
            .select_related("bank")
            .filter(code=opened.reference)
            .first()
        )
        if record is None or not bank_user_may_see(actor, record.bank_id, None):
            raise NotFound(
                f"代扣文件 {opened.reference} 不存在或不属于本行", code="DEDUCTION_FILE_NOT_FOUND"
            )
        if record.status == BankFileStatus.READY:
            raise ValidationFailed("该代扣文件尚未发送银行，不能导入回盘", code="FILE_NOT_SENT")
        if BankResultFile.objects.filter(deduction_file=record, content_sm3=opened.digest).exists():
            return DeductionImport(record, 0, 0, already_imported=True)
        raise_if_rows_invalid(errors)
        succeeded = int((good["outcome"] == "succeeded").sum())
        result_file = BankResultFile.objects.create(
            deduction_file=record,
            content_sm3=opened.digest,
            row_count=good.height,
            succeeded_count=succeeded,
            failed_count=good.height - succeeded,
            imported_by=actor,
        )
        insert_frame(BankResultRow, _results_frame(good, result_file.pk))
        line = _q(DeductionLine._meta.db_table)
        result = _q(BankResultRow._meta.db_table)
        analyse(BankResultRow, DeductionLine)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {line} SET status = %s, deducted_fen = r.amount_fen "
                f"FROM {result} AS r WHERE r.result_file_id = %s "
                f"AND r.reference = {line}.reference AND {line}.file_id = %s "
                f"AND {line}.status = 'pending' AND r.outcome = 'succeeded'",
                [LineStatus.PAID.value, result_file.pk, record.pk],
            )
            deducted = int(cursor.rowcount)
            cursor.execute(
                f"UPDATE {line} SET status = %s, failure_reason = r.failure_reason, "
                f"failure_text = r.failure_text FROM {result} AS r "
                f"WHERE r.result_file_id = %s AND r.reference = {line}.reference "
                f"AND {line}.file_id = %s AND {line}.status = 'pending' "
                f"AND r.outcome = 'failed'",
                [LineStatus.FAILED.value, result_file.pk, record.pk],
            )
            failed = int(cursor.rowcount)
        figures = DeductionLine.objects.filter(file=record).aggregate(
            ok=Count("pk", filter=Q(status=LineStatus.PAID)),
            ok_fen=Sum("deducted_fen", filter=Q(status=LineStatus.PAID)),
            bad=Count("pk", filter=Q(status=LineStatus.FAILED)),
            bad_fen=Sum("amount_fen", filter=Q(status=LineStatus.FAILED)),
            pending=Count("pk", filter=Q(status=LineStatus.PENDING)),
        )
        record.deducted_count = figures["ok"]
        record.deducted_fen = figures["ok_fen"] or 0
        record.failed_count = figures["bad"]
        record.failed_fen = figures["bad_fen"] or 0
        if figures["pending"] == 0:
            record.status = BankFileStatus.ANSWERED
        record.save()
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            target_type="deduction_file",
            target_id=record.pk,
            detail={"file": record.code, "deducted": deducted, "failed": failed},
        )
    return DeductionImport(record, deducted, failed)
