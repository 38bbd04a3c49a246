"""A dead worker's job fails with its import batch; pages say when no worker is alive."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import timezone

from shebao.accounts.choices import OrganisationKind, Role
from shebao.intake.choices import ImportStatus
from shebao.intake.services import import_batch_submit
from shebao.jobs.choices import JobStatus
from shebao.jobs.models import Job, WorkerPresence
from shebao.jobs.selectors import job_progress, workers_alive
from shebao.jobs.services import (
    WORKER_ALIVE_SECONDS,
    job_fail_orphaned,
    worker_presence_beat,
    worker_presence_start,
    worker_presence_stop,
)
from tests.factories import make_org, make_regions, make_user
from tests.integration.intake.test_import_batches import write_enrollment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path / "data"


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def _running_import(tmp_path: Path, worker: str) -> tuple[Job, int]:
    make_regions()
    org = make_org(OrganisationKind.CARD_CENTRE, "420700")
    clerk = make_user(Role.CARD_CENTRE_OPERATOR, org)
    batch, _ = import_batch_submit(actor=clerk, path=write_enrollment(tmp_path / "参保.csv"))
    assert batch.job is not None
    now = timezone.now()
    Job.objects.filter(pk=batch.job.pk).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker
    )
    type(batch).objects.filter(pk=batch.pk).update(status=ImportStatus.RUNNING)
    return Job.objects.get(pk=batch.job.pk), batch.pk


def test_a_job_whose_worker_process_died_fails_with_its_import_batch(tmp_path: Path) -> None:
    worker = f"{socket.gethostname()}:{_dead_pid()}"
    job, batch_id = _running_import(tmp_path, worker)

    assert job_fail_orphaned() == 1

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "工作进程已停止" in job.error
    from shebao.intake.models import ImportBatch

    batch = ImportBatch.objects.get(pk=batch_id)
    assert batch.status == ImportStatus.FAILED  # not "running" for ever
    assert "工作进程已停止" in batch.error_message


def test_a_busy_live_worker_keeps_its_job(tmp_path: Path) -> None:
    import os

    worker = f"{socket.gethostname()}:{os.getpid()}"  # this process: alive
    worker_presence_start(name=worker)
    job, _ = _running_import(tmp_path, worker)
    assert job_fail_orphaned() == 0
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_a_silent_worker_on_another_host_loses_its_job(tmp_path: Path) -> None:
    worker = "another-host:4242"
    worker_presence_start(name=worker)
    job, _ = _running_import(tmp_path, worker)
    assert job_fail_orphaned() == 0  # seen just now
    long_ago = timezone.now() - timedelta(seconds=WORKER_ALIVE_SECONDS + 5)
    WorkerPresence.objects.filter(name=worker).update(seen_at=long_ago)
    assert job_fail_orphaned() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_pages_warn_when_no_worker_is_alive(tmp_path: Path) -> None:
    job, _ = _running_import(tmp_path, "")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, worker="")
    job.refresh_from_db()
    template = Template("{% load jobs_status %}{% no_worker_warning job %}")

    assert workers_alive() == 0
    assert job_progress(job)["no_worker"] is True
    assert "后台工作进程未运行" in template.render(Context({"job": job}))

    worker_presence_start(name="here:1")
    worker_presence_beat(name="here:1")
    assert workers_alive() == 1
    assert job_progress(job)["no_worker"] is False
    assert "后台工作进程未运行" not in template.render(Context({"job": job}))

    worker_presence_stop(name="here:1")
    assert workers_alive() == 0


def test_every_page_warns_while_work_waits_and_no_worker_is_alive(tmp_path: Path) -> None:
    from django.test import Client

    from shebao.accounts.models import User

    job, _ = _running_import(tmp_path, "")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, worker="")
    client = Client()
    client.force_login(User.objects.get(roles__role=Role.CARD_CENTRE_OPERATOR))
    assert "后台工作进程未运行" in client.get("/").content.decode()

    worker_presence_start(name="here:2")
    assert "后台工作进程未运行" not in client.get("/").content.decode()
