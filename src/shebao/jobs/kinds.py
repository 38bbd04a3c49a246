"""The registry of job kinds: one function per kind, registered by the app that owns it.

    from shebao.jobs.kinds import JobContext, job_kind

    @job_kind("intake.import", label="导入部门数据")
    def run_import(ctx: JobContext) -> dict[str, Any]:
        ctx.progress(0, 3, "读取文件")
        ...
        return {"batch_id": 7}          # stored as the job's result

Apps register their kinds when their `kinds` (or `jobs`) module is imported; each app's
AppConfig.ready imports it so that the worker knows every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shebao.jobs.models import Job

__all__ = [
    "FailureHook",
    "JobContext",
    "JobKind",
    "JobRunner",
    "job_kind",
    "kind_get",
    "kinds_registered",
]


class JobContext:
    """What a running job's function gets: the job, and a way to report progress."""

    def __init__(self, job: Job) -> None:
        self.job = job

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.job.parameters)

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        from shebao.jobs.services import job_report_progress

        job_report_progress(job=self.job, done=done, total=total, message=message)


JobRunner = Callable[[JobContext], dict[str, Any] | None]
# Called after a failed run's own work was rolled back, to record the failure on the app's
# records (an import batch, a comparison run); it runs in autocommit, outside that work.
FailureHook = Callable[[JobContext, BaseException], None]


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    run: JobRunner
    on_failure: FailureHook | None = None


_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str, *, label: str, on_failure: FailureHook | None = None
) -> Callable[[JobRunner], JobRunner]:
    """Register the decorated function as the runner of job kind `name`."""

    def register(run: JobRunner) -> JobRunner:
        existing = _KINDS.get(name)
        if existing is not None and existing.run is not run:
            qualified = f"{run.__module__}.{run.__qualname__}"
            if f"{existing.run.__module__}.{existing.run.__qualname__}" != qualified:
                raise ValueError(f"job kind {name!r} is registered twice")
        _KINDS[name] = JobKind(name=name, label=label, run=run, on_failure=on_failure)
        return run

    return register


def kind_get(name: str) -> JobKind | None:
    return _KINDS.get(name)


def kinds_registered() -> dict[str, JobKind]:
    return dict(_KINDS)
