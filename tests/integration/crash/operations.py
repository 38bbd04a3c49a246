"""The operations the crash tests interrupt: how each is set up, started, checked after the
kill, resumed (re-submitted, as a user would), and checked at the end against what an
uninterrupted run gives.

Everything here runs in a Django process pointed at the crash environment's database: the
test process for setup and checks, `pausing service` for the operations a server process
runs inside a request (production batch, handover)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count

State = dict[str, Any]

# Messages a failed owner or job may show: Chinese, and saying what happened.
ORPHANED_WORDS = ("中断", "停止")


@dataclass(frozen=True)
class Operation:
    name: str
    runs_on: str  # "worker": a job killed in `shebao worker`; "service": a request's process
    points: tuple[str, ...]  # CRASH_POINTs worth hitting (see `pausing`)
    setup: Callable[[Path], State]
    start: Callable[[State], int | None]  # the job's id (worker operations)
    after_kill: Callable[[State], list[str]]  # what a user sees right after: problems
    resume: Callable[[State], int | None]  # re-submit; a job id to wait for, or done inline
    final: Callable[[State], list[str]]  # problems against the uninterrupted outcome
    service: Callable[[State], None] = field(default=lambda state: None)

    def service_in_process(self) -> None:
        import json
        import os

        self.service(json.loads(os.environ["CRASH_STATE"]))


def _job_failed_cleanly(job_id: int) -> list[str]:
    from shebao.jobs.choices import JobStatus
    from shebao.jobs.models import Job

    job = Job.objects.get(pk=job_id)
    problems = []
    if job.status != JobStatus.FAILED:
        problems.append(f"job {job_id} is {job.status}, not failed")
    if not any(word in job.error for word in ORPHANED_WORDS):
        problems.append(
            f"job {job_id} error is not the Chinese interruption message: {job.error!r}"
        )
    if "Error" in job.error or "Traceback" in job.error:
        problems.append(f"job {job_id} error shows a Python exception: {job.error!r}")
    return problems


def _chinese_failure(what: str, message: str) -> list[str]:
    if not any(word in message for word in ORPHANED_WORDS) or "Error" in message:
        return [f"{what} failure message is not a clean Chinese one: {message!r}"]
    return []


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- a department file import (intake) --------------------------------------------------

IMPORT_GOOD, IMPORT_BAD = 3000, 7


def _import_setup(directory: Path) -> State:
    from shebao.accounts.choices import OrganisationKind, Role
    from tests.factories import make_org, make_regions, make_user
    from tests.integration.intake.test_import_batches import write_enrollment

    make_regions()
    clerk = make_user(Role.CARD_CENTRE_OPERATOR, make_org(OrganisationKind.CARD_CENTRE, "420700"))
    path = write_enrollment(directory / "参保.csv", good_rows=IMPORT_GOOD, bad_rows=IMPORT_BAD)
    return {"clerk": clerk.pk, "path": str(path)}


def _import_submit(state: State) -> int:
    from shebao.accounts.models import User
    from shebao.intake.services import import_batch_submit

    batch, created = import_batch_submit(
        actor=User.objects.get(pk=state["clerk"]), path=Path(state["path"])
    )
    assert created and batch.job_id is not None
    state.setdefault("batches", []).append(batch.pk)
    return int(batch.job_id)


def _import_after_kill(state: State) -> list[str]:
    from shebao.intake.choices import ImportStatus
    from shebao.intake.models import ImportBatch

    batch = ImportBatch.objects.get(pk=state["batches"][-1])
    problems = _job_failed_cleanly(int(batch.job_id or 0))
    if batch.status != ImportStatus.FAILED:
        problems.append(f"import batch is {batch.status}, not failed")
    problems += _chinese_failure("import batch", batch.error_message)
    if batch.is_current or batch.snapshot_path:
        problems.append("the killed batch is current or names a snapshot")
    return problems


def _import_final(state: State) -> list[str]:
    import polars as pl

    from shebao.intake.choices import ImportStatus
    from shebao.intake.models import ImportBatch
    from shebao.intake.storage import intake_path

    problems = []
    current = list(ImportBatch.objects.filter(is_current=True))
    if len(current) != 1:
        return [f"{len(current)} current batches of the kind, not 1"]
    batch = current[0]
    if batch.status != ImportStatus.IMPORTED:
        problems.append(f"current batch is {batch.status}")
    if (batch.rows_accepted, batch.rows_rejected) != (IMPORT_GOOD, IMPORT_BAD):
        problems.append(f"rows {batch.rows_accepted}/{batch.rows_rejected}, not {IMPORT_GOOD}/7")
    rows = pl.read_parquet(intake_path(batch.snapshot_path)).height
    if rows != IMPORT_GOOD:
        problems.append(f"snapshot holds {rows} rows, not {IMPORT_GOOD}")
    statuses = sorted(ImportBatch.objects.values_list("status", flat=True))
    if statuses != sorted([ImportStatus.FAILED, ImportStatus.IMPORTED]):
        problems.append(f"batches {statuses}")
    return problems


# ---- a comparison run (registration) ----------------------------------------------------


def _compare_setup(directory: Path) -> State:
    from tests.integration.registration.world import build_world, run_comparison_now

    world = build_world(directory)
    reference = run_comparison_now(world)  # the uninterrupted outcome, in this process
    return {
        "centre": world.centre.pk,
        "reference_counts": reference.counts,
        "reference_findings": _findings_signature(),
    }


def _findings_signature() -> list[tuple[str, str, str]]:
    from shebao.registration.models import Finding

    return sorted(Finding.objects.values_list("category", "id_number", "source_key"))


def _compare_submit(state: State) -> int:
    from shebao.accounts.models import User
    from shebao.registration.runs import comparison_run_submit
    from tests.integration.registration.world import AS_OF

    run = comparison_run_submit(actor=User.objects.get(pk=state["centre"]), as_of=AS_OF)
    state.setdefault("runs", []).append(run.pk)
    return int(run.job_id or 0)


def _compare_after_kill(state: State) -> list[str]:
    from shebao.registration.models import ComparisonRun

    run = ComparisonRun.objects.get(pk=state["runs"][-1])
    problems = _job_failed_cleanly(int(run.job_id or 0))
    if run.status != "failed":
        problems.append(f"comparison run is {run.status}, not failed")
    problems += _chinese_failure("comparison run", run.error)
    if _findings_signature() != [tuple(x) for x in state["reference_findings"]]:
        problems.append("findings changed by the killed run")
    return problems


def _compare_final(state: State) -> list[str]:
    from shebao.registration.models import ComparisonRun, Finding

    run = ComparisonRun.objects.get(pk=state["runs"][-1])
    problems = []
    if run.status != "succeeded":
        problems.append(f"resumed run is {run.status}")
    if run.counts != state["reference_counts"]:
        problems.append(f"counts {run.counts} != uninterrupted {state['reference_counts']}")
    if _findings_signature() != [tuple(x) for x in state["reference_findings"]]:
        problems.append("findings differ from the uninterrupted run")
    duplicated = (
        Finding.objects.values("category", "id_number", "source_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    if duplicated:
        problems.append(f"{duplicated} findings duplicated")
    return problems


# ---- a bank payment-file export (payments) -------------------------------------------------

EXPORT_AMOUNTS = [150_000 + n for n in range(9)]


def _export_setup(directory: Path) -> State:
    from tests.integration.payments.bank_world import approved_batch, build_bank_world

    world = build_bank_world(people=len(EXPORT_AMOUNTS))
    batch = approved_batch(world, EXPORT_AMOUNTS)
    return {"batch": batch.pk, "maker": world.maker.pk}


def _export_submit(state: State) -> int:
    from shebao.jobs.services import job_enqueue
    from shebao.payments.jobs_bank import EXPORT_BANK_FILES

    job = job_enqueue(
        kind=EXPORT_BANK_FILES, parameters={"batch_id": state["batch"], "actor_id": state["maker"]}
    )
    state.setdefault("jobs", []).append(job.pk)
    return int(job.pk)


def _export_after_kill(state: State) -> list[str]:
    from shebao.payments.models import BankPaymentFile, BankPaymentLine, PaymentBatch

    problems = _job_failed_cleanly(state["jobs"][-1])
    batch = PaymentBatch.objects.get(pk=state["batch"])
    if batch.status != "approved":
        problems.append(f"batch is {batch.status}, not approved (exportable again)")
    files = BankPaymentFile.objects.filter(batch_id=batch.pk).count()
    lines = BankPaymentLine.objects.filter(file__batch_id=batch.pk).count()
    if files or lines:
        problems.append(f"killed export recorded {files} files, {lines} lines as sent")
    return problems


def _export_final(state: State) -> list[str]:
    from shebao.cards.services.exchange import sm3_hex
    from shebao.payments.models import BankPaymentFile, BankPaymentLine, PaymentBatch, PaymentRow

    problems = []
    batch = PaymentBatch.objects.get(pk=state["batch"])
    if batch.status != "exported":
        problems.append(f"batch is {batch.status} after the resumed export")
    files = list(BankPaymentFile.objects.filter(batch_id=batch.pk))
    if len(files) != 3:
        problems.append(f"{len(files)} files recorded, not 3 (bank A, its branch, bank B)")
    lines = BankPaymentLine.objects.filter(file__batch_id=batch.pk)
    rows = set(PaymentRow.objects.filter(batch_id=batch.pk).values_list("pk", flat=True))
    paid = list(lines.values_list("row_id", flat=True))
    if sorted(paid) != sorted(rows):
        problems.append(f"{len(paid)} lines for {len(rows)} rows (lost or duplicated)")
    if sum(f.total_fen for f in files) != sum(EXPORT_AMOUNTS):
        problems.append("file totals differ from the batch")
    for record in files:
        path = Path(settings.MEDIA_ROOT) / record.stored_path
        if not path.exists() or sm3_hex(path.read_bytes()) != record.file_sm3:
            problems.append(f"recorded file {record.code} missing or not what was recorded")
    directory = Path(settings.MEDIA_ROOT) / "payments" / "bank"
    recorded = {Path(settings.MEDIA_ROOT) / f.stored_path for f in files}
    state["unrecorded_files"] = sorted(p.name for p in directory.iterdir() if p not in recorded)
    return problems


# ---- the monthly bulletins (reports) ----------------------------------------------------


def _bulletin_setup(directory: Path) -> State:
    from shebao.accounts.choices import OrganisationKind
    from shebao.reports.models import ReportedFigure
    from tests.factories import make_org
    from tests.integration.reports.test_pages import make_ezhou

    make_ezhou()
    make_org(OrganisationKind.CARD_CENTRE, "420700")
    for code, value in (("420702", 300), ("420703", 200), ("420704", 500)):
        ReportedFigure.objects.create(
            year=2026, month=10, region_id=code, metric="submitted", value=value
        )
    return {}


def _bulletin_submit(state: State) -> int:
    from shebao.jobs.services import job_enqueue
    from shebao.reports.jobs import BULLETINS

    job = job_enqueue(kind=BULLETINS, parameters={"today": "2026-11-05"})
    state.setdefault("jobs", []).append(job.pk)
    return int(job.pk)


def _bulletin_after_kill(state: State) -> list[str]:
    from shebao.reports.models import Bulletin

    problems = _job_failed_cleanly(state["jobs"][-1])
    for bulletin in Bulletin.objects.all():
        path = Path(settings.DATA_DIR) / "bulletins" / "420700" / bulletin.file_name
        if _sha256(path) != bulletin.file_sha256:
            problems.append(f"kept bulletin {bulletin.format} does not match its file")
    return problems


def _bulletin_final(state: State) -> list[str]:
    from shebao.reports.models import Bulletin

    problems = []
    kept = list(Bulletin.objects.filter(region_id="420700", year=2026, month=10))
    formats = sorted(b.format for b in kept)
    if formats != ["docx", "xlsx"]:
        problems.append(f"bulletins kept {formats}, not one docx and one xlsx")
    for bulletin in kept:
        path = Path(settings.DATA_DIR) / "bulletins" / "420700" / bulletin.file_name
        if bulletin.version != 1 or bulletin.superseded_by_id is not None:
            problems.append(f"{bulletin.format} is version {bulletin.version}")
        if not path.exists() or _sha256(path) != bulletin.file_sha256:
            problems.append(f"{bulletin.format} file is not the one recorded")
    return problems


# ---- a production batch (cards; formed by the card centre in a request) ----------------------


def _production_setup(directory: Path) -> State:
    from shebao.cards.services.applications import application_online_submit
    from tests.integration.cards.issuing_world import build_world

    world = build_world(6)
    for n, person in enumerate(world.people):
        application_online_submit(
            id_number=person.id_number,
            name=person.name,
            phone=f"1391234{n:04d}",
            bank_id=world.bank.pk,
            postal_address=f"凤凰街道凤凰村{n + 1}组",
        )
    return {"centre": world.centre_clerk.pk, "people": len(world.people)}


def _production_service(state: State) -> None:
    from shebao.accounts.models import User
    from shebao.cards.services.production import production_batches_form

    production_batches_form(actor=User.objects.get(pk=state["centre"]), today=date(2026, 12, 1))


def _production_after_kill(state: State) -> list[str]:
    from shebao.cards.models import Application, Card, ProductionBatch

    made = ProductionBatch.objects.count()
    cards = Card.objects.count()
    taken = Application.objects.filter(production_batch__isnull=False).count()
    if (made, cards, taken) != (0, 0, 0):
        return [f"killed forming left {made} batches, {cards} cards, {taken} applications taken"]
    return []


def _production_resume(state: State) -> None:
    _production_service(state)


def _production_final(state: State) -> list[str]:
    from shebao.cards.models import Application, Card, ProductionBatch

    problems = []
    people = state["people"]
    batches = list(ProductionBatch.objects.all())
    if sum(b.card_count for b in batches) != people:
        problems.append(f"batches hold {sum(b.card_count for b in batches)} cards, not {people}")
    cards = list(Card.objects.values_list("person_id", "card_number"))
    if len(cards) != people or len({p for p, _ in cards}) != people:
        problems.append(f"{len(cards)} cards for {people} persons (lost or duplicated)")
    if Application.objects.filter(card__isnull=True).exists():
        problems.append("an application has no card")
    return problems


# ---- a handover (cards; the receiver confirms in a request) ----------------------------------


def _handover_setup(directory: Path) -> State:
    from shebao.cards.services.custody import handover_create
    from tests.integration.cards.custody_world import build_chain, numbers

    chain = build_chain()
    cards = chain.cards_at_centre(4)
    handover = handover_create(
        actor=chain.centre_clerk, to_organisation_id=chain.district.pk, card_numbers=numbers(cards)
    )
    return {
        "handover": handover.pk,
        "receiver": chain.district_clerk.pk,
        "district": chain.district.pk,
        "centre": chain.centre.pk,
        "numbers": numbers(cards),
    }


def _handover_service(state: State) -> None:
    from shebao.accounts.models import User
    from shebao.cards.services.custody import handover_confirm

    handover_confirm(
        actor=User.objects.get(pk=state["receiver"]),
        handover_id=state["handover"],
        arrived=state["numbers"],
    )


def _custody(state: State) -> list[str]:
    from shebao.cards.models import Card
    from shebao.cards.selectors.custody import custody_invariant_violations

    problems = []
    if custody_invariant_violations().exists():
        problems.append("custody invariant violated")
    state["custodians"] = sorted(set(Card.objects.values_list("custodian_id", flat=True)))
    return problems


def _handover_after_kill(state: State) -> list[str]:
    from shebao.cards.models import Handover

    problems = _custody(state)
    if Handover.objects.get(pk=state["handover"]).status != "dispatched":
        problems.append("handover moved on although its confirmation was killed")
    if state["custodians"] != [state["centre"]]:
        problems.append("cards changed hands although the confirmation was killed")
    return problems


def _handover_final(state: State) -> list[str]:
    from shebao.cards.models import Handover

    problems = _custody(state)
    if Handover.objects.get(pk=state["handover"]).status != "confirmed":
        problems.append("handover not confirmed after the retry")
    if state["custodians"] != [state["district"]]:
        problems.append(f"custodians {state['custodians']} after the retry")
    return problems


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            name="import",
            runs_on="worker",
            points=("progress:1", "progress:2", "progress:3", "audit:1"),
            setup=_import_setup,
            start=_import_submit,
            after_kill=_import_after_kill,
            resume=_import_submit,
            final=_import_final,
        ),
        Operation(
            name="comparison",
            runs_on="worker",
            points=("progress:1", "progress:4", "audit:1", "commit:2"),
            setup=_compare_setup,
            start=_compare_submit,
            after_kill=_compare_after_kill,
            resume=_compare_submit,
            final=_compare_final,
        ),
        Operation(
            name="bank_export",
            runs_on="worker",
            points=("progress:2", "progress:3", "audit:1"),
            setup=_export_setup,
            start=_export_submit,
            after_kill=_export_after_kill,
            resume=_export_submit,
            final=_export_final,
        ),
        Operation(
            name="bulletin",
            runs_on="worker",
            points=("progress:1", "audit:1", "audit:2"),
            setup=_bulletin_setup,
            start=_bulletin_submit,
            after_kill=_bulletin_after_kill,
            resume=_bulletin_submit,
            final=_bulletin_final,
        ),
        Operation(
            name="production_batch",
            runs_on="service",
            points=("audit:1", "commit:1"),
            setup=_production_setup,
            start=lambda state: None,
            after_kill=_production_after_kill,
            resume=lambda state: _production_resume(state),  # type: ignore[func-returns-value]
            final=_production_final,
            service=_production_service,
        ),
        Operation(
            name="handover",
            runs_on="service",
            points=("commit:1",),
            setup=_handover_setup,
            start=lambda state: None,
            after_kill=_handover_after_kill,
            resume=lambda state: _handover_service(state),  # type: ignore[func-returns-value]
            final=_handover_final,
            service=_handover_service,
        ),
    )
}
