"""Writes: importing targets and figures (all or nothing, idempotent), producing bulletins."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
from django.db import models, transaction
from django.db.models import Q, Sum
from django.db.models.functions import ExtractMonth, ExtractYear
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.accounts.scoping import Scope
from shebao.accounts.services import organisation_create
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.geo.codes import parent_code_of
from shebao.geo.models import Region
from shebao.identity.spreadsheet import safe_csv_writer
from shebao.reports.choices import BulletinFormat, ImportKind, WorkPlanStatus
from shebao.reports.documents import render_document
from shebao.reports.domain.bulletin import BulletinFigures, compute_bulletin
from shebao.reports.domain.document import bulletin_document, render_text
from shebao.reports.domain.live import CountKey, month_end_figures, months_between, rollup_chain
from shebao.reports.domain.metrics import Metric
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
from shebao.reports.domain.targets import (
    ABOVE_ANNUAL,
    ANNUAL,
    CellError,
    GridKey,
    RollupDifference,
    TargetGrid,
    parse_target_grid,
    rollup_differences,
)
from shebao.reports.domain.work_plan import (
    PlanErrorCode,
    PlanRow,
    PlanRowError,
    clean_name,
    error_order,
    parse_work_plan,
)
from shebao.reports.live import LIVE_SOURCES, LIVE_STOCKS
from shebao.reports.models import (
    Bulletin,
    ImportBatch,
    LiveCount,
    LiveFigure,
    LiveRefresh,
    ReportedFigure,
    Target,
    WorkPlan,
    WorkPlanItem,
    WorkPlanItemGroup,
)
from shebao.reports.selectors import (
    bulletin_figures,
    bulletin_latest,
    month_has_figures,
    region_codes_known,
    work_plan_can_manage,
)
from shebao.reports.tabular import TableUnreadable, read_table

__all__ = [
    "BulletinOutcome",
    "ImportOutcome",
    "ImportRejected",
    "LiveRefreshOutcome",
    "ReportsDemoSummary",
    "TargetsNeedConfirmation",
    "TargetsRejected",
    "TargetsSaved",
    "WorkPlanImportOutcome",
    "WorkPlanRejected",
    "bulletin_can_correct",
    "bulletin_correct",
    "bulletin_issuer",
    "bulletin_publish",
    "bulletin_render_stored",
    "figures_import",
    "live_figures_refresh",
    "report_access_denied",
    "reports_demo_seed",
    "snapshot_digest",
    "targets_can_manage",
    "targets_import",
    "targets_save",
    "work_plan_import",
    "work_plan_item_transition",
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


def bulletin_issuer(region_code: str) -> str:
    """The body a bulletin of the region is issued by (落款): the region's card centre, else
    its human resources and social security bureau."""
    centre = (
        Organisation.objects.filter(
            kind=OrganisationKind.CARD_CENTRE, region_id=region_code, is_active=True
        )
        .order_by("code")
        .values_list("name", flat=True)
        .first()
    )
    if centre:
        return centre
    name = Region.objects.filter(code=region_code).values_list("name", flat=True).first()
    return f"{name or region_code}人力资源和社会保障局"


def _bulletin_text_and_file(
    figures: BulletinFigures, *, fmt: BulletinFormat | str, out: Path, bulletin_meta: _Meta
) -> str:
    document = bulletin_document(
        compute_bulletin(figures),
        issuer=bulletin_meta.issuer,
        issued_on=bulletin_meta.issued_on,
        version=bulletin_meta.version,
    )
    render_document(document, fmt=fmt, out=out)
    return render_text(document)


@dataclass(frozen=True, slots=True)
class _Meta:
    issuer: str
    issued_on: date
    version: int


CORRECTORS: Final[frozenset[str]] = frozenset({Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN})


def bulletin_can_correct(user: User) -> bool:
    return user.is_superuser or user.has_role(*CORRECTORS)


def bulletin_publish(
    *,
    year: int,
    month: int,
    region_code: str,
    fmt: BulletinFormat,
    out: Path,
    actor: User | None,
    figures: BulletinFigures | None = None,
    correction_reason: str = "",
) -> BulletinOutcome:
    """Compute the bulletin, write it to `out` and keep it with its figures.

    A bulletin of the same region, month and format published before stays kept, marked
    superseded by this one (the next version); `correction_reason` records why when the new
    version corrects it. `figures` re-renders a stored snapshot instead of reading the
    current figures."""
    if figures is None:
        figures = bulletin_figures(year=year, month=month, region_code=region_code)
        region = Region.objects.get(code=region_code)
        if not month_has_figures(region=region, year=year, month=month):
            raise ValidationFailed(
                f"{figures.region.name}{year}年{month}月没有任何上报数据或实时统计，无法生成通报",
                code="NO_FIGURES",
            )
    if not figures.subordinates and figures.region.submitted is None:
        raise ValidationFailed(
            f"{figures.region.name}{year}年{month}月没有任何上报数据或任务目标，无法生成通报",
            code="NO_FIGURES",
        )
    snapshot = figures.to_snapshot()
    now = timezone.now()
    with transaction.atomic():
        previous = bulletin_latest(year=year, month=month, region_code=region_code)
        current = list(
            Bulletin.objects.select_for_update()
            .filter(
                year=year,
                month=month,
                region_id=region_code,
                format=fmt,
                superseded_by__isnull=True,
            )
            .order_by("id")
        )
        last_version = (
            Bulletin.objects.filter(year=year, month=month, region_id=region_code, format=fmt)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        ) or 0
        meta = _Meta(
            issuer=bulletin_issuer(region_code),
            issued_on=timezone.localdate(now),
            version=last_version + 1,
        )
        # Files are not transactional: the file is written before the row that names it.
        text = _bulletin_text_and_file(figures, fmt=fmt, out=out, bulletin_meta=meta)
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
            generated_at=now,
            generated_by=actor,
            issuer=meta.issuer,
            version=meta.version,
            correction_reason=correction_reason[:255],
        )
        Bulletin.objects.filter(pk__in=[b.pk for b in current]).update(
            superseded_by=bulletin, superseded_at=now
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE if correction_reason else AuditAction.EXPORT,
            target_type="reports.Bulletin",
            target_id=bulletin.pk,
            detail={
                "region": region_code,
                "month": f"{year:04d}-{month:02d}",
                "format": str(fmt),
                "version": meta.version,
                "supersedes": [b.pk for b in current],
                **({"reason": correction_reason[:255]} if correction_reason else {}),
            },
            username=_CLI_USERNAME,
        )
    return BulletinOutcome(bulletin=bulletin, previous=previous)


def bulletin_correct(*, bulletin: Bulletin, actor: User, reason: str, out: Path) -> BulletinOutcome:
    """Publish a corrected version of a published bulletin from the current figures (after
    the wrong figures were corrected): the old one stays kept, marked superseded, and the
    correction is audited with its reason. Card centres and administrators only."""
    if not bulletin_can_correct(actor):
        raise PermissionDenied(
            "只有社保卡管理中心或系统管理员可以更正已发布的通报", code="BULLETIN_CORRECT_FORBIDDEN"
        )
    if not Scope.for_user(actor).contains_region(bulletin.region_id):
        raise PermissionDenied("该通报不在您的管辖范围内", code="OUT_OF_SCOPE")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            "请填写更正原因（例如：11月上报数据有误，已重新导入）", code="REASON_REQUIRED"
        )
    newer = bulletin.superseded_by
    if newer is not None:
        raise ValidationFailed(
            f"该通报已被第{newer.version}版取代，请更正最新版本", code="BULLETIN_SUPERSEDED"
        )
    return bulletin_publish(
        year=bulletin.year,
        month=bulletin.month,
        region_code=bulletin.region_id,
        fmt=BulletinFormat(bulletin.format),
        out=out,
        actor=actor,
        correction_reason=reason,
    )


def snapshot_digest(figures: BulletinFigures) -> str:
    """The digest a bulletin of these figures would store (to tell whether the current
    figures differ from a published bulletin's)."""
    return _snapshot_digest(figures.to_snapshot())


def bulletin_render_stored(
    *, bulletin: Bulletin, out: Path, actor: User | None, fmt: BulletinFormat | None = None
) -> None:
    """Write a produced bulletin again, from its stored figures, in its format or `fmt`
    (audited)."""
    figures = BulletinFigures.from_snapshot(bulletin.snapshot)
    meta = _Meta(
        issuer=bulletin.issuer or bulletin_issuer(bulletin.region_id),
        issued_on=timezone.localdate(bulletin.generated_at),
        version=bulletin.version,
    )
    fmt = fmt or BulletinFormat(bulletin.format)
    _bulletin_text_and_file(figures, fmt=fmt, out=out, bulletin_meta=meta)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            target_type="reports.Bulletin",
            target_id=bulletin.pk,
            detail={"stored": True, "format": str(fmt)},
            username=_CLI_USERNAME,
        )


