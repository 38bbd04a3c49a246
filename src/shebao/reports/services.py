"""Writes: importing targets and figures (all or nothing, idempotent), producing bulletins."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from django.db import models, transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User
from shebao.errors import ValidationFailed
from shebao.reports.choices import BulletinFormat, ImportKind
from shebao.reports.documents import render_document
from shebao.reports.domain.bulletin import BulletinFigures, compute_bulletin
from shebao.reports.domain.document import bulletin_document, render_text
from shebao.reports.domain.rows import (
    FigureRow,
    ImportErrorCode,
    ParseResult,
    RawTable,
    RowError,
    TargetRow,
    column_values,
    parse_figures,
    parse_targets,
)
from shebao.reports.models import Bulletin, ImportBatch, ReportedFigure, Target
from shebao.reports.selectors import bulletin_figures, bulletin_latest, region_codes_known
from shebao.reports.tabular import TableUnreadable, read_table

__all__ = [
    "BulletinOutcome",
    "ImportOutcome",
    "ImportRejected",
    "bulletin_publish",
    "figures_import",
    "targets_import",
]

_BATCH: Final[int] = 1000
_CLI_USERNAME: Final[str] = "命令行"


class ImportRejected(ValidationFailed):
    """The file had bad rows; nothing was imported. `errors` has every one of them."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__(
            f"导入文件有{len(errors)}处错误，未导入任何数据",
            code="IMPORT_REJECTED",
            details=[e.as_dict() for e in errors],
        )
        self.errors = list(errors)


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    batch: ImportBatch
    created: int
    updated: int
    unchanged: int


def _read(path: Path) -> tuple[RawTable, str]:
    try:
        table = read_table(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except TableUnreadable as exc:
        raise ImportRejected([RowError(0, "", ImportErrorCode.FILE_UNREADABLE, str(exc))]) from exc
    return table, digest


Row = TypeVar("Row", TargetRow, FigureRow)
Key = tuple[Any, ...]


def _parsed(
    table: RawTable,
    parse: Callable[[RawTable, set[str]], ParseResult[Row]],
) -> list[Row]:
    known = region_codes_known(column_values(table, "区划代码"))
    result = parse(table, known)
    if result.errors:
        raise ImportRejected(result.errors)
    return result.rows


def _upsert(
    *,
    model: type[Target] | type[ReportedFigure],
    rows: Sequence[TargetRow] | Sequence[FigureRow],
    existing: dict[Key, tuple[int, int]],
    build: Callable[[Any], Target | ReportedFigure],
    batch: ImportBatch,
) -> None:
    now = timezone.now()
    fresh: list[Any] = []
    changed: list[Any] = []
    for row in rows:
        found = existing.get(row.key)
        if found is None:
            obj = build(row)
            obj.batch = batch
            obj.updated_at = now
            fresh.append(obj)
        elif found[1] != row.value:
            changed.append(model(pk=found[0], value=row.value, batch=batch, updated_at=now))
    manager: models.Manager[Any] = model._default_manager
    manager.bulk_create(fresh, batch_size=_BATCH)
    manager.bulk_update(changed, ["value", "batch", "updated_at"], batch_size=_BATCH)


def _existing(
    model: type[models.Model], rows: Sequence[TargetRow] | Sequence[FigureRow]
) -> dict[Key, tuple[int, int]]:
    """The stored rows that the file's keys could match: key -> (pk, value)."""
    years = sorted({r.year for r in rows})
    codes = sorted({r.region_code for r in rows})
    found: dict[Key, tuple[int, int]] = {}
    for start in range(0, len(codes), 500):
        qs = model._default_manager.filter(year__in=years, region_id__in=codes[start : start + 500])
        for pk, year, month, region, bank, metric, value in qs.values_list(
            "pk", "year", "month", "region_id", "bank", "metric", "value"
        ):
            found[(year, month, region, bank, metric)] = (pk, value)
    return found


def _count(
    rows: Sequence[TargetRow] | Sequence[FigureRow], existing: dict[Key, tuple[int, int]]
) -> tuple[int, int, int]:
    created = updated = unchanged = 0
    for row in rows:
        found = existing.get(row.key)
        if found is None:
            created += 1
        elif found[1] != row.value:
            updated += 1
        else:
            unchanged += 1
    return created, updated, unchanged


def _import(
    *,
    kind: ImportKind,
    path: Path,
    actor: User | None,
    parse: Callable[[RawTable, set[str]], ParseResult[Any]],
    model: type[Target] | type[ReportedFigure],
    build: Callable[[Any], Target | ReportedFigure],
) -> ImportOutcome:
    table, digest = _read(path)
    rows = _parsed(table, parse)
    with transaction.atomic():
        existing = _existing(model, rows)
        created, updated, unchanged = _count(rows, existing)
        batch = ImportBatch.objects.create(
            kind=kind,
            file_name=path.name[:255],
            sha256=digest,
            rows=len(rows),
            created=created,
            updated=updated,
            unchanged=unchanged,
            imported_by=actor,
        )
        _upsert(model=model, rows=rows, existing=existing, build=build, batch=batch)
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            target_type="reports.ImportBatch",
            target_id=batch.pk,
            detail={
                "kind": str(kind),
                "file": batch.file_name,
                "sha256": digest,
                "rows": len(rows),
                "created": created,
                "updated": updated,
                "unchanged": unchanged,
            },
            username=_CLI_USERNAME,
        )
    return ImportOutcome(batch=batch, created=created, updated=updated, unchanged=unchanged)


