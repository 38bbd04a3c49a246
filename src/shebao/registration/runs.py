"""Comparison runs: over the current data of each kind, in the background.

The current data of a kind is its current import batch, with the batches an increment was
applied on (`intake.selectors.import_batch_chain`); the run records every batch it read.

run = comparison_run_submit(actor=..., engine="duckdb", as_of=date(...))   # queues a job
(the worker runs it: the pure engine over the batches' snapshots, then the findings are
loaded in bulk and persons' registration status refreshed, in one transaction)
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User
from shebao.comparison.domain import DEFAULT_THRESHOLD, Category
from shebao.comparison.pipeline import ENGINE_NAMES, engine_create, run_comparison
from shebao.comparison.ports import SourceSnapshot
from shebao.errors import ShebaoError, ValidationFailed
from shebao.geo.choices import RegionLevel
from shebao.geo.models import Region
from shebao.intake.formats.increments import effective_parts
from shebao.intake.formats.kinds import SourceKind
from shebao.intake.models import ImportBatch
from shebao.intake.selectors import import_batch_chain, import_batches_current
from shebao.intake.storage import intake_path
from shebao.jobs.kinds import JobContext, job_kind
from shebao.jobs.services import job_enqueue
from shebao.registration.bulk import findings_load, registration_refresh
from shebao.registration.choices import RUN_TRANSITIONS, RunStatus
from shebao.registration.links import snapshot_with_links
from shebao.registration.models import ComparisonRun
from shebao.registration.sources import run_sources

__all__ = [
    "COMPARE_JOB_KIND",
    "comparison_run_execute",
    "comparison_run_fail",
    "comparison_run_submit",
    "run_sources",
    "runs_root",
]

COMPARE_JOB_KIND = "registration.compare"


class RunTransitionError(ShebaoError):
    def __init__(self, run: ComparisonRun, to: str) -> None:
        super().__init__(
            code="RUN_BAD_TRANSITION",
            message=(
                f"比对#{run.pk}处于“{RunStatus(run.status).label}”，不能改为“{RunStatus(to).label}”"
            ),
            status=409,
        )


def runs_root() -> Path:
    return Path(settings.DATA_DIR) / "registration" / "runs"


def _move(run: ComparisonRun, to: str, **fields: Any) -> None:
    if to not in RUN_TRANSITIONS[run.status]:
        raise RunTransitionError(run, to)
    updated = ComparisonRun.objects.filter(pk=run.pk, status=run.status).update(status=to, **fields)
    if not updated:
        run.refresh_from_db()
        raise RunTransitionError(run, to)
    run.status = to
    for name, value in fields.items():
        setattr(run, name, value)


def comparison_run_submit(
    *,
    actor: User | None,
    engine: str = "duckdb",
    as_of: date,
    threshold: float = DEFAULT_THRESHOLD,
    batches: list[ImportBatch] | None = None,
) -> ComparisonRun:
    """Queue a comparison over `batches` (default: the current batch of each kind), each
    with the batches it was applied on."""
    if engine not in ENGINE_NAMES:
        raise ValidationFailed(
            f"未知的比对引擎“{engine}”，可选：{'、'.join(ENGINE_NAMES)}", code="ENGINE_UNKNOWN"
        )
    if not 0 < threshold <= 1:
        raise ValidationFailed("匹配概率阈值应在0到1之间（不含0）", code="THRESHOLD_INVALID")
    tips = batches if batches is not None else import_batches_current()
    chosen: list[ImportBatch] = []
    for tip in tips:
        chosen.extend(b for b in import_batch_chain(tip) if b not in chosen)
    if not chosen:
        raise ValidationFailed("还没有已导入的部门数据，请先导入数据文件", code="NO_BATCHES")
    if not any(b.kind == SourceKind.POPULATION for b in chosen):
        raise ValidationFailed(
            "比对须包含公安人口库（population）的导入批次", code="NO_POPULATION_BATCH"
        )
    with transaction.atomic():
        run = ComparisonRun.objects.create(
            engine=engine, as_of=as_of, threshold=threshold, created_by=actor
        )
        run.inputs.set(chosen)
        run.job = job_enqueue(
            kind=COMPARE_JOB_KIND, parameters={"run_id": run.pk}, created_by=actor
        )
        run.save(update_fields=["job"])
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="comparison_run",
            target_id=run.pk,
            detail={
                "engine": engine,
                "as_of": as_of.isoformat(),
                "batches": [b.pk for b in chosen],
            },
        )
    return run


def _snapshots(run: ComparisonRun, out_dir: Path) -> tuple[list[SourceSnapshot], int]:
    """The run's inputs as the engine reads them, with confirmed probable matches applied
    (derived snapshots under `out_dir/inputs`); and how many rows the links touched."""
    out = []
    linked = 0
    for source, batch, path, rows in _parts(run, out_dir / "inputs"):
        snapshot = snapshot_with_links(
            kind=batch.kind,
            snapshot=path,
            out_dir=out_dir / "inputs",
            name=f"{batch.pk:06d}-{batch.kind}.parquet",
        )
        linked += snapshot.rows_linked
        out.append(
            SourceSnapshot(
                kind=SourceKind(batch.kind),
                source=source,
                path=snapshot.path,
                rows=rows,
                headers=dict(batch.columns),
            )
        )
    return out, linked


def _parts(run: ComparisonRun, out_dir: Path) -> list[tuple[str, ImportBatch, Path, int]]:
    """(source, batch, rows in force, how many) of each input: a batch that a later input
    of its chain (an increment) replaced rows of is read without those rows."""
    sources = run_sources(run)
    by_pk = {b.pk: (name, b) for name, b in sources.items()}
    bases = {b.base_id for b in sources.values() if b.base_id is not None}
    out: dict[int, tuple[str, ImportBatch, Path, int]] = {}
    for batch in sources.values():
        if batch.pk in bases:
            continue  # read as a part of the chain of the increment applied on it
        chain = [b for b in import_batch_chain(batch) if b.pk in by_pk]
        parts = effective_parts(
            SourceKind(batch.kind),
            [(intake_path(b.snapshot_path), b.rows_accepted) for b in chain],
            out_dir,
            stem=f"{batch.pk:06d}-chain",
        )
        for member, part in zip(chain, parts, strict=True):
            out[member.pk] = (by_pk[member.pk][0], member, part.path, part.rows)
    return [out[b.pk] for b in sources.values() if b.pk in out]


def comparison_run_execute(*, run_id: int, context: JobContext | None = None) -> ComparisonRun:
    """Run the engine over the run's batches, then load the findings in bulk and refresh the
    registration status, in one transaction (the body of the comparison job)."""
    run = ComparisonRun.objects.get(pk=run_id)
    _move(run, RunStatus.RUNNING, started_at=timezone.now())
    started = time.perf_counter()
    steps = len(Category) + 3
    done = 0

    def progress(message: str) -> None:
        nonlocal done
        done = min(done + 1, steps - 2)
        if context is not None:
            context.progress(done, steps, message)

    out_dir = runs_root() / f"{run.pk:06d}"
    out_dir.mkdir(parents=True, exist_ok=True)
    sources, linked = _snapshots(run, out_dir)
    engine = engine_create(run.engine)
    try:
        result = run_comparison(
            engine=engine,
            sources=sources,
            as_of=run.as_of,
            out_dir=out_dir,
            county_names=dict(
                Region.objects.filter(level=RegionLevel.COUNTY).values_list("code", "name")
            ),
            progress=progress,
        )
    finally:
        engine.close()
    if context is not None:
        context.progress(steps - 2, steps, f"比对完成，共 {result.findings:,} 条问题，正在入库")
    with transaction.atomic():
        step = time.perf_counter()
        loaded = findings_load(run=run, path=out_dir / "findings.csv")
        load_seconds = time.perf_counter() - step
        if context is not None:
            context.progress(steps - 1, steps, "更新人员参保登记状态")
        step = time.perf_counter()
        registration_refresh(run=run, as_of=run.as_of)
        timings = {k: round(v, 3) for k, v in result.timings.items()}
        timings["findings_load"] = round(load_seconds, 3)
        timings["registration_refresh"] = round(time.perf_counter() - step, 3)
        _move(
            run,
            RunStatus.SUCCEEDED,
            counts=result.counts,
            skipped=result.skipped,
            findings_total=result.findings,
            findings_loaded=loaded,
            confirmed_links=linked,
            timings=timings,
            out_dir=out_dir.relative_to(Path(settings.DATA_DIR)).as_posix(),
            duration_seconds=round(time.perf_counter() - started, 3),
            finished_at=timezone.now(),
        )
        audit_record(
            actor=run.created_by,
            action=AuditAction.IMPORT,
            target_type="comparison_run",
            target_id=run.pk,
            detail={"findings": loaded, "counts": result.counts, "confirmed_links": linked},
        )
    return run


def comparison_run_fail(*, run_id: int, error: BaseException) -> ComparisonRun:
    run = ComparisonRun.objects.get(pk=run_id)
    if RunStatus.FAILED not in RUN_TRANSITIONS[run.status]:
        return run
    message = (
        error.message if isinstance(error, ShebaoError) else f"{type(error).__name__}: {error}"
    )
    _move(run, RunStatus.FAILED, error=message, finished_at=timezone.now())
    return run


def _run_failed(context: JobContext, error: BaseException) -> None:
    comparison_run_fail(run_id=int(context.parameters["run_id"]), error=error)


@job_kind(COMPARE_JOB_KIND, label="比对部门数据", on_failure=_run_failed)
def _compare_job(context: JobContext) -> dict[str, Any]:
    run = comparison_run_execute(run_id=int(context.parameters["run_id"]), context=context)
    return {"run_id": run.pk, "findings": run.findings_loaded, "counts": run.counts}
