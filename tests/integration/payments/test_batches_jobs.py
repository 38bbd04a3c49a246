"""Big batches in the background: the import and approval jobs run the same services as the
clerk who asked, so scope and maker–checker hold there too."""

from __future__ import annotations

from pathlib import Path

import pytest

from shebao.jobs.services import job_enqueue, job_run_next
from shebao.payments.jobs_batches import BATCH_APPROVE, BATCH_CHECK, BATCH_IMPORT
from shebao.payments.models import PaymentBatch
from shebao.payments.services.batches import (
    payment_batch_drop_problem_rows,
    payment_batch_submit,
)
from tests.integration.payments.batches_world import build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_import_and_approval_jobs(tmp_path: Path) -> None:
    world = build_world(tmp_path, people=3)
    path = world.write("名单.csv", [world.row(0), world.row(1), world.row(2, "0")])
    job_enqueue(
        kind=BATCH_IMPORT,
        parameters={
            "actor_id": world.payer.pk,
            "programme_id": world.programme().pk,
            "period": "2026-05",
            "path": str(path),
            "file_name": "名单.csv",
        },
        created_by=world.payer,
    )
    job = job_run_next()
    assert job is not None and job.status == "succeeded", job.error if job else None
    assert job.result["rows"] == 3 and job.result["payable_fen"] == 300000
    assert job.result["problem_rows"] == 1 and job.result["status"] == "checked"
    batch = PaymentBatch.objects.get(pk=job.result["batch_id"])
    assert batch.source_file_name == "名单.csv"

    payment_batch_drop_problem_rows(actor=world.payer, batch_id=batch.pk, note="金额为0")
    job_enqueue(kind=BATCH_CHECK, parameters={"actor_id": world.payer.pk, "batch_id": batch.pk})
    checked = job_run_next()
    assert checked is not None and checked.status == "succeeded"
    payment_batch_submit(actor=world.payer, batch_id=batch.pk)

    for actor, expected in ((world.payer, "failed"), (world.checker, "succeeded")):
        job_enqueue(kind=BATCH_APPROVE, parameters={"actor_id": actor.pk, "batch_id": batch.pk})
        done = job_run_next()
        assert done is not None and done.status == expected
        if expected == "failed":
            assert "不能审批" in done.error
    approvals = batch.history.filter(event="approve")
    assert approvals.count() == 1 and approvals.get().actor == world.checker
