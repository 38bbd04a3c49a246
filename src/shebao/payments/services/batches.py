"""Payment batches from preparation to approval (issue #12 §1): import or generate, check,
correct or drop rows, submit, approve (maker–checker, freezing the snapshot), cancel.

Every service locks the batch row, checks the transition against
`payments.domain.batch_lifecycle`, writes the batch's history (`PaymentBatchHistory`, where
the makers are read) and the audit log in one transaction. Only clerks of the programme's
paying office (or a system administrator) change a batch; nobody who prepared, checked,
changed or submitted it may approve it.
"""

# ruff: noqa: S608 - SQL is built from Django's quoted table names; values are bound.
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import duckdb
import polars as pl
from cryptography.hazmat.primitives import hashes
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose, Role
from shebao.accounts.models import User
from shebao.errors import NotFound, PermissionDenied, ShebaoError, ValidationFailed
from shebao.identity.duckdb_sql import register_identity_macros
from shebao.identity.id_number import validate_id_number
from shebao.intake.formats.headers import header_key
from shebao.intake.formats.kinds import SourceKind
from shebao.intake.formats.readers import read_raw
from shebao.payments.domain.amounts import check_amount, format_yuan
from shebao.payments.domain.batch_lifecycle import (
    MAKER_EVENTS,
    BatchEvent,
    BatchStatus,
    ensure_not_maker,
    transition,
)
from shebao.payments.domain.reasons import split_reasons
from shebao.payments.models import (
    BatchSource,
    PaymentBatch,
    PaymentBatchHistory,
    PaymentProgramme,
    PaymentRow,
)
from shebao.payments.services._bulk import insert_frame, quoted, update_from_frame
from shebao.payments.services.checking import (
    BatchVerdicts,
    batch_verdicts,
    check_inputs_digest,
    current_department_frame,
    freeze_payment_targets,
    parse_batch_period,
)
from shebao.registry.models import Person

__all__ = [
    "BatchFileInvalid",
    "BatchStale",
    "GenerateResult",
    "batch_makers",
    "payment_batch_approve",
    "payment_batch_cancel",
    "payment_batch_check",
    "payment_batch_drop_problem_rows",
    "payment_batch_generate",
    "payment_batch_import",
    "payment_batch_submit",
    "payment_row_correct",
    "payment_row_drop",
]

# Headers of the office's file (compared after `header_key`: no blanks, notes in brackets
# such as 金额（元） dropped, full-width folded).
ID_HEADERS: Final[tuple[str, ...]] = (
    "社会保障号码",
    "公民身份号码",
    "身份证号",
    "身份证号码",
    "公民身份证号码",
    "公民身份证号",
    "身份证件号码",
    "证件号码",
    "社保号码",
)
NAME_HEADERS: Final[tuple[str, ...]] = ("姓名",)
AMOUNT_HEADERS: Final[tuple[str, ...]] = (
    "金额",
    "发放金额",
    "待遇金额",
    "补贴金额",
    "应发金额",
    "实发金额",
)
_OFFICE_ROLES: Final[frozenset[str]] = frozenset({Role.PAYING_OFFICE_CLERK, Role.SYSTEM_ADMIN})
_TARGET: Final[str] = "payment_batch"
_CHUNK: Final[int] = 1 << 20
_IN_CHUNK: Final[int] = 10_000


class BatchFileInvalid(ValidationFailed):
    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message, code="PAYMENT_BATCH_FILE_INVALID", details=details)


class BatchStale(ShebaoError):
    def __init__(self, changed: int) -> None:
        super().__init__(
            code="PAYMENT_BATCH_STALE",
            message=(
                f"自校验以来，人员、卡或已发放数据有变化，{changed} 行的校验结果已不同："
                "请重新校验并提交后再审批"
            ),
            status=409,
            details=[{"changed_rows": changed}],
        )


# --- permissions ------------------------------------------------------------------------


def _ensure_office_clerk(actor: User, programme: PaymentProgramme) -> None:
    """Only the programme's paying office (or a system administrator) changes its batches."""
    if actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN):
        return
    if not actor.has_role(*_OFFICE_ROLES):
        raise PermissionDenied("只有待遇发放机构的经办人员可以办理发放批次", code="PAYMENT_ROLE")
    if actor.organisation_id is None or actor.organisation_id != programme.paying_office_id:
        raise PermissionDenied("该发放项目不属于本机构", code="PAYMENT_OUT_OF_SCOPE")


