"""Long payment work from the pages runs on the worker: the upload and the generation always
(the clerk follows the job's page, which then opens the batch, or shows the file's error in
Chinese); a big batch's check, approval and export too, the batch page showing the job's
progress and offering no other action meanwhile. Another office cannot follow the job."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from shebao.accounts.models import User
from shebao.jobs.services import job_run_next
from shebao.payments.models import BankPaymentFile, PaymentBatch
from shebao.payments.views import office
from tests.integration.payments.batches_world import BatchWorld, build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def world(tmp_path: Path) -> BatchWorld:
    return build_world(tmp_path, people=3)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post_file(client: Client, world: BatchWorld, path: Path, period: str = "2026-04") -> str:
    with path.open("rb") as handle:
        response = client.post(
            reverse("payments:batch_new"),
            {"mode": "import", "programme": world.programme().pk, "period": period, "file": handle},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    return str(response["Location"])


def test_a_bad_file_fails_its_job_with_the_reason_and_a_bad_period_is_refused_at_once(
    world: BatchWorld,
) -> None:
    payer = _client(world.payer)
    bad = world.write("名单.csv", [["x", "y", "z"]], header=("编号", "名字", "钱"))
    job_page = _post_file(payer, world, bad)
    job = job_run_next()
    assert job is not None and job.status == "failed"
    html = payer.get(job_page).content.decode()
    assert 'data-testid="job-error"' in html and "社会保障号码" in html
    assert PaymentBatch.objects.count() == 0
    # Another office does not learn that the job exists.
    assert _client(world.other_office_clerk).get(job_page).status_code == 404
    # A period that cannot be read is answered on the form, nothing queued.
    good = world.write("名单2.csv", [world.row(0)])
    with good.open("rb") as handle:
        refused = payer.post(
            reverse("payments:batch_new"),
            {"mode": "import", "programme": world.programme().pk, "period": "明年", "file": handle},
        )
    assert refused.status_code == 400
    assert job_run_next() is None


def test_a_big_batch_is_checked_approved_and_exported_by_the_worker(
    world: BatchWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(office, "EXPORT_IN_BACKGROUND_ROWS", 1)
    payer, checker = _client(world.payer), _client(world.checker)
    job_page = _post_file(payer, world, world.write("名单.csv", [world.row(0), world.row(1)]))
    assert job_run_next() is not None
    batch_page = payer.get(job_page)["Location"]
    batch = PaymentBatch.objects.get()
    assert batch.status == "checked" and batch_page.endswith(f"/{batch.code}/")

    assert payer.post(batch_page, {"action": "check"}).status_code == 302
    html = payer.get(batch_page).content.decode()
    # The job's progress, and no action while it works.
    assert 'data-testid="job-progress"' in html and 'data-testid="submit-batch"' not in html
    assert job_run_next() is not None
    assert 'data-testid="submit-batch"' in payer.get(batch_page).content.decode()
    assert payer.post(batch_page, {"action": "submit"}).status_code == 302

    # The maker's own approval fails on the worker too, with the reason.
    assert payer.post(batch_page, {"action": "approve"}).status_code == 302
    refused = job_run_next()
    assert refused is not None and refused.status == "failed" and "不能审批" in refused.error
    assert checker.post(batch_page, {"action": "approve"}).status_code == 302
    approved = job_run_next()
    assert approved is not None and approved.status == "succeeded", approved.error
    batch.refresh_from_db()
    assert batch.status == "approved" and batch.approved_by_id == world.checker.pk
    assert checker.post(batch_page, {"action": "export"}).status_code == 302
    batch.refresh_from_db()
    assert batch.status == "exported" and BankPaymentFile.objects.filter(batch=batch).exists()
