"""Demo data for registration: import the demo city's department files and compare them, so
that the pages have batches, rejected rows, findings, rosters and coverage.

Called from `shebao demo` after the department files are written:

    registration_demo_seed(department_files=department_files, as_of=DEMO_AS_OF,
                           region_code=city.code)

Idempotent: files imported before are the same batches (by SHA-256); a comparison is run
only when no succeeded run has exactly these batches as inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from shebao.errors import NotFound
from shebao.geo.models import Region
from shebao.intake.choices import ImportStatus
from shebao.intake.formats.kinds import SourceKind
from shebao.intake.models import ImportBatch
from shebao.intake.services import import_batch_submit
from shebao.jobs.services import job_run_next
from shebao.registration.choices import RunStatus
from shebao.registration.models import ComparisonRun
from shebao.registration.runs import comparison_run_submit

__all__ = ["RegistrationDemoSummary", "registration_demo_seed"]


@dataclass(frozen=True)
class RegistrationDemoSummary:
    batches: list[ImportBatch]
    batches_created: int
    run: ComparisonRun | None
    run_created: bool


def registration_demo_seed(
    *, department_files: Mapping[str, Path], as_of: date, region_code: str
) -> RegistrationDemoSummary:
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        raise NotFound(f"区划代码 {region_code} 不存在", code="REGION_UNKNOWN")
    batches: list[ImportBatch] = []
    created_count = 0
    kinds = {k.value for k in SourceKind}
    for kind, path in department_files.items():
        if kind not in kinds:
            continue
        batch, created = import_batch_submit(
            actor=None, path=Path(path), kind=SourceKind(kind), region=region
        )
        if created:
            created_count += 1
            if batch.job_id is not None:
                job_run_next(job_id=batch.job_id)
            batch.refresh_from_db()
        batches.append(batch)
    imported = [b for b in batches if b.status == ImportStatus.IMPORTED]
    if not any(b.kind == SourceKind.POPULATION for b in imported):
        return RegistrationDemoSummary(batches, created_count, None, False)
    wanted = {b.pk for b in imported}
    for run in ComparisonRun.objects.filter(status=RunStatus.SUCCEEDED).prefetch_related("inputs"):
        if {b.pk for b in run.inputs.all()} == wanted:
            return RegistrationDemoSummary(batches, created_count, run, False)
    run = comparison_run_submit(actor=None, as_of=as_of, batches=imported)
    if run.job_id is not None:
        job_run_next(job_id=run.job_id)
    run.refresh_from_db()
    return RegistrationDemoSummary(batches, created_count, run, True)