def _locked(batch_id: int) -> PaymentBatch:
    batch = (
        PaymentBatch.objects.select_for_update()
        .select_related("programme", "programme__paying_office")
        .filter(pk=batch_id)
        .first()
    )
    if batch is None:
        raise NotFound("未找到该发放批次", code="PAYMENT_BATCH_NOT_FOUND")
    return batch


def batch_makers(batch: PaymentBatch) -> set[int]:
    """The users who prepared, checked, changed or submitted the batch."""
    makers = set(
        PaymentBatchHistory.objects.filter(
            batch=batch, event__in=[e.value for e in MAKER_EVENTS], actor__isnull=False
        ).values_list("actor_id", flat=True)
    )
    makers.add(batch.prepared_by_id)
    return makers


def _record(
    batch: PaymentBatch,
    *,
    actor: User,
    event: BatchEvent,
    to_status: BatchStatus,
    action: AuditAction,
    note: str = "",
    detail: dict[str, Any] | None = None,
    person_id: int | None = None,
) -> None:
    from_status = batch.status
    batch.status = to_status.value
    batch.updated_at = timezone.now()
    PaymentBatchHistory.objects.create(
        batch=batch,
        event=event.value,
        from_status=from_status,
        to_status=to_status.value,
        actor=actor,
        note=note[:255],
    )
    audit_record(
        actor=actor,
        action=action,
        target_type=_TARGET,
        target_id=batch.pk,
        person_id=person_id,
        purpose=Purpose.PAYMENT if person_id is not None else "",
        detail={
            "batch": batch.code,
            "programme": batch.programme.name,
            "period": batch.period,
            "event": event.label,
            "from": BatchStatus(from_status).label,
            "to": to_status.label,
            **(detail or {}),
        },
    )


