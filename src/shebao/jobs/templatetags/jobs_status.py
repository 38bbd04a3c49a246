"""`{% load jobs_status %}{% no_worker_warning job %}`: the warning a page shows beside queued
or running work when no `shebao worker` is alive to do it."""

from __future__ import annotations

from typing import Any

from django import template

from shebao.jobs.selectors import workers_alive

register = template.Library()


@register.inclusion_tag("jobs/_no_worker.html")
def no_worker_warning(job: Any) -> dict[str, bool]:
    status = job.get("status") if isinstance(job, dict) else getattr(job, "status", None)
    pending = status in ("queued", "running")
    return {"show": pending and workers_alive() == 0}
