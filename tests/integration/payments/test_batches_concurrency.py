"""Two approvals of one batch at the same moment give one result (PostgreSQL row locks)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from shebao.accounts.choices import Role
from shebao.accounts.models import AuditEvent
from shebao.accounts.services import user_create
from shebao.payments.domain.batch_lifecycle import BatchStatus, BatchTransitionError
from shebao.payments.models import PaymentBatch, PaymentBatchHistory
from shebao.payments.services.batches import (
    payment_batch_approve,
    payment_batch_import,
    payment_batch_submit,
)
from tests.conftest import postgres_only
from tests.factories import PASSWORD
from tests.integration.payments.batches_world import build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _run_at_once(jobs: list[Callable[[], object]]) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_two_approvals_of_one_batch_at_once_give_one_result(tmp_path: Path) -> None:
    postgres_only("row locks need PostgreSQL (set DATABASE_URL)")
    world = build_world(tmp_path, people=4)
    second = user_create(
        actor=None,
        username="checker2",
        password=PASSWORD,
        organisation=world.office,
        roles=[Role.PAYING_OFFICE_CLERK],
        full_name="复核二",
    )
    path = world.write("b.csv", [world.row(i) for i in range(4)])
    batch = payment_batch_import(
        actor=world.payer, programme_id=world.programme().pk, period="2026-03", path=path
    )
    payment_batch_submit(actor=world.payer, batch_id=batch.pk)
    errors = _run_at_once(
        [
            lambda: payment_batch_approve(actor=world.checker, batch_id=batch.pk),
            lambda: payment_batch_approve(actor=second, batch_id=batch.pk),
        ]
    )
    assert len(errors) == 1 and isinstance(errors[0], BatchTransitionError)
    batch = PaymentBatch.objects.get(pk=batch.pk)
    assert batch.status == BatchStatus.APPROVED
    assert batch.approved_by_id in {world.checker.pk, second.pk}
    assert PaymentBatchHistory.objects.filter(batch=batch, event="approve").count() == 1
    assert AuditEvent.objects.filter(action="approve", target_id=str(batch.pk)).count() == 1