def _recount_sql(batch: PaymentBatch) -> None:
    """The batch's counts and exact total, in one aggregate query."""
    table = quoted(PaymentRow._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*),
                       coalesce(sum(CASE WHEN dropped THEN 1 ELSE 0 END), 0),
                       coalesce(sum(CASE WHEN payable THEN 1 ELSE 0 END), 0),
                       coalesce(sum(CASE WHEN payable THEN amount_fen ELSE 0 END), 0),
                       coalesce(sum(CASE WHEN NOT dropped AND NOT payable THEN 1 ELSE 0 END), 0)
                FROM {table} WHERE batch_id = %s""",
            [batch.pk],
        )
        found = cursor.fetchone()
    assert found is not None  # noqa: S101 - an aggregate always returns a row
    total, dropped, payable, payable_fen, problems = (int(v) for v in found)
    batch.row_count = total
    batch.dropped_count = dropped
    batch.payable_count = payable
    batch.payable_fen = payable_fen
    batch.problem_count = problems


# --- preparing: import and generate ------------------------------------------------------


def _file_digest(path: Path) -> str:
    digest = hashes.Hash(hashes.SM3())
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.finalize().hex()


def _column(headers: tuple[str, ...], wanted: tuple[str, ...], label: str, source: str) -> int:
    keys = {header_key(h) for h in wanted}
    for position, header in enumerate(headers):
        if header_key(header) in keys:
            return position
    raise BatchFileInvalid(
        f"文件“{source}”缺少“{label}”列（可用的列名：{'、'.join(wanted)}）",
        details=[{"source": source, "column": label}],
    )


def _read_batch_file(path: Path, name: str) -> pl.DataFrame:
    """row, id_number, name, amount (as written) of the office's file; blank rows are left
    out and keep their numbers."""
    chosen: dict[str, int] = {}

    def select(headers: tuple[str, ...]) -> list[int]:
        chosen["id"] = _column(headers, ID_HEADERS, "社会保障号码（身份证号码）", name)
        chosen["name"] = _column(headers, NAME_HEADERS, "姓名", name)
        chosen["amount"] = _column(headers, AMOUNT_HEADERS, "金额", name)
        return sorted(set(chosen.values()))

    raw = read_raw(path, select=select, name=name)
    table = pl.from_arrow(raw.cells(sorted(set(chosen.values()))))
    assert isinstance(table, pl.DataFrame)  # noqa: S101 - a table converts to a frame
    return table.select(
        pl.col("row").cast(pl.Int64),
        pl.col(f"c{chosen['id']}").fill_null("").alias("id_number"),
        pl.col(f"c{chosen['name']}").fill_null("").alias("name"),
        pl.col(f"c{chosen['amount']}").fill_null("").alias("amount"),
    )


def _normalised_ids(frame: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """`id_number` normalised (GB 11643: 15 digits upgraded, full-width, blanks, lower-case
    x) where it is valid, kept as written otherwise."""
    con = duckdb.connect()
    try:
        register_identity_macros(con)
        con.register("incoming", frame.to_arrow())
        day = f"DATE '{as_of.isoformat()}'"
        return con.sql(
            f"""SELECT * REPLACE (CASE WHEN shebao_id_error(id_number, {day}) IS NULL
                                       THEN shebao_normalize_id(id_number)
                                       ELSE id_number END AS id_number)
                FROM incoming ORDER BY row"""
        ).pl()
    finally:
        con.close()


def _new_batch(
    *,
    actor: User,
    programme: PaymentProgramme,
    period_text: str,
    source: BatchSource,
    digest: str,
    file_name: str,
) -> tuple[PaymentBatch, bool]:
    """The live batch made from the same source for this programme and period, or a new one
    (True when new)."""
    period, period_start = parse_batch_period(programme, period_text)
    existing = (
        PaymentBatch.objects.filter(programme=programme, period=period, source_digest=digest)
        .exclude(status=BatchStatus.CANCELLED.value)
        .first()
    )
    if existing is not None:
        return existing, False
    now = timezone.now()
    try:
        with transaction.atomic():
            batch = PaymentBatch.objects.create(
                code=uuid.uuid4().hex[:32],
                programme=programme,
                period=period,
                period_start=period_start,
                source=source.value,
                source_file_name=file_name[:255],
                source_digest=digest,
                prepared_by=actor,
                prepared_at=now,
                updated_at=now,
            )
    except IntegrityError:
        # The same file imported at the same moment by another request: that batch counts.
        found = (
            PaymentBatch.objects.filter(programme=programme, period=period, source_digest=digest)
            .exclude(status=BatchStatus.CANCELLED.value)
            .first()
        )
        if found is None:
            raise
        return found, False
    batch.code = f"FF{timezone.localdate(now):%Y%m%d}{batch.pk:06d}"
    batch.save(update_fields=["code"])
    return batch, True


def _insert_rows(batch: PaymentBatch, frame: pl.DataFrame) -> None:
    rows = frame.select(
        pl.lit(batch.pk, dtype=pl.Int64).alias("batch_id"),
        pl.col("row").alias("row_number"),
        pl.col("id_number").str.slice(0, 32),
        pl.col("name").str.slice(0, 64),
        pl.col("amount").str.slice(0, 32).alias("amount_text"),
        pl.lit(False).alias("payable"),
        pl.lit("").alias("reasons"),
        pl.lit(False).alias("dropped"),
        pl.lit("").alias("note"),
        pl.lit("").alias("frozen_name"),
        pl.lit("").alias("frozen_id_number"),
        pl.lit("").alias("frozen_account_number"),
        pl.lit("").alias("frozen_card_number"),
    )
    insert_frame(PaymentRow._meta.db_table, rows)


def payment_batch_import(
    *,
    actor: User,
    programme_id: int,
    period: str,
    path: Path,
    file_name: str = "",
    check: bool = True,
) -> PaymentBatch:
    """A batch from the paying office's XLSX/CSV (社会保障号码 or 身份证号, 姓名, 金额 in yuan;
    Chinese headers, title rows above them allowed). Atomic: a file that cannot be read
    leaves nothing. Idempotent: the same file for the same programme and period returns the
    batch it made the first time (unless that one was cancelled). Checked at once unless
    `check` is False."""
    programme = _programme(programme_id)
    _ensure_office_clerk(actor, programme)
    name = file_name or path.name
    digest = _file_digest(path)
    as_of = timezone.localdate()
    frame = _normalised_ids(_read_batch_file(path, name), as_of)
    if frame.is_empty():
        raise BatchFileInvalid(f"文件“{name}”中没有发放明细", details=[{"source": name}])
    with transaction.atomic():
        batch, created = _new_batch(
            actor=actor,
            programme=programme,
            period_text=period,
            source=BatchSource.IMPORT,
            digest=digest,
            file_name=name,
        )
        if not created:
            return batch
        _insert_rows(batch, frame)
        _recount_sql(batch)
        batch.save()
        _record(
            batch,
            actor=actor,
            event=BatchEvent.PREPARE,
            to_status=BatchStatus.DRAFT,
            action=AuditAction.IMPORT,
            note=f"导入 {name}",
            detail={"file": name, "rows": batch.row_count, "sm3": digest},
        )
        batch.save()
    if check:
        payment_batch_check(actor=actor, batch_id=batch.pk)
        batch.refresh_from_db()
    return batch


@dataclass(frozen=True, slots=True)
class GenerateResult:
    batch: PaymentBatch
    created: bool


def _programme(programme_id: int) -> PaymentProgramme:
    programme = (
        PaymentProgramme.objects.select_related("paying_office", "scheme")
        .filter(pk=programme_id)
        .first()
    )
    if programme is None:
        raise NotFound("未找到该发放项目", code="PAYMENT_PROGRAMME_NOT_FOUND")
    if not programme.is_active:
        raise ValidationFailed(
            f"发放项目“{programme.name}”已停用", code="PAYMENT_PROGRAMME_INACTIVE"
        )
    return programme


def _beneficiaries(programme: PaymentProgramme) -> pl.DataFrame:
    """id_number, name of everyone in the registry whose benefit of the programme's scheme
    is 正常发放 in the current 待遇领取 department data. Nobody is left out silently: a person
    the registry knows dead before the period stays in and the check reports DECEASED (the
    benefit office must stop that benefit); a death on or after the period's first day does
    not stop the period's payment."""
    if programme.scheme_id is None:
        raise ValidationFailed(
            f"发放项目“{programme.name}”没有对应的险种，不能按系统数据生成，请导入发放名单",
            code="PAYMENT_GENERATE_NO_SCHEME",
        )
    benefits = current_department_frame(
        SourceKind.BENEFIT, ["id_number", "scheme_code", "benefit_status"]
    )
    if benefits is None:
        raise ValidationFailed(
            "尚未导入待遇领取数据（社保经办机构的待遇发放状态），不能按系统数据生成发放批次",
            code="PAYMENT_GENERATE_NO_BENEFIT_DATA",
        )
    paid = (
        benefits.filter(
            (pl.col("scheme_code") == programme.scheme_id) & (pl.col("benefit_status") == "paid")
        )
        .select(pl.col("id_number"))
        .drop_nulls()
        .unique()
    )
    if paid.is_empty():
        return pl.DataFrame(schema={"id_number": pl.String, "name": pl.String})
    numbers = paid["id_number"].to_list()
    found: list[tuple[str, str]] = []
    for start in range(0, len(numbers), _IN_CHUNK):
        found.extend(
            Person.objects.filter(id_number__in=numbers[start : start + _IN_CHUNK]).values_list(
                "id_number", "name"
            )
        )
    return pl.DataFrame(
        found, schema={"id_number": pl.String, "name": pl.String}, orient="row"
    ).sort("id_number")