def report_access_denied(*, actor: User, region_code: str, page: str) -> None:
    """Record a refused attempt to open a report of a region outside the user's scope."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.DENIED,
            target_type="reports.Region",
            target_id=region_code[:64],
            detail={"page": page},
        )


# ---------------------------------------------------------------- work plan


class WorkPlanRejected(ValidationFailed):
    """The work-plan file had bad rows; nothing was imported."""

    def __init__(self, errors: Sequence[PlanRowError]) -> None:
        super().__init__(
            f"工作计划表有{len(errors)}处错误，未导入任何数据",
            code="WORK_PLAN_REJECTED",
            details=[e.as_dict() for e in errors],
        )
        self.errors = list(errors)


@dataclass(frozen=True, slots=True)
class WorkPlanImportOutcome:
    plan: WorkPlan
    items: int
    replaced: int  # items the plan had before


def _organisation_index(names: set[str], region: Region) -> dict[str, list[Organisation]]:
    """Active organisations by cleaned name and by code, for the names a file uses."""
    variants: set[str] = set()
    for name in names:
        variants.update({name, name.replace("(", "（").replace(")", "）")})
    found = Organisation.objects.filter(
        Q(name__in=sorted(variants)) | Q(code__in=sorted(names)), is_active=True
    ).select_related("region")
    index: dict[str, list[Organisation]] = defaultdict(list)
    for org in found:
        index[clean_name(org.name)].append(org)
        if org.code in names and clean_name(org.name) != org.code:
            index[org.code].append(org)
    # Names repeat across areas ("区政务办"): an organisation of the plan's area wins.
    for key, orgs in index.items():
        local = [o for o in orgs if o.region_id.startswith(region.prefix)]
        if len(orgs) > 1 and len(local) == 1:
            index[key] = local
    return index


def _resolve(
    name: str, index: dict[str, list[Organisation]], row: int, column: str, unknown: PlanErrorCode
) -> Organisation | PlanRowError:
    orgs = index.get(name, [])
    if len(orgs) == 1:
        return orgs[0]
    if not orgs:
        return PlanRowError(
            row, column, unknown, f"单位“{name}”不存在（请填写系统中的机构名称或机构编码）"
        )
    codes = "、".join(sorted(o.code for o in orgs))
    return PlanRowError(
        row,
        column,
        PlanErrorCode.ORGANISATION_AMBIGUOUS,
        f"单位名称“{name}”对应多个机构（{codes}），请填写机构编码",
    )


def work_plan_import(
    *, path: Path, title: str, region_code: str, actor: User | None
) -> WorkPlanImportOutcome:
    """Import a work plan (XLSX or CSV, columns `WORK_PLAN_COLUMNS`) as the plan `title` of
    the region, replacing the items the plan had. Any bad row rejects the whole file
    (WorkPlanRejected, every error with its row, column and reason)."""
    title = " ".join(title.split())
    if not title:
        raise ValidationFailed("请填写计划名称", code="WORK_PLAN_TITLE_REQUIRED")
    if len(title) > 128:
        raise ValidationFailed("计划名称过长（不超过128个字）", code="WORK_PLAN_TITLE_TOO_LONG")
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        raise ValidationFailed(f"区划代码“{region_code}”不存在", code="REGION_UNKNOWN")
    if actor is not None and not (
        work_plan_can_manage(user=actor) and Scope.for_user(actor).contains_region(region.code)
    ):
        raise PermissionDenied("您无权导入该地区的工作计划", code="WORK_PLAN_FORBIDDEN")
    try:
        table = read_table(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except TableUnreadable as exc:
        raise WorkPlanRejected(
            [PlanRowError(0, "", PlanErrorCode.FILE_UNREADABLE, str(exc))]
        ) from exc
    parsed = parse_work_plan(table)
    errors = list(parsed.errors)
    names = {r.lead for r in parsed.references if r.lead}
    names |= {n for r in parsed.references for n in r.cooperating}
    index = _organisation_index(names, region)
    organisations: dict[int, tuple[Organisation, list[Organisation]]] = {}
    for ref in parsed.references:
        lead: Organisation | PlanRowError | None = None
        if ref.lead:
            lead = _resolve(ref.lead, index, ref.row, "牵头单位", PlanErrorCode.LEAD_UNKNOWN)
            if isinstance(lead, PlanRowError):
                errors.append(lead)
        partners: list[Organisation] = []
        for name in ref.cooperating:
            partner = _resolve(name, index, ref.row, "配合单位", PlanErrorCode.ORGANISATION_UNKNOWN)
            if isinstance(partner, PlanRowError):
                errors.append(partner)
            elif partner not in partners:
                partners.append(partner)
        if isinstance(lead, Organisation):
            organisations[ref.row] = (lead, partners)
    if errors:
        raise WorkPlanRejected(sorted(errors, key=error_order))
    resolved: list[tuple[PlanRow, Organisation, list[Organisation]]] = [
        (row, *organisations[row.row]) for row in parsed.rows
    ]

    now = timezone.now()
    with transaction.atomic():
        plan, _created = WorkPlan.objects.select_for_update().get_or_create(
            region=region, title=title, defaults={"updated_by": actor}
        )
        replaced = plan.items.count()
        plan.items.all().delete()
        items = WorkPlanItem.objects.bulk_create(
            [
                WorkPlanItem(
                    plan=plan,
                    position=position,
                    number=row.number,
                    item=row.item,
                    task=row.task,
                    lead=lead,
                    due_date=row.due_date,
                    due_text=row.due_text,
                    note=row.note,
                    status=row.status,  # the state the file records, as of its import
                    status_changed_at=now,
                    status_changed_by=actor,
                )
                for position, (row, lead, _partners) in enumerate(resolved, start=1)
            ]
        )
        if any(item.pk is None for item in items):  # backends without RETURNING
            items = list(plan.items.order_by("position"))
        through = WorkPlanItem.cooperating.through
        through.objects.bulk_create(
            [
                through(workplanitem_id=item.pk, organisation_id=org.pk)
                for item, (_row, _lead, partners) in zip(items, resolved, strict=True)
                for org in partners
            ]
        )
        WorkPlanItemGroup.objects.bulk_create(
            [
                WorkPlanItemGroup(item=item, kind=kind)
                for item, (row, _lead, _partners) in zip(items, resolved, strict=True)
                for kind in row.groups
            ]
        )
        plan.updated_at = now
        plan.updated_by = actor
        plan.save(update_fields=["updated_at", "updated_by"])
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            target_type="reports.WorkPlan",
            target_id=plan.pk,
            detail={
                "title": title,
                "region": region.code,
                "file": path.name[:255],
                "sha256": digest,
                "items": len(items),
                "replaced": replaced,
            },
            username=_CLI_USERNAME,
        )
    return WorkPlanImportOutcome(plan=plan, items=len(items), replaced=replaced)


_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    WorkPlanStatus.NOT_STARTED: frozenset({WorkPlanStatus.IN_PROGRESS, WorkPlanStatus.DONE}),
    WorkPlanStatus.IN_PROGRESS: frozenset({WorkPlanStatus.DONE, WorkPlanStatus.NOT_STARTED}),
    WorkPlanStatus.DONE: frozenset({WorkPlanStatus.IN_PROGRESS}),  # reopened
}


def work_plan_item_transition(
    *, item_id: int, to_status: WorkPlanStatus | str, actor: User
) -> WorkPlanItem:
    """Move an item to `to_status`. Only the lead organisation's staff (and system
    administrators) change an item; the allowed moves are `_TRANSITIONS`."""
    if to_status not in WorkPlanStatus.values:
        raise ValidationFailed(f"未知的状态：{to_status}", code="WORK_PLAN_STATUS_UNKNOWN")
    target = WorkPlanStatus(to_status)
    with transaction.atomic():
        item = (
            WorkPlanItem.objects.select_for_update()
            .select_related("lead")
            .filter(pk=item_id)
            .first()
        )
        if item is None:
            raise NotFound("工作计划事项不存在", code="WORK_PLAN_ITEM_NOT_FOUND")
        admin = actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN)
        if not admin and actor.organisation_id != item.lead_id:
            raise PermissionDenied(
                f"只有牵头单位（{item.lead.name}）可以变更该事项的状态",
                code="WORK_PLAN_NOT_LEAD",
            )
        source = WorkPlanStatus(item.status)
        if target not in _TRANSITIONS[source]:
            raise ValidationFailed(
                f"事项状态不能由“{source.label}”变为“{target.label}”",
                code="WORK_PLAN_TRANSITION_INVALID",
            )
        item.status = target
        item.status_changed_at = timezone.now()
        item.status_changed_by = actor
        item.full_clean(exclude=["plan", "lead"])
        item.save(update_fields=["status", "status_changed_at", "status_changed_by"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="reports.WorkPlanItem",
            target_id=item.pk,
            detail={"from": str(source), "to": str(target)},
        )
    return item


# ---------------------------------------------------------------- demo data

_DEMO_CITY: Final[str] = "420700"
_DEMO_DISTRICT: Final[str] = "420704"
# Residents of 鄂州's districts (2020 census, rounded), the base of the demo's targets.
_DEMO_POPULATION: Final[dict[str, int]] = {"420702": 150_000, "420703": 270_000, "420704": 660_000}
_DEMO_BANKS: Final[tuple[tuple[str, float], ...]] = (
    ("农业银行鄂州分行", 0.45),
    ("邮储银行鄂州分行", 0.20),
    ("鄂州农商银行", 0.35),
)
# Share of residents each metric reaches: (at the end of the previous year, annual target).
_DEMO_SHARES: Final[dict[Metric, tuple[float, float]]] = {
    Metric.REGISTERED: (0.930, 0.970),
    Metric.SUBMITTED: (0.700, 0.920),
    Metric.RECEIVED: (0.680, 0.900),
    Metric.OPENED: (0.620, 0.850),
    Metric.PRODUCED: (0.580, 0.820),
    Metric.DISTRIBUTED: (0.540, 0.780),
    Metric.ACTIVATED: (0.420, 0.650),
    Metric.ECARD: (0.300, 0.550),
}
_DEMO_PLAN_TITLE: Final[str] = "鄂城区社会保障卡发行工作计划表"
# Organisations the demo plan names: (code, name, kind, region). Codes follow the demo's.
_DEMO_PLAN_ORGS: Final[tuple[tuple[str, str, str, str], ...]] = (
    ("KZX420700", "鄂州市社会保障卡管理中心", "card_centre", "420700"),
    ("QKB420704", "鄂城区社保卡管理办公室", "district_card_office", "420704"),
    ("BB420704", "鄂城区委编办", "department", "420704"),
    ("ZFB420704", "鄂城区人民政府办公室", "department", "420704"),
    ("ZWB420704", "鄂城区政务服务中心", "department", "420704"),
)
# Seed 001's attachment (番禺区, 2013) in simplified characters, moved to 鄂城区's
# organisations and to 2026–2027, in the work-plan import layout.
DEMO_WORK_PLAN: Final[Path] = Path(__file__).parent / "data" / "demo_work_plan.csv"


@dataclass(frozen=True, slots=True)
class ReportsDemoSummary:
    targets: ImportOutcome
    figures: ImportOutcome
    work_plan: WorkPlanImportOutcome | None  # None: the demo plan was there already
    units: int  # regions the figures are reported for
    through_month: int


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = safe_csv_writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _demo_units(rng: np.random.Generator) -> dict[str, int]:
    """Reporting units and their residents: the towns of 鄂州 where they are loaded (so a
    district drills down to its towns), else the three districts."""
    units: dict[str, int] = {}
    for district, people in _DEMO_POPULATION.items():
        towns = sorted(Region.objects.filter(parent_id=district).values_list("code", flat=True))
        if not towns:
            units[district] = people
            continue
        weights = rng.dirichlet(np.full(len(towns), 4.0))
        shares = np.floor(weights * people).astype(np.int64)
        shares[0] += people - int(shares.sum())
        units.update(zip(towns, (int(x) for x in shares), strict=True))
    return units


def _demo_figure_files(work: Path, *, year: int, through: int, seed: int) -> tuple[Path, Path, int]:
    rng = np.random.default_rng(seed)
    units = _demo_units(rng)
    codes = sorted(units)
    people = np.array([units[c] for c in codes], dtype=np.float64)
    # How fast each unit works: most near the plan, a few well ahead or behind.
    pace = np.clip(rng.normal(1.0, 0.12, len(codes)), 0.6, 1.35)
    # A monthly rhythm (slow around the Spring Festival in February), summing to 1.
    rhythm = np.array([0.06, 0.04, 0.09, 0.09, 0.09, 0.09, 0.09, 0.09, 0.09, 0.09, 0.09, 0.09])
    rhythm = rhythm / rhythm.sum()  # at pace 1 a unit meets its annual target in December
    plan_share = np.concatenate([[0.0], np.cumsum(np.full(12, 1 / 12))])  # targets: linear

    target_rows: list[list[object]] = []
    figure_rows: list[list[object]] = []
    received: dict[tuple[str, str], int] = defaultdict(int)  # (period, district) -> count
    for metric, (start, goal) in _DEMO_SHARES.items():
        base = people * start
        annual = np.round(people * goal).astype(np.int64)
        gain = annual - base
        for i, code in enumerate(codes):
            target_rows.append([year, "", code, "", metric.label, int(annual[i])])
            for month in range(1, 13):
                value = int(np.rint(base[i] + gain[i] * plan_share[month]))
                target_rows.append([year, month, code, "", metric.label, value])
        # Monthly increments vary around each unit's pace; cumulative counts never fall.
        noise = np.clip(rng.normal(1.0, 0.15, (len(codes), 12)), 0.5, 1.5)
        done = np.cumsum(rhythm * pace[:, None] * noise, axis=1)
        done = np.concatenate([np.zeros((len(codes), 1)), done], axis=1)
        for month in range(0, through + 1):
            values = np.round(base + gain * np.minimum(done[:, month], 1.6)).astype(np.int64)
            period = f"{year - 1}-12" if month == 0 else f"{year}-{month:02d}"
            for i, code in enumerate(codes):
                figure_rows.append([period, code, "", metric.label, int(values[i])])
                if metric == Metric.RECEIVED:
                    received[(period, code[:6])] += int(values[i])
    # Banks report per district what they received and opened.
    for month in range(1, through + 1):
        period = f"{year}-{month:02d}"
        for district in sorted(_DEMO_POPULATION):
            for bank, share in _DEMO_BANKS:
                got = int(np.rint(received[(period, district)] * share))
                rate = min(0.98, 0.80 + 0.015 * month + rng.normal(0, 0.01))
                figure_rows.append([period, district, bank, Metric.RECEIVED.label, got])
                figure_rows.append([period, district, bank, Metric.OPENED.label, int(got * rate)])
    targets = work / "demo_targets.csv"
    figures = work / "demo_figures.csv"
    _write_csv(targets, ("年度", "月份", "区划代码", "合作银行", "指标", "目标值"), target_rows)
    _write_csv(figures, ("统计月份", "区划代码", "合作银行", "指标", "累计值"), figure_rows)
    return targets, figures, len(codes)


def _demo_plan_organisations() -> None:
    """Create the organisations the demo plan names that the demo has not created."""
    for code, name, kind, region in _DEMO_PLAN_ORGS:
        if Organisation.objects.filter(Q(code=code) | Q(name=name)).exists():
            continue
        organisation_create(
            actor=None, code=code, name=name, kind=kind, region=Region.objects.get(code=region)
        )


def reports_demo_seed(
    *, year: int = 2026, through_month: int | None = None, seed: int = 2026
) -> ReportsDemoSummary:
    """Demo targets and figures for 鄂州市 (its towns, or else its three districts) for the
    months of `year`, and seed 001's work plan for 鄂城区, through the real imports.

    Figures run to `through_month` (default: the last month ended before today, in `year`);
    targets cover the whole year. Deterministic for a seed; running it again changes nothing.
    """
    if not Region.objects.filter(code__in=[_DEMO_CITY, *_DEMO_POPULATION]).count() == 4:
        raise NotFound("请先加载鄂州市及其三个区的行政区划", code="REGION_UNKNOWN")
    if through_month is None:
        today = timezone.localdate()
        through_month = 12 if today.year > year else max(1, today.month - 1)
    if not 1 <= through_month <= 12:
        raise ValidationFailed("月份应为1–12", code="MONTH_INVALID")
    with tempfile.TemporaryDirectory(prefix="shebao-reports-demo-") as tmp:
        work = Path(tmp)
        targets_path, figures_path, units = _demo_figure_files(
            work, year=year, through=through_month, seed=seed
        )
        targets = targets_import(path=targets_path, actor=None)
        figures = figures_import(path=figures_path, actor=None)
        plan: WorkPlanImportOutcome | None = None
        title = f"{year}年{_DEMO_PLAN_TITLE}"
        # The plan is imported once: statuses changed in the demo since are kept.
        if not WorkPlan.objects.filter(region_id=_DEMO_DISTRICT, title=title).exists():
            with transaction.atomic():
                _demo_plan_organisations()
            plan = work_plan_import(
                path=DEMO_WORK_PLAN, title=title, region_code=_DEMO_DISTRICT, actor=None
            )
    return ReportsDemoSummary(
        targets=targets, figures=figures, work_plan=plan, units=units, through_month=through_month
    )


# ---------------------------------------------------------------- targets typed on a page

TARGET_MANAGERS: Final[frozenset[str]] = frozenset(
    {Role.CARD_CENTRE_OPERATOR, Role.DISTRICT_CLERK, Role.SYSTEM_ADMIN}
)


class TargetsRejected(ValidationFailed):
    """Some cells were wrong; nothing was saved. `errors` lists every one of them."""

    def __init__(self, errors: Sequence[CellError]) -> None:
        super().__init__(
            f"目标值有{len(errors)}处错误，未保存任何数据",
            code="TARGETS_REJECTED",
            details=[e.as_dict() for e in errors],
        )
        self.errors = list(errors)


class TargetsNeedConfirmation(ValidationFailed):
    """A region's own target differs from its subordinates' roll-up: saving replaces the
    roll-up by the typed figure, so the page asks first (nothing was saved)."""

    def __init__(self, differences: Sequence[RollupDifference], names: dict[str, str]) -> None:
        super().__init__(
            f"有{len(differences)}个目标与下级地区的目标合计不一致，请确认后再保存",
            code="TARGETS_ROLLUP_DIFFERS",
            details=[d.as_dict() for d in differences],
        )
        self.differences = list(differences)
        self.messages = [d.message(names.get(d.region_code, d.region_code)) for d in differences]


@dataclass(frozen=True, slots=True)
class TargetsSaved:
    created: int
    updated: int
    removed: int


def targets_can_manage(user: User) -> bool:
    return user.is_superuser or user.has_role(*TARGET_MANAGERS)


def _targets_rollup_check(
    *, year: int, metric: Metric, codes: set[str], grid: TargetGrid
) -> TargetsNeedConfirmation | None:
    """Whether the typed targets make a region's own target differ from its subordinates'
    roll-up (compared as they would be saved)."""
    tree = list(
        Region.objects.filter(Q(code__in=sorted(codes)) | Q(parent_id__in=sorted(codes)))
        .order_by()
        .values_list("code", "parent_id", "name")
    )
    children: dict[str, list[str]] = defaultdict(list)
    for code, parent, _name in tree:
        if parent is not None and parent in codes:
            children[parent].append(code)
    every = {code for code, _p, _n in tree}
    stored: dict[tuple[str, int], int] = {
        (code, month or ANNUAL): value
        for code, month, value in Target.objects.filter(
            year=year, metric=metric.value, bank="", region_id__in=sorted(every)
        ).values_list("region_id", "month", "value")
    }
    values = dict(stored)
    changed: set[tuple[str, int]] = set()
    for row in grid.rows:
        if row.bank:
            continue
        key = (row.region_code, row.month or ANNUAL)
        if stored.get(key) != row.value:
            changed.add(key)
        values[key] = row.value
    for region, bank, period in grid.cleared:
        if not bank and (region, period) in values:
            changed.add((region, period))
            del values[(region, period)]
    differences = rollup_differences(values, children, changed)
    if not differences:
        return None
    return TargetsNeedConfirmation(differences, {code: name for code, _p, name in tree})


def _targets_annual_check(
    *, year: int, metric: Metric, cells: dict[GridKey, str], grid: TargetGrid
) -> list[CellError]:
    """Months typed without their year's annual target on the page are checked against the
    stored annual target (a month's cumulative target cannot exceed the year's)."""
    typed_annual = {(r, b) for r, b, p in cells if p == ANNUAL}
    months = [
        r for r in grid.rows if r.month is not None and (r.region_code, r.bank) not in typed_annual
    ]
    if not months:
        return []
    annual = {
        (code, bank): value
        for code, bank, value in Target.objects.filter(
            year=year,
            metric=metric.value,
            month__isnull=True,
            region_id__in=sorted({r.region_code for r in months}),
        ).values_list("region_id", "bank", "value")
    }
    errors = []
    for r in months:
        limit = annual.get((r.region_code, r.bank))
        if limit is not None and r.month is not None and r.value > limit:
            errors.append(
                CellError(
                    r.region_code,
                    r.bank,
                    r.month,
                    ABOVE_ANNUAL,
                    f"{r.month}月目标{r.value}大于已保存的年度目标{limit}："
                    "月度目标是截至月底的累计数，不能超过全年目标",
                )
            )
    return errors


def targets_save(
    *,
    actor: User,
    year: int,
    metric: Metric,
    cells: dict[GridKey, str],
    confirm_rollup: bool = False,
) -> TargetsSaved:
    """Save the targets typed on the target page (all or nothing). A blank cell removes the
    target it stood for; regions must lie in the actor's area. A month's target above the
    year's is refused; a region's own target that differs from its subordinates' roll-up
    is saved only when `confirm_rollup` says the user saw both (`TargetsNeedConfirmation`)."""
    if not targets_can_manage(actor):
        raise PermissionDenied("您的角色无权录入目标任务", code="TARGETS_FORBIDDEN")
    scope = Scope.for_user(actor)
    codes = {region for region, _bank, _period in cells}
    outside = sorted(c for c in codes if not scope.contains_region(c))
    if outside:
        raise PermissionDenied(
            f"区划“{outside[0]}”不在您的管辖范围内，不能录入其目标", code="OUT_OF_SCOPE"
        )
    unknown = sorted(codes - region_codes_known(codes))
    if unknown:
        raise NotFound(f"区划代码“{unknown[0]}”不存在", code="REGION_UNKNOWN")
    grid = parse_target_grid(year=year, metric=metric, cells=cells)
    errors = [
        *grid.errors,
        *_targets_annual_check(year=year, metric=metric, cells=cells, grid=grid),
    ]
    if errors:
        raise TargetsRejected(errors)
    differs = _targets_rollup_check(year=year, metric=metric, codes=codes, grid=grid)
    if differs is not None and not confirm_rollup:
        raise differs
    now = timezone.now()
    with transaction.atomic():
        existing: dict[Key, tuple[int, int]] = {}
        stored = Target.objects.filter(
            year=year, metric=metric.value, region_id__in=sorted(codes)
        ).values_list("pk", "month", "region_id", "bank", "value")
        for pk, month, region, bank, value in stored:
            existing[(year, month, region, bank, metric)] = (pk, value)
        created, updated, _unchanged = _count(grid.rows, existing)
        fresh = [
            Target(
                year=r.year,
                month=r.month,
                region_id=r.region_code,
                bank=r.bank,
                metric=r.metric.value,
                value=r.value,
                updated_at=now,
            )
            for r in grid.rows
            if r.key not in existing
        ]
        changed = [
            Target(pk=existing[r.key][0], value=r.value, updated_at=now)
            for r in grid.rows
            if r.key in existing and existing[r.key][1] != r.value
        ]
        Target.objects.bulk_create(fresh, batch_size=_BATCH)
        Target.objects.bulk_update(changed, ["value", "updated_at"], batch_size=_BATCH)
        gone = [
            existing[key][0]
            for region, bank, period in grid.cleared
            if (key := (year, None if period == ANNUAL else period, region, bank, metric))
            in existing
        ]
        Target.objects.filter(pk__in=gone).delete()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="reports.Target",
            target_id=f"{year}:{metric.value}",
            detail={
                "regions": sorted(codes)[:50],
                "created": created,
                "updated": updated,
                "removed": len(gone),
                **(
                    {"rollup_overridden": [d.as_dict() for d in differs.differences][:50]}
                    if differs is not None
                    else {}
                ),
            },
        )
    return TargetsSaved(created=created, updated=updated, removed=len(gone))


# ---------------------------------------------------------------- live figures


@dataclass(frozen=True, slots=True)
class LiveRefreshOutcome:
    refresh: LiveRefresh
    counts: int
    figures: int


def _live_since(full: bool) -> date | None:
    """Re-count from the day before the last refresh started (work recorded around midnight
    or committed late is never missed); everything on the first run or when asked."""
    if full:
        return None
    last = LiveRefresh.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
    if last is None:
        return None
    return timezone.localdate(last.started_at) - timedelta(days=1)


def _live_counts_recount(since: date | None) -> int:
    """Replace the daily counts from `since` (all of them for None) by fresh ones."""
    stale = LiveCount.objects.all() if since is None else LiveCount.objects.filter(day__gte=since)
    stale.delete()
    fresh: dict[tuple[date, str, str, str], int] = defaultdict(int)
    for source in LIVE_SOURCES:
        for day, region, bank, metric, n in source.count(since):
            if region and n:
                fresh[(day, region, bank, metric.value)] += n
    LiveCount.objects.bulk_create(
        [
            LiveCount(day=day, region_id=region, bank=bank, metric=metric, count=n)
            for (day, region, bank, metric), n in sorted(fresh.items())
        ],
        batch_size=_BATCH,
    )
    return len(fresh)


def _live_chain(regions: set[str]) -> Callable[[str], tuple[str, ...]]:
    """How far each region's counts roll up: to the card centres' regions (see
    `domain.live.rollup_chain`), over the regions the table knows."""
    roots = set(
        Organisation.objects.filter(kind=OrganisationKind.CARD_CENTRE).values_list(
            "region_id", flat=True
        )
    )
    candidates: set[str] = set()
    for code in regions:
        current: str | None = code
        while current is not None:
            candidates.add(current)
            current = parent_code_of(current)
    known = region_codes_known(candidates)
    return lambda code: rollup_chain(code, roots=roots, known=known.__contains__)


def _flow_metrics() -> list[str]:
    return sorted({m.value for source in LIVE_SOURCES for m in source.metrics})


def _live_stocks_record(today: date) -> int:
    """Record the stock metrics (persons registered …) as the current month's figures."""
    counts: dict[CountKey, int] = {}
    for stock in LIVE_STOCKS:
        for region, bank, n in stock.count():
            if region and n:
                counts[(region, bank, stock.metric)] = n
    rows = month_end_figures(
        before=counts,
        increments={},
        months=[(today.year, today.month)],
        chain=_live_chain({key[0] for key in counts}),
    )
    LiveFigure.objects.filter(
        year=today.year, month=today.month, metric__in=[s.metric.value for s in LIVE_STOCKS]
    ).delete()
    LiveFigure.objects.bulk_create(
        [
            LiveFigure(
                year=r.year,
                month=r.month,
                region_id=r.region_code,
                bank=r.bank,
                metric=r.metric.value,
                value=r.value,
            )
            for r in rows
        ],
        batch_size=_BATCH,
    )
    return len(rows)


