"""A job's statuses and the transitions between them (an explicit state machine)."""

from __future__ import annotations

from typing import Final

from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "运行中"
    SUCCEEDED = "succeeded", "已完成"
    FAILED = "failed", "失败"


# from-status -> the statuses a job may move to. Succeeded and failed are final.
JOB_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
}
FINAL_STATUSES: Final[frozenset[str]] = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED})