def payment_batch_generate(
    *,
    actor: User,
    programme_id: int,
    period: str,
    amount_fen: int | None = None,
    check: bool = True,
) -> GenerateResult:
    """A batch generated from the system's data: every registry person whose benefit of the
    programme's scheme (养老 110/120/170, 失业 210, 工伤 410) is 正常发放 in the current 待遇领取
    data (see `_beneficiaries`), each paid `amount_fen` (default: the programme's standard
    amount). The same data generates the same batch again (idempotent)."""
    programme = _programme(programme_id)
    _ensure_office_clerk(actor, programme)
    amount = amount_fen if amount_fen is not None else programme.standard_amount_fen
    if amount is None:
        raise ValidationFailed(
            f"发放项目“{programme.name}”未配置标准发放金额，请填写每人发放金额",
            code="PAYMENT_GENERATE_NO_AMOUNT",
        )
    checked = check_amount(format_yuan(amount, grouped=False), max_fen=programme.max_amount_fen)
    if checked.problem is not None:
        raise ValidationFailed(
            checked.problem.message(format_yuan(amount), programme.max_amount_fen),
            code="PAYMENT_GENERATE_AMOUNT_INVALID",
        )
    parse_batch_period(programme, period)
    people = _beneficiaries(programme)
    if people.is_empty():
        raise ValidationFailed(
            f"没有{programme.scheme}待遇状态为正常发放的人员，未生成发放批次",
            code="PAYMENT_GENERATE_EMPTY",
        )
    frame = people.with_row_index("row", offset=1).select(
        pl.col("row").cast(pl.Int64),
        "id_number",
        "name",
        pl.lit(format_yuan(amount, grouped=False)).alias("amount"),
    )
    digest = hashes.Hash(hashes.SM3())
    digest.update(f"generated:{amount}:".encode())
    digest.update(frame.select("id_number").write_csv().encode())
    source_digest = digest.finalize().hex()
    with transaction.atomic():
        batch, created = _new_batch(
            actor=actor,
            programme=programme,
            period_text=period,
            source=BatchSource.GENERATED,
            digest=source_digest,
            file_name="",
        )
        if created:
            _insert_rows(batch, frame)
            _recount_sql(batch)
            batch.save()
            _record(
                batch,
                actor=actor,
                event=BatchEvent.PREPARE,
                to_status=BatchStatus.DRAFT,
                action=AuditAction.CREATE,
                note="按待遇领取数据（正常发放）生成",
                detail={"rows": batch.row_count, "amount_fen": amount},
            )
            batch.save()
    if created and check:
        payment_batch_check(actor=actor, batch_id=batch.pk)
        batch.refresh_from_db()
    return GenerateResult(batch=batch, created=created)