def targets_import(*, path: Path, actor: User | None) -> ImportOutcome:
    """Import a targets file; any bad row rejects the whole file (ImportRejected)."""
    return _import(
        kind=ImportKind.TARGETS,
        path=path,
        actor=actor,
        parse=parse_targets,
        model=Target,
        build=lambda r: Target(
            year=r.year,
            month=r.month,
            region_id=r.region_code,
            bank=r.bank,
            metric=r.metric.value,
            value=r.value,
        ),
    )


def figures_import(*, path: Path, actor: User | None) -> ImportOutcome:
    """Import a figures file; any bad row rejects the whole file (ImportRejected)."""
    return _import(
        kind=ImportKind.FIGURES,
        path=path,
        actor=actor,
        parse=parse_figures,
        model=ReportedFigure,
        build=lambda r: ReportedFigure(
            year=r.year,
            month=r.month,
            region_id=r.region_code,
            bank=r.bank,
            metric=r.metric.value,
            value=r.value,
        ),
    )


@dataclass(frozen=True, slots=True)
class BulletinOutcome:
    bulletin: Bulletin
    previous: Bulletin | None  # the last bulletin of the same region and month, if any

    @property
    def figures_changed(self) -> bool:
        """True when an earlier bulletin of the month said something else."""
        return (
            self.previous is not None
            and self.previous.figures_sha256 != self.bulletin.figures_sha256
        )


def _snapshot_digest(snapshot: dict[str, Any]) -> str:
    canonical = json.dumps(snapshot, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def bulletin_publish(
    *,
    year: int,
    month: int,
    region_code: str,
    fmt: BulletinFormat,
    out: Path,
    actor: User | None,
    figures: BulletinFigures | None = None,
) -> BulletinOutcome:
    """Compute the bulletin, write it to `out` and keep it with its figures.

    `figures` re-renders a stored snapshot instead of reading the current figures."""
    if figures is None:
        figures = bulletin_figures(year=year, month=month, region_code=region_code)
    if not figures.subordinates and figures.region.submitted is None:
        raise ValidationFailed(
            f"{figures.region.name}{year}年{month}月没有任何上报数据或任务目标，无法生成通报",
            code="NO_FIGURES",
        )
    document = bulletin_document(compute_bulletin(figures))
    text = render_text(document)
    render_document(document, fmt=fmt, out=out)  # files are not transactional: write first
    snapshot = figures.to_snapshot()
    with transaction.atomic():
        previous = bulletin_latest(year=year, month=month, region_code=region_code)
        bulletin = Bulletin.objects.create(
            year=year,
            month=month,
            region_id=region_code,
            format=fmt,
            snapshot=snapshot,
            figures_sha256=_snapshot_digest(snapshot),
            text=text,
            file_name=out.name[:255],
            file_sha256=hashlib.sha256(out.read_bytes()).hexdigest(),
            generated_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            target_type="reports.Bulletin",
            target_id=bulletin.pk,
            detail={"region": region_code, "month": f"{year:04d}-{month:02d}", "format": str(fmt)},
            username=_CLI_USERNAME,
        )
    return BulletinOutcome(bulletin=bulletin, previous=previous)