def _live_figures_rebuild(month_start: date, today: date) -> int:
    """Rewrite the month-end live figures from `month_start`'s month to today's."""
    metrics = {m.value: m for m in Metric}
    before: dict[CountKey, int] = {}
    for region, bank, metric, total in (
        LiveCount.objects.filter(day__lt=month_start)
        .values_list("region_id", "bank", "metric")
        .annotate(total=Sum("count"))
        .order_by()
    ):
        before[(region, bank, metrics[metric])] = total
    increments: dict[tuple[int, int], dict[CountKey, int]] = defaultdict(dict)
    for year, month, region, bank, metric, total in (
        LiveCount.objects.filter(day__gte=month_start)
        .annotate(y=ExtractYear("day"), m=ExtractMonth("day"))
        .values_list("y", "m", "region_id", "bank", "metric")
        .annotate(total=Sum("count"))
        .order_by()
    ):
        increments[(year, month)][(region, bank, metrics[metric])] = total
    regions = {key[0] for key in before} | {k[0] for keys in increments.values() for k in keys}
    rows = month_end_figures(
        before=before,
        increments=increments,
        months=months_between(month_start, max(today, month_start)),
        chain=_live_chain(regions),
    )
    LiveFigure.objects.filter(
        Q(year__gt=month_start.year) | Q(year=month_start.year, month__gte=month_start.month),
        metric__in=_flow_metrics(),
    ).delete()
    LiveFigure.objects.bulk_create(
        [
            LiveFigure(
                year=r.year,
                month=r.month,
                region_id=r.region_code,
                bank=r.bank,
                metric=r.metric.value,
                value=r.value,
            )
            for r in rows
        ],
        batch_size=_BATCH,
    )
    return len(rows)


def live_figures_refresh(*, full: bool = False, today: date | None = None) -> LiveRefreshOutcome:
    """Bring the daily counts and the month-end live figures up to date, re-counting only the
    days since the last refresh (all days with `full`). One transaction: pages read either
    the old figures or the new ones."""
    today = today or timezone.localdate()
    since = _live_since(full)
    started = timezone.now()
    with transaction.atomic():
        counts = _live_counts_recount(since)
        first_day = since or LiveCount.objects.order_by("day").values_list("day", flat=True).first()
        if first_day is None:
            LiveFigure.objects.filter(metric__in=_flow_metrics()).delete()
            figures = 0
        else:
            figures = _live_figures_rebuild(first_day.replace(day=1), today)
        figures += _live_stocks_record(today)
        refresh = LiveRefresh.objects.create(
            started_at=started,
            finished_at=timezone.now(),
            since=since or first_day or today,
            counts=counts,
            figures=figures,
        )
    return LiveRefreshOutcome(refresh=refresh, counts=counts, figures=figures)