# --- checking ------------------------------------------------------------------------------


def _write_verdicts(verdicts: BatchVerdicts) -> None:
    """Store the verdicts that changed (a batch checked again writes next to nothing)."""
    table = PaymentRow._meta.db_table
    changed = verdicts.changed()
    if changed.is_empty():
        return
    # Rows leaving the payable state (or moving to another person) first: the partial unique
    # index (one payable row per person) must never see two payable rows of a person in the
    # middle of the update.
    update_from_frame(
        table,
        changed.filter(pl.col("was_payable")).select("pk", pl.lit(False).alias("payable")),
        key="pk",
        types={"pk": "bigint", "payable": "boolean"},
    )
    update_from_frame(
        table,
        changed.select(
            pl.col("pk"),
            pl.col("person_id"),
            pl.col("id_number").str.slice(0, 32),
            pl.col("amount_fen"),
            pl.col("payable"),
            pl.col("reasons"),
        ),
        key="pk",
        types={
            "pk": "bigint",
            "person_id": "bigint",
            "id_number": "varchar(32)",
            "amount_fen": "bigint",
            "payable": "boolean",
            "reasons": "varchar(255)",
        },
    )


def payment_batch_check(*, actor: User, batch_id: int, as_of: date | None = None) -> PaymentBatch:
    """Check every row that is not dropped (the reasons of `payments.domain.reasons`) and
    store each row's verdict, the batch's counts and exact total; 草稿 or 已校验 → 已校验, and a
    submitted batch checked again goes back to 已校验 (to be submitted again)."""
    with transaction.atomic():
        batch = _locked(batch_id)
        _ensure_office_clerk(actor, batch.programme)
        step = transition(batch.batch_status, BatchEvent.CHECK)
        verdicts = batch_verdicts(batch, as_of=as_of or timezone.localdate())
        _write_verdicts(verdicts)
        _recount_sql(batch)
        batch.checked_at = timezone.now()
        batch.checked_inputs = check_inputs_digest(batch)
        batch.submitted_by = None
        batch.submitted_at = None
        _record(
            batch,
            actor=actor,
            event=BatchEvent.CHECK,
            to_status=step.to_status,
            action=AuditAction.UPDATE,
            detail={
                "rows": batch.row_count,
                "payable_rows": batch.payable_count,
                "payable_fen": batch.payable_fen,
                "problem_rows": batch.problem_count,
            },
        )
        batch.save()
    return batch


# --- changing rows before approval ---------------------------------------------------------


def _locked_row(row_id: int) -> tuple[PaymentBatch, PaymentRow]:
    batch_id = PaymentRow.objects.filter(pk=row_id).values_list("batch_id", flat=True).first()
    if batch_id is None:
        raise NotFound("未找到该发放明细", code="PAYMENT_ROW_NOT_FOUND")
    batch = _locked(batch_id)
    row = PaymentRow.objects.select_for_update().get(pk=row_id)
    return batch, row


def _ensure_editable(batch: PaymentBatch) -> BatchStatus:
    return transition(batch.batch_status, BatchEvent.CHANGE).to_status


