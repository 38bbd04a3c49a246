"""How the jobs app ends a job whose process or database went away (ADR 0004, 0008), in
process: what the job's owner records, and that a lost connection is reopened to record it."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from shebao.errors import ShebaoError
from shebao.jobs.choices import JobStatus
from shebao.jobs.kinds import JobContext, job_kind
from shebao.jobs.models import Job
from shebao.jobs.services import job_enqueue, job_fail_orphaned, job_run_next
from tests.conftest import postgres_only

PROBE = "tests.crash_probe"
KILLER = "tests.crash_connection_killer"
seen: list[BaseException] = []


def _remember(context: JobContext, error: BaseException) -> None:
    seen.append(error)
    Job.objects.filter(pk=context.job.pk).update(message="owner failed")


@job_kind(PROBE, label="探针任务", on_failure=_remember)
def _probe(context: JobContext) -> dict[str, Any]:
    return {}


@job_kind(KILLER, label="断开数据库连接的任务", on_failure=_remember)
def _killer(context: JobContext) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    return {}


@pytest.mark.django_db
def test_an_orphaned_jobs_owner_gets_a_chinese_message_not_an_exception_name() -> None:
    seen.clear()
    pid = int(
        subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    job = job_enqueue(kind=PROBE)
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=f"{socket.gethostname()}:{pid}",
    )
    assert job_fail_orphaned() == 1
    (error,) = seen
    assert isinstance(error, ShebaoError) and error.message == "任务执行中断：工作进程已停止"


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_database_connection_is_cut_fails_with_its_owner_and_a_clear_message() -> None:
    postgres_only("pg_terminate_backend ends a PostgreSQL server connection")
    seen.clear()
    job = job_enqueue(kind=KILLER)
    ran = job_run_next(job_id=job.pk)
    assert ran is not None
    job.refresh_from_db()  # on a new connection
    assert job.status == JobStatus.FAILED
    assert "数据库连接中断" in job.error and "Error" not in job.error
    assert job.message == "失败"
    (error,) = seen  # the owner's hook ran, with the Chinese reason, on a working connection
    assert isinstance(error, ShebaoError) and error.code == "JOB_DATABASE_LOST"
