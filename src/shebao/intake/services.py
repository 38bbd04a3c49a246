"""Importing department files as batches.

    batch, created = import_batch_submit(actor=..., path=..., kind=None,
                                         mode=ImportMode.SNAPSHOT)           # queues a job
    shebao worker  (or job_run_next)                                        # runs it
    import_batch_make_current(actor=..., batch_id=...)                      # restores one

Submitting checks the headers at once (a file with a required column missing is refused
whole, with the Chinese message, before anything is stored), hashes the file and stores a
copy. The same file (SHA-256) of the same kind submitted again returns the existing batch
and changes nothing. The job reads the file with the pure intake parser, writes the
standardised Parquet snapshot and the rejected rows (Parquet), and records the counts; the
batch is imported, or failed with its reason, never half-done.

Each kind has one current batch, the data comparisons use (`selectors.import_batch_chain`).
An imported full snapshot (全量) becomes current; an increment (增量) is applied on top of
the current batch of its kind (its `base`) and becomes current. A full snapshot with fewer
than half the rows of the current data is refused unless the importer confirmed it: a
partial or empty file would otherwise replace the whole source. Any imported batch can be
made current again, audited, instead of importing its file anew.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import IntegrityError, transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User
from shebao.errors import ShebaoError
from shebao.geo.models import Region
from shebao.intake.choices import (
    IMPORT_TRANSITIONS,
    SNAPSHOT_SHRINK_LIMIT,
    ImportMode,
    ImportStatus,
)
from shebao.intake.deaths import deaths_record_from_batch
from shebao.intake.formats import (
    IntakeError,
    IntakeErrorCode,
    SourceKind,
    match_columns,
    parse_source,
    read_raw,
    recognise_kind,
)
from shebao.intake.formats.increments import effective_rows
from shebao.intake.models import ImportBatch
from shebao.intake.selectors import import_batch_chain
from shebao.intake.storage import file_sha256, intake_path, intake_root, relative
from shebao.jobs.kinds import JobContext, job_kind
from shebao.jobs.services import job_enqueue

__all__ = [
    "IMPORT_JOB_KIND",
    "import_batch_make_current",
    "import_batch_submit",
    "import_file_check",
    "import_run",
]

IMPORT_JOB_KIND = "intake.import"


class ImportTransitionError(ShebaoError):
    def __init__(self, batch: ImportBatch, to: str) -> None:
        super().__init__(
            code="IMPORT_BAD_TRANSITION",
            message=(
                f"导入批次#{batch.pk}处于“{ImportStatus(batch.status).label}”，"
                f"不能改为“{ImportStatus(to).label}”"
            ),
            status=409,
        )


class _HeadersRead(Exception):
    """Stops reading once the headers are known (raised from inside `read_raw`)."""

    def __init__(self, kind: SourceKind) -> None:
        super().__init__(kind.value)
        self.kind = kind


def import_file_check(
    path: Path, kind: SourceKind | None, *, name: str | None = None
) -> SourceKind:
    """The file's kind (given, or recognised from its headers), once its headers show every
    required column; raises IntakeError (Chinese message) otherwise. Reads the headers only
    where the format allows."""
    source = name or path.name

    def select(headers: tuple[str, ...]) -> list[int]:
        found = kind or recognise_kind(headers, source=source)
        match_columns(found, headers, source=source)
        raise _HeadersRead(found)

    try:
        read_raw(path, select=select, name=source)
    except _HeadersRead as done:
        return done.kind
    # read_raw returned without asking for columns: a file without a header row.
    raise IntakeError(IntakeErrorCode.NO_HEADER, f"文件“{source}”中没有找到表头行")


def _move(batch: ImportBatch, to: str, **fields: Any) -> None:
    if to not in IMPORT_TRANSITIONS[batch.status]:
        raise ImportTransitionError(batch, to)
    updated = ImportBatch.objects.filter(pk=batch.pk, status=batch.status).update(
        status=to, **fields
    )
    if not updated:
        batch.refresh_from_db()
        raise ImportTransitionError(batch, to)
    batch.status = to
    for name, value in fields.items():
        setattr(batch, name, value)


# How the page asks for the confirmation; the command line says its own option instead.
CONFIRM_SHRINK_HINT = "请勾选“确认是完整的全量数据”"


def _no_base(kind: SourceKind) -> ShebaoError:
    return ShebaoError(
        code="IMPORT_NO_BASE",
        message=(
            f"还没有{kind.label}的全量数据，增量文件无法叠加：请先按“全量”导入完整的{kind.label}文件"
        ),
        status=422,
    )


def _current(kind: str, *, lock: bool = False) -> ImportBatch | None:
    queryset = ImportBatch.objects.filter(kind=kind, is_current=True)
    if lock:
        queryset = queryset.select_for_update()
    return queryset.first()


def import_batch_submit(
    *,
    actor: User | None,
    path: Path,
    kind: SourceKind | None = None,
    file_name: str | None = None,
    region: Region | None = None,
    mode: ImportMode | str = ImportMode.SNAPSHOT,
    confirm_shrink: bool = False,
) -> tuple[ImportBatch, bool]:
    """Queue the import of one file as a full snapshot or an increment; returns (batch,
    created). `confirm_shrink`: the importer confirmed that a full snapshot far smaller than
    the current data is complete. See the module docstring."""
    if mode not in ImportMode.values:
        raise ShebaoError(code="IMPORT_MODE_INVALID", message="请选择全量或增量", status=422)
    name = Path(file_name or path.name).name
    found = import_file_check(path, kind, name=name)
    if mode == ImportMode.INCREMENT and _current(found) is None:
        raise _no_base(found)
    digest = file_sha256(path)
    existing = (
        ImportBatch.objects.filter(kind=found, file_sha256=digest)
        .exclude(status=ImportStatus.FAILED)
        .first()
    )
    if existing is not None:
        return existing, False
    if region is None and actor is not None and actor.organisation is not None:
        region = actor.organisation.region
    suffix = Path(name).suffix.lower()
    stored = intake_root() / "files" / digest[:2] / f"{digest}{suffix}"
    stored.parent.mkdir(parents=True, exist_ok=True)
    if not stored.exists():
        partial = stored.with_name(stored.name + ".part")
        shutil.copyfile(path, partial)
        partial.replace(stored)
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                kind=found,
                mode=mode,
                shrink_confirmed=confirm_shrink,
                file_name=name[:255],
                file_sha256=digest,
                file_size=path.stat().st_size,
                stored_path=relative(stored),
                region=region,
                created_by=actor,
            )
            batch.job = job_enqueue(
                kind=IMPORT_JOB_KIND, parameters={"batch_id": batch.pk}, created_by=actor
            )
            batch.save(update_fields=["job"])
            audit_record(
                actor=actor,
                action=AuditAction.IMPORT,
                target_type="import_batch",
                target_id=batch.pk,
                detail={
                    "kind": found.value,
                    "mode": str(mode),
                    "file": name,
                    "sha256": digest,
                    "queued": True,
                    **({"shrink_confirmed": True} if confirm_shrink else {}),
                },
            )
    except IntegrityError:
        # Submitted twice at the same moment: the other submission won.
        existing = (
            ImportBatch.objects.filter(kind=found, file_sha256=digest)
            .exclude(status=ImportStatus.FAILED)
            .first()
        )
        if existing is None:
            raise
        return existing, False
    return batch, True


def _write_rejected(table: pa.Table, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    pq.write_table(table, partial)
    partial.replace(target)


def import_run(*, batch_id: int, context: JobContext | None = None) -> ImportBatch:
    """Read, standardise and record one queued batch (the body of the import job)."""

    def progress(done: int, message: str) -> None:
        if context is not None:
            context.progress(done, 3, message)

    batch = ImportBatch.objects.get(pk=batch_id)
    _move(batch, ImportStatus.RUNNING)
    kind = SourceKind(batch.kind)
    snapshot = intake_root() / "snapshots" / f"{batch.pk:06d}-{kind.value}.parquet"
    rejected = intake_root() / "rejected" / f"{batch.pk:06d}-{kind.value}.parquet"
    written: list[Path] = []
    try:
        progress(0, f"读取并校验 {batch.file_name}")
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        partial = snapshot.with_name(snapshot.name + ".part.parquet")
        written.append(partial)
        parsed = parse_source(
            intake_path(batch.stored_path), kind, snapshot=partial, name=batch.file_name
        )
        progress(1, f"已读取 {parsed.rows_read:,} 行，写出拒收行")
        written.append(rejected)
        _write_rejected(parsed.rejected, rejected)
        written.append(snapshot)
        partial.replace(snapshot)
        progress(2, "登记导入批次")
        with transaction.atomic():
            current = _current(batch.kind, lock=True)
            base, rows_effective = _apply_to_current(batch, current, snapshot, parsed.rows_accepted)
            _move(
                batch,
                ImportStatus.IMPORTED,
                snapshot_path=relative(snapshot),
                rejected_path=relative(rejected),
                file_format=parsed.file_format,
                encoding=parsed.encoding or "",
                header_line=parsed.header_line,
                columns=parsed.columns,
                rows_read=parsed.rows_read,
                rows_accepted=parsed.rows_accepted,
                rows_rejected=parsed.rows_rejected,
                base=base,
                rows_effective=rows_effective,
                finished_at=timezone.now(),
            )
            _make_current(batch, current)
            audit_record(
                actor=batch.created_by,
                action=AuditAction.IMPORT,
                target_type="import_batch",
                target_id=batch.pk,
                detail={
                    "kind": kind.value,
                    "mode": batch.mode,
                    "file": batch.file_name,
                    "rows_read": parsed.rows_read,
                    "rows_accepted": parsed.rows_accepted,
                    "rows_rejected": parsed.rows_rejected,
                    "rows_effective": rows_effective,
                    "base": base.pk if base is not None else None,
                    "previous_current": current.pk if current is not None else None,
                },
            )
            # A death file's exact ID-and-name rows reach the registry (see intake.deaths).
            deaths_record_from_batch(batch=batch, snapshot=snapshot)
        progress(3, f"已导入：接收 {parsed.rows_accepted:,} 行，拒收 {parsed.rows_rejected:,} 行")
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return batch


def _apply_to_current(
    batch: ImportBatch, current: ImportBatch | None, snapshot: Path, rows_accepted: int
) -> tuple[ImportBatch | None, int]:
    """(base, rows in force after this batch) for a batch about to become current; raises
    when an increment has nothing to apply to, or a full snapshot shrank unconfirmed."""
    kind = SourceKind(batch.kind)
    if batch.mode == ImportMode.INCREMENT:
        if current is None:
            raise _no_base(kind)
        chain = [
            (intake_path(b.snapshot_path), b.rows_accepted) for b in import_batch_chain(current)
        ]
        return current, effective_rows(kind, [*chain, (snapshot, rows_accepted)])
    if current is not None and not batch.shrink_confirmed:
        before = current.rows_effective or current.rows_accepted
        if before and rows_accepted < before * SNAPSHOT_SHRINK_LIMIT:
            raise ShebaoError(
                code="IMPORT_SNAPSHOT_SHRUNK",
                message=(
                    f"“{batch.file_name}”作为全量{kind.label}只有 {rows_accepted:,} 行有效数据，"
                    f"不到当前数据（导入批次#{current.pk}，{before:,} 行）的一半。"
                    "按全量导入会替换全部数据，其余人员将被当作不在该数据中（如被列为未参保）。"
                    "如果这只是部分人员的变化，请按“增量”导入；如果确实是完整的全量数据，"
                    f"{CONFIRM_SHRINK_HINT}后重新提交。"
                ),
                status=422,
            )
    return None, rows_accepted


def _make_current(batch: ImportBatch, previous: ImportBatch | None) -> None:
    if previous is not None and previous.pk != batch.pk:
        ImportBatch.objects.filter(pk=previous.pk).update(is_current=False)
    ImportBatch.objects.filter(pk=batch.pk).update(is_current=True)
    batch.is_current = True


@transaction.atomic
def import_batch_make_current(*, actor: User | None, batch_id: int) -> ImportBatch:
    """Make an imported batch the current data of its kind again (with the batches it was
    applied on, for an increment), instead of importing its file anew. Audited."""
    batch = ImportBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise ShebaoError(code="IMPORT_BATCH_NOT_FOUND", message="未找到该导入批次", status=404)
    if batch.status != ImportStatus.IMPORTED:
        raise ShebaoError(
            code="IMPORT_NOT_IMPORTED",
            message=(
                f"导入批次#{batch.pk}处于“{ImportStatus(batch.status).label}”，"
                "只有已导入的批次可以设为当前数据"
            ),
            status=409,
        )
    missing = [b for b in import_batch_chain(batch) if not intake_path(b.snapshot_path).exists()]
    if missing:
        raise ShebaoError(
            code="IMPORT_SNAPSHOT_MISSING",
            message=f"导入批次#{missing[0].pk}的标准化数据文件已不在数据目录中，请重新导入该文件",
            status=409,
        )
    previous = _current(batch.kind, lock=True)
    if previous is not None and previous.pk == batch.pk:
        return batch
    _make_current(batch, previous)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="import_batch",
        target_id=batch.pk,
        detail={
            "kind": batch.kind,
            "current": True,
            "previous_current": previous.pk if previous is not None else None,
        },
    )
    return batch


def import_batch_fail(*, batch_id: int, error: BaseException) -> ImportBatch:
    """Record why a batch could not be imported (its own work already rolled back)."""
    batch = ImportBatch.objects.get(pk=batch_id)
    if ImportStatus.FAILED not in IMPORT_TRANSITIONS[batch.status]:
        return batch
    code = error.code if isinstance(error, ShebaoError) else type(error).__name__
    message = error.message if isinstance(error, ShebaoError) else f"导入时发生错误：{error}"
    _move(
        batch,
        ImportStatus.FAILED,
        error_code=code[:32],
        error_message=message,
        finished_at=timezone.now(),
    )
    return batch


def _import_failed(context: JobContext, error: BaseException) -> None:
    import_batch_fail(batch_id=int(context.parameters["batch_id"]), error=error)


@job_kind(IMPORT_JOB_KIND, label="导入部门数据", on_failure=_import_failed)
def _import_job(context: JobContext) -> dict[str, Any]:
    batch = import_run(batch_id=int(context.parameters["batch_id"]), context=context)
    return {
        "batch_id": batch.pk,
        "rows_read": batch.rows_read,
        "rows_accepted": batch.rows_accepted,
        "rows_rejected": batch.rows_rejected,
    }