def payment_row_correct(
    *,
    actor: User,
    row_id: int,
    id_number: str | None = None,
    name: str | None = None,
    amount: str | None = None,
    note: str = "",
) -> PaymentRow:
    """Correct a row's number, name or amount (yuan, as the clerk types it) before approval.
    The row waits for the next check; the batch goes back to 草稿."""
    with transaction.atomic():
        batch, row = _locked_row(row_id)
        _ensure_office_clerk(actor, batch.programme)
        to_status = _ensure_editable(batch)
        if row.dropped:
            raise ValidationFailed(
                f"第 {row.row_number} 行已剔除，不能更正", code="PAYMENT_ROW_DROPPED"
            )
        before = {"id_number": row.id_number, "name": row.name, "amount": row.amount_text}
        changes: dict[str, str] = {}
        if id_number is not None and id_number.strip() != row.id_number:
            check = validate_id_number(id_number)
            row.id_number = (check.normalized if check.ok else id_number.strip())[:32]
            changes["社会保障号码"] = "已更正"
        if name is not None and name.strip() != row.name:
            row.name = name.strip()[:64]
            changes["姓名"] = "已更正"
        if amount is not None and amount.strip() != row.amount_text:
            row.amount_text = amount.strip()[:32]
            changes["金额"] = f"{before['amount']} → {row.amount_text}"
        if not changes:
            raise ValidationFailed(
                f"第 {row.row_number} 行没有需要更正的内容", code="PAYMENT_ROW_UNCHANGED"
            )
        row.payable = False
        row.reasons = ""
        row.person = None
        row.amount_fen = None
        row.note = note.strip()[:255] or row.note
        row.save()
        _recount_sql(batch)
        _record(
            batch,
            actor=actor,
            event=BatchEvent.CHANGE,
            to_status=to_status,
            action=AuditAction.UPDATE,
            note=f"更正第 {row.row_number} 行",
            detail={"row": row.row_number, "changes": changes, "note": note.strip()},
            person_id=Person.objects.filter(id_number=row.id_number)
            .values_list("pk", flat=True)
            .first(),
        )
        batch.save()
    return row


def payment_row_drop(*, actor: User, row_id: int, note: str) -> PaymentRow:
    """Drop a row from the batch before approval (with the reason why); the batch goes back
    to 草稿 to be checked again."""
    if not note.strip():
        raise ValidationFailed("剔除明细须说明原因", code="PAYMENT_ROW_DROP_REASON")
    with transaction.atomic():
        batch, row = _locked_row(row_id)
        _ensure_office_clerk(actor, batch.programme)
        to_status = _ensure_editable(batch)
        if row.dropped:
            return row
        row.dropped = True
        row.payable = False
        row.note = note.strip()[:255]
        row.save(update_fields=["dropped", "payable", "note"])
        _recount_sql(batch)
        _record(
            batch,
            actor=actor,
            event=BatchEvent.CHANGE,
            to_status=to_status,
            action=AuditAction.UPDATE,
            note=f"剔除第 {row.row_number} 行",
            detail={"row": row.row_number, "dropped": True, "note": row.note},
            person_id=row.person_id,
        )
        batch.save()
    return row


def payment_batch_drop_problem_rows(*, actor: User, batch_id: int, note: str) -> int:
    """Drop every checked row that has a problem (one change of the batch); returns how
    many. The batch goes back to 草稿 to be checked again."""
    if not note.strip():
        raise ValidationFailed("剔除明细须说明原因", code="PAYMENT_ROW_DROP_REASON")
    with transaction.atomic():
        batch = _locked(batch_id)
        _ensure_office_clerk(actor, batch.programme)
        to_status = _ensure_editable(batch)
        problems = PaymentRow.objects.filter(batch=batch, dropped=False, payable=False).exclude(
            reasons=""
        )
        reasons: dict[str, int] = {}
        for text in problems.values_list("reasons", flat=True).iterator(chunk_size=20_000):
            for reason in split_reasons(text):
                reasons[reason.label] = reasons.get(reason.label, 0) + 1
        dropped = problems.update(dropped=True, note=note.strip()[:255])
        if dropped == 0:
            return 0
        _recount_sql(batch)
        _record(
            batch,
            actor=actor,
            event=BatchEvent.CHANGE,
            to_status=to_status,
            action=AuditAction.UPDATE,
            note=f"剔除有问题的 {dropped} 行",
            detail={"dropped_rows": dropped, "reasons": reasons, "note": note.strip()},
        )
        batch.save()
    return dropped


