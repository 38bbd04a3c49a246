"""The job queue: enqueue, claim, run, progress, failure recorded, never lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from shebao.accounts.choices import OrganisationKind, Role
from shebao.errors import ValidationFailed
from shebao.jobs.choices import JobStatus
from shebao.jobs.kinds import JobContext, job_kind
from shebao.jobs.models import Job
from shebao.jobs.services import job_enqueue, job_fail_stale, job_report_progress, job_run_next
from tests.factories import make_org, make_regions, make_user

pytestmark = pytest.mark.django_db

seen: list[dict[str, Any]] = []


@job_kind("test.count", label="测试计数")
def _count(ctx: JobContext) -> dict[str, Any]:
    total = int(ctx.parameters["n"])
    for i in range(1, total + 1):
        ctx.progress(i, total, f"第 {i} 步")
        seen.append({"done": Job.objects.get(pk=ctx.job.pk).progress_done})
    return {"counted": total}


class Boom(RuntimeError):
    pass


@job_kind("test.crash", label="测试失败")
def _crash(ctx: JobContext) -> dict[str, Any]:
    ctx.progress(1, 2, "半途")
    Job.objects.filter(pk=ctx.job.pk).update(message="会被回滚吗")
    raise Boom("磁盘坏了")


def test_a_queued_job_runs_with_progress_and_result() -> None:
    seen.clear()
    job = job_enqueue(kind="test.count", parameters={"n": 3})
    assert job.status == JobStatus.QUEUED
    ran = job_run_next(worker="w1")
    assert ran is not None and ran.pk == job.pk
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result == {"counted": 3}
    assert (job.progress_done, job.progress_total, job.percent) == (3, 3, 100)
    assert [s["done"] for s in seen] == [1, 2, 3]  # progress visible while running
    assert job.worker == "w1" and job.started_at and job.finished_at
    assert job_run_next() is None  # nothing left


def test_jobs_run_oldest_first_and_a_crash_is_recorded_not_lost() -> None:
    crash = job_enqueue(kind="test.crash")
    count = job_enqueue(kind="test.count", parameters={"n": 1})
    first = job_run_next()
    assert first is not None and first.pk == crash.pk
    crash.refresh_from_db()
    assert crash.status == JobStatus.FAILED
    assert "Boom" in crash.error and "磁盘坏了" in crash.error
    assert crash.finished_at is not None
    second = job_run_next()
    assert second is not None and second.pk == count.pk
    assert Job.objects.get(pk=count.pk).status == JobStatus.SUCCEEDED


def test_unknown_kind_is_refused_and_bad_progress_too() -> None:
    with pytest.raises(ValidationFailed):
        job_enqueue(kind="no.such.kind")
    job = job_enqueue(kind="test.count", parameters={"n": 1})
    with pytest.raises(ValidationFailed):
        job_report_progress(job=job, done=-1)


def test_a_finished_job_is_not_run_again() -> None:
    job = job_enqueue(kind="test.count", parameters={"n": 1})
    job_run_next()
    assert job_run_next(job_id=job.pk) is None


def test_stale_running_jobs_are_failed() -> None:
    job = job_enqueue(kind="test.count", parameters={"n": 1})
    old = timezone.now() - timedelta(hours=3)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=old, heartbeat_at=old)
    assert job_fail_stale(older_than=timedelta(hours=1)) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "中断" in job.error


def test_worker_once_runs_the_queue(capsys: pytest.CaptureFixture[str]) -> None:
    job_enqueue(kind="test.count", parameters={"n": 2})
    job_enqueue(kind="test.crash")
    call_command("worker", "--once", "--no-schedules")
    out = capsys.readouterr().out
    assert "共运行 2 个任务" in out
    assert "失败" in out
    assert not Job.objects.filter(status=JobStatus.QUEUED).exists()


def test_progress_endpoint_shows_own_jobs_only() -> None:
    make_regions()
    org = make_org(OrganisationKind.CARD_CENTRE, "420700")
    owner = make_user(Role.CARD_CENTRE_OPERATOR, org)
    colleague = make_user(Role.CARD_CENTRE_OPERATOR, org)
    district = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420704")
    other = make_user(Role.DISTRICT_CLERK, district)
    job = job_enqueue(kind="test.count", parameters={"n": 2}, created_by=owner)
    client = Client()
    client.force_login(owner)
    url = f"/registration/jobs/{job.pk}/progress.json"
    data = client.get(url).json()
    assert data["status"] == "queued" and data["status_label"] == "排队中"
    job_run_next()
    data = client.get(url).json()
    assert data["final"] and data["percent"] == 100 and data["result"] == {"counted": 2}
    fragment = client.get(f"/registration/jobs/{job.pk}/progress/").content.decode()
    assert "已完成" in fragment and 'data-final="1"' in fragment
    client.force_login(colleague)
    assert client.get(url).status_code == 200
    client.force_login(other)
    assert client.get(url).status_code == 404
