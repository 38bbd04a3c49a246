"""Reads of jobs: a user sees the jobs of their organisation; administrators see every job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from shebao.accounts.choices import Role
from shebao.accounts.models import User
from shebao.errors import NotFound
from shebao.jobs.choices import JobStatus
from shebao.jobs.kinds import kind_get
from shebao.jobs.models import Job, WorkerPresence

__all__ = ["job_progress", "job_visible", "workers_alive"]


def job_visible(*, actor: User, job_id: int) -> Job:
    """A job its submitter, a colleague of the submitter's organisation or an administrator
    may follow."""
    job = Job.objects.select_related("created_by").filter(pk=job_id).first()
    sees_all = actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN)
    creator = job.created_by if job is not None else None
    colleague = (
        creator is not None
        and creator.organisation_id is not None
        and creator.organisation_id == actor.organisation_id
    )
    own = creator is not None and creator.pk == actor.pk
    if job is None or not (sees_all or own or colleague):
        raise NotFound("未找到该任务", code="JOB_NOT_FOUND")
    return job


def job_progress(job: Job) -> dict[str, Any]:
    """The job as the progress endpoint returns it (no parameters: they may name files)."""
    kind = kind_get(job.kind)
    return {
        "id": job.pk,
        "kind": job.kind,
        "kind_label": kind.label if kind is not None else job.kind,
        "status": job.status,
        "status_label": JobStatus(job.status).label,
        "done": job.progress_done,
        "total": job.progress_total,
        "percent": job.percent,
        "message": job.message,
        "error": job.error,
        "final": job.is_final,
        "result": job.result if job.status == JobStatus.SUCCEEDED else {},
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "no_worker": not job.is_final and workers_alive() == 0,
    }


def workers_alive() -> int:
    """How many workers have shown themselves recently (pages warn when none has)."""
    from shebao.jobs.services import WORKER_ALIVE_SECONDS

    since = timezone.now() - timedelta(seconds=WORKER_ALIVE_SECONDS)
    return WorkerPresence.objects.filter(seen_at__gte=since, stopped_at__isnull=True).count()