# --- submit, approve, cancel ---------------------------------------------------------------


def payment_batch_submit(*, actor: User, batch_id: int) -> PaymentBatch:
    """已校验 → 待审批. Every row with a problem must have been corrected (and checked again)
    or dropped: what is approved is exactly the payable rows."""
    with transaction.atomic():
        batch = _locked(batch_id)
        _ensure_office_clerk(actor, batch.programme)
        step = transition(batch.batch_status, BatchEvent.SUBMIT)
        if batch.problem_count:
            raise ValidationFailed(
                f"批次中尚有 {batch.problem_count} 行存在问题，请更正并重新校验或剔除后再提交",
                code="PAYMENT_BATCH_HAS_PROBLEMS",
            )
        if batch.payable_count == 0:
            raise ValidationFailed("批次中没有可发放的明细", code="PAYMENT_BATCH_EMPTY")
        batch.submitted_by = actor
        batch.submitted_at = timezone.now()
        _record(
            batch,
            actor=actor,
            event=BatchEvent.SUBMIT,
            to_status=step.to_status,
            action=AuditAction.UPDATE,
            detail={"payable_rows": batch.payable_count, "payable_fen": batch.payable_fen},
        )
        batch.save()
    return batch


def payment_batch_approve(*, actor: User, batch_id: int, note: str = "") -> PaymentBatch:
    """待审批 → 已审批, by a clerk of the paying office who did not prepare, check, change or
    submit the batch. In one transaction the batch is checked again against today's data
    (a difference refuses the approval: BatchStale) and each payable row's snapshot is
    frozen: the registry name and number, the card, the bank, branch and account number.
    The second check is skipped when nothing it reads has changed since the first (the
    digest of `check_inputs_digest` is the same).
    Approvals of one programme are serialised (the programme row is locked), so two
    batches paying the same person for the same period cannot both be approved, and two
    approvals of one batch give one result."""
    with transaction.atomic():
        programme_id = (
            PaymentBatch.objects.filter(pk=batch_id).values_list("programme_id", flat=True).first()
        )
        if programme_id is None:
            raise NotFound("未找到该发放批次", code="PAYMENT_BATCH_NOT_FOUND")
        list(PaymentProgramme.objects.select_for_update().filter(pk=programme_id))
        batch = _locked(batch_id)
        _ensure_office_clerk(actor, batch.programme)
        step = transition(batch.batch_status, BatchEvent.APPROVE)
        ensure_not_maker(actor.pk, batch_makers(batch))
        # The full check again only when something it reads changed since the last one
        # (a digest computed by the database, see `check_inputs_digest`).
        if not batch.checked_inputs or check_inputs_digest(batch) != batch.checked_inputs:
            changed = batch_verdicts(batch, as_of=timezone.localdate()).changed().height
            if changed:
                raise BatchStale(changed)
        # The snapshot in one set-based UPDATE inside the database; a payable row left
        # without one (its card account went away) refuses the approval, and the
        # transaction's rollback takes back the rows already written.
        frozen = freeze_payment_targets(batch)
        if frozen != batch.payable_count:
            raise BatchStale(batch.payable_count - frozen)
        _recount_sql(batch)
        batch.approved_by = actor
        batch.approved_at = timezone.now()
        _record(
            batch,
            actor=actor,
            event=BatchEvent.APPROVE,
            to_status=step.to_status,
            action=AuditAction.APPROVE,
            note=note.strip(),
            detail={"payable_rows": batch.payable_count, "payable_fen": batch.payable_fen},
        )
        batch.save()
    return batch


def payment_batch_cancel(*, actor: User, batch_id: int, note: str) -> PaymentBatch:
    """Cancel a batch before approval (作废), with the reason why."""
    if not note.strip():
        raise ValidationFailed("作废批次须说明原因", code="PAYMENT_BATCH_CANCEL_REASON")
    with transaction.atomic():
        batch = _locked(batch_id)
        _ensure_office_clerk(actor, batch.programme)
        step = transition(batch.batch_status, BatchEvent.CANCEL)
        batch.cancelled_at = timezone.now()
        _record(
            batch,
            actor=actor,
            event=BatchEvent.CANCEL,
            to_status=step.to_status,
            action=AuditAction.UPDATE,
            note=note.strip(),
        )
        batch.save()
    return batch
