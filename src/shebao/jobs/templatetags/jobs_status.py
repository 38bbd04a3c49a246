"""The warning a page shows when queued or running work has no `shebao worker` alive to do it:
`{% no_worker_warning job %}` beside one job, `{% pending_work_without_worker %}` on every
page (the base template) while any work waits."""

from __future__ import annotations

from typing import Any

from django import template

from shebao.jobs.choices import JobStatus
from shebao.jobs.models import Job
from shebao.jobs.selectors import workers_alive

register = template.Library()


@register.inclusion_tag("jobs/_no_worker.html")
def no_worker_warning(job: Any) -> dict[str, bool]:
    status = job.get("status") if isinstance(job, dict) else getattr(job, "status", None)
    pending = status in ("queued", "running")
    return {"show": pending and workers_alive() == 0}


@register.inclusion_tag("jobs/_no_worker.html")
def pending_work_without_worker() -> dict[str, bool]:
    pending = Job.objects.filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).exists()
    return {"show": pending and workers_alive() == 0}
