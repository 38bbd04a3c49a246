"""Queueing, claiming and running background jobs, and recording their progress.

A job moves queued → running → succeeded | failed and never back (`choices.JOB_TRANSITIONS`).
Claiming is a conditional UPDATE (status still queued), behind `SELECT … FOR UPDATE SKIP
LOCKED` where the database has it (PostgreSQL), so two workers never run one job. Whatever a
job's function raises marks the job failed with the error; it is never lost.

Progress is written with single-row UPDATEs in autocommit, outside the job's own
transactions, so that pages polling the job see it move.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from shebao.accounts.models import User
from shebao.errors import ShebaoError, ValidationFailed
from shebao.jobs.choices import JOB_TRANSITIONS, JobStatus
from shebao.jobs.kinds import JobContext, JobKind, kind_get
from shebao.jobs.models import Job, WorkerPresence

__all__ = [
    "WORKER_ALIVE_SECONDS",
    "WORKER_BEAT_SECONDS",
    "JobInterrupted",
    "JobNotRecorded",
    "job_enqueue",
    "job_fail_orphaned",
    "job_fail_stale",
    "job_report_progress",
    "job_run_next",
    "worker_name",
    "worker_presence_beat",
    "worker_presence_start",
    "worker_presence_stop",
]

logger = logging.getLogger(__name__)

_MESSAGE_MAX = 255


class JobTransitionError(ShebaoError):
    def __init__(self, job: Job, to: str) -> None:
        super().__init__(
            code="JOB_BAD_TRANSITION",
            message=f"任务#{job.pk}处于“{JobStatus(job.status).label}”，不能改为“{JobStatus(to).label}”",
            status=409,
        )


def _check(job: Job, to: str) -> None:
    if to not in JOB_TRANSITIONS[job.status]:
        raise JobTransitionError(job, to)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def job_enqueue(
    *, kind: str, parameters: dict[str, Any] | None = None, created_by: User | None = None
) -> Job:
    """Queue a job of a registered kind; `shebao worker` runs it."""
    if kind_get(kind) is None:
        raise ValidationFailed(f"未知的任务类型“{kind}”", code="JOB_KIND_UNKNOWN")
    job = Job(kind=kind, parameters=parameters or {}, created_by=created_by)
    job.full_clean(exclude=["created_by"])
    job.save()
    return job


def job_report_progress(
    *, job: Job, done: int, total: int | None = None, message: str = ""
) -> None:
    """Record how far a running job has got (done of total, and what it is doing)."""
    if done < 0 or (total is not None and total < 0):
        raise ValidationFailed("任务进度不能为负数", code="JOB_PROGRESS_INVALID")
    now = timezone.now()
    fields: dict[str, Any] = {"progress_done": done, "heartbeat_at": now}
    if total is not None:
        fields["progress_total"] = total
    if message:
        fields["message"] = message[:_MESSAGE_MAX]
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)


def _claim(worker: str, kinds: Collection[str] | None, job_id: int | None) -> Job | None:
    for _ in range(5):  # another worker may take the job between the read and the update
        with transaction.atomic():
            queued = Job.objects.filter(status=JobStatus.QUEUED).order_by("created_at", "id")
            if kinds is not None:
                queued = queued.filter(kind__in=list(kinds))
            if job_id is not None:
                queued = queued.filter(pk=job_id)
            if connection.features.has_select_for_update_skip_locked:
                queued = queued.select_for_update(skip_locked=True)
            job = queued.first()
            if job is None:
                return None
            _check(job, JobStatus.RUNNING)
            now = timezone.now()
            claimed = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
                status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker
            )
            if claimed:
                job.status, job.started_at, job.heartbeat_at, job.worker = (
                    JobStatus.RUNNING,
                    now,
                    now,
                    worker,
                )
                return job
    return None


def _finish(
    job: Job, status: str, *, result: dict[str, Any] | None = None, error: str = ""
) -> None:
    _check(job, status)
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "finished_at": now, "heartbeat_at": now}
    if status == JobStatus.SUCCEEDED:
        fields["result"] = result or {}
        fields["message"] = "已完成"
        if job.progress_total:
            fields["progress_done"] = job.progress_total
    else:
        fields["error"] = error
        fields["message"] = "失败"
        if job.started_at is None:
            fields["started_at"] = now
    Job.objects.filter(pk=job.pk).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)


# What a user reads when the database went away under a job (a restart, a terminated
# connection): the driver's English text says nothing to them; it is in the worker's log.
_DATABASE_LOST = (
    "任务执行中断：数据库连接中断（数据库重启或连接被终止），已做的修改均未保存，请重新提交"
)


def _connection_lost(error: DatabaseError) -> bool:
    """True when `error` says the server ended the connection (a restart, an administrator's
    pg_terminate_backend: SQLSTATE class 57P or 08) or the connection can no longer be used;
    it is then closed so that the next query opens a new one. Inside an outer transaction (a
    test, a caller's atomic block) nothing can be reopened: False."""
    if connection.in_atomic_block:
        return False
    state = str(getattr(error.__cause__, "sqlstate", None) or "")
    lost = (
        isinstance(error, InterfaceError)
        or state.startswith(("57P", "08"))
        # None: the failed transaction's rollback found the connection dead and closed it.
        or connection.connection is None
        or not connection.is_usable()
    )
    if lost:
        connection.close()
    return lost


def _error_text(error: BaseException) -> str:
    if isinstance(error, ShebaoError):
        return error.message
    return f"{type(error).__name__}: {error}"


class JobInterrupted(ShebaoError):
    """Why a job stopped before its end without an error of its own (its worker died, the
    database went away): what the job's owner (an import batch, a comparison run) records."""

    def __init__(self, message: str, *, code: str = "JOB_INTERRUPTED") -> None:
        super().__init__(code=code, message=message, status=409)


# How long a job's end is retried while the database is unreachable (a restart takes a few
# seconds to a minute); after that the worker stops, and the next one fails the job.
_RECORD_RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class JobNotRecorded(RuntimeError):
    """A job's end could not be written for as long as `_RECORD_RETRY_SECONDS` allow: the
    worker stops (it is no database error, so the worker's loop does not carry on), and the
    next worker fails the job as orphaned."""


def _recorded(action: Any, *args: Any, **kwargs: Any) -> None:
    """Run a bookkeeping write (a job's end, its owner's failure), reconnecting and retrying
    while the database is away."""
    for wait in (*_RECORD_RETRY_SECONDS, None):
        try:
            action(*args, **kwargs)
            return
        except (OperationalError, InterfaceError) as error:
            if connection.in_atomic_block:
                raise
            if wait is None:
                raise JobNotRecorded(str(error)) from error
            connection.close()  # the next try opens a new connection
            logger.warning("database unreachable; retrying in %s s", wait, exc_info=True)
            time.sleep(wait)


def _on_failure(kind: JobKind, context: JobContext, error: BaseException) -> None:
    if kind.on_failure is None:
        return
    try:
        kind.on_failure(context, error)
    except (OperationalError, InterfaceError):
        raise  # the database is away: retried by the caller, not lost in the log
    except Exception:
        logger.exception("failure hook of job %s (%s) failed", context.job.pk, kind.name)


def _execute(job: Job) -> None:
    kind = kind_get(job.kind)
    if kind is None:
        _finish(job, JobStatus.FAILED, error=f"未知的任务类型“{job.kind}”")
        return
    context = JobContext(job)
    try:
        if connection.in_atomic_block:
            # Inside an outer transaction (a test, a caller's atomic block) a failing job
            # must roll back to here only, so that its failure can still be recorded.
            with transaction.atomic():
                result = kind.run(context)
        else:
            result = kind.run(context)
    except Exception as error:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        if isinstance(error, DatabaseError) and _connection_lost(error):
            error = JobInterrupted(_DATABASE_LOST, code="JOB_DATABASE_LOST")
        _recorded(_on_failure, kind, context, error)
        _recorded(_finish, job, JobStatus.FAILED, error=_error_text(error))
        return
    except BaseException as error:
        _on_failure(kind, context, error)
        _finish(job, JobStatus.FAILED, error="任务被中断（工作进程停止）")
        raise
    _recorded(_finish, job, JobStatus.SUCCEEDED, result=result or {})


def job_run_next(
    *,
    worker: str = "",
    kinds: Collection[str] | None = None,
    job_id: int | None = None,
) -> Job | None:
    """Claim the oldest queued job (of `kinds`, or the job `job_id`) and run it to the end.
    Returns the job, succeeded or failed, or None when nothing was queued."""
    job = _claim(worker or worker_name(), kinds, job_id)
    if job is None:
        return None
    _execute(job)
    return job


# A worker writes its presence every `WORKER_BEAT_SECONDS`; one silent for longer than this is
# taken for dead (generous: on SQLite a heartbeat waits while a long import holds the lock).
WORKER_BEAT_SECONDS = 5.0
WORKER_ALIVE_SECONDS: float = 90.0

_ORPHANED = "任务执行中断：工作进程已停止"


def _fail_running(jobs: list[Job], error: str) -> int:
    """Fail running jobs whose worker is gone, running each kind's failure hook first so that
    the app's record (import batch, comparison run) fails with its job."""
    failed = 0
    for job in jobs:
        kind = kind_get(job.kind)
        if kind is not None:
            # A ShebaoError: the owner records the Chinese message as it is, not an
            # exception's name.
            _on_failure(kind, JobContext(job), JobInterrupted(error))
        now = timezone.now()
        failed += Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, error=error, message="失败", finished_at=now
        )
    return failed


def job_fail_stale(*, older_than: timedelta) -> int:
    """Mark failed the running jobs that have shown no progress for `older_than` (their
    worker died), and their import batch or comparison run; returns how many."""
    cutoff = timezone.now() - older_than
    stale = list(Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff))
    return _fail_running(stale, "任务执行中断：工作进程停止后未再报告进度")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def job_fail_orphaned() -> int:
    """Fail the running jobs whose worker is known to be dead: a worker of this host whose
    process is gone, or any worker whose presence has been silent for longer than
    WORKER_ALIVE_SECONDS (or that stopped). Returns how many jobs were failed."""
    running = list(Job.objects.filter(status=JobStatus.RUNNING).exclude(worker=""))
    if not running:
        return 0
    presences = {
        p.name: p for p in WorkerPresence.objects.filter(name__in={j.worker for j in running})
    }
    host = socket.gethostname()
    silent_since = timezone.now() - timedelta(seconds=WORKER_ALIVE_SECONDS)
    orphaned: list[Job] = []
    for job in running:
        presence = presences.get(job.worker)
        worker_host, _, pid_text = job.worker.rpartition(":")
        process_gone = worker_host == host and pid_text.isdigit() and not _pid_alive(int(pid_text))
        silent = presence is not None and (
            presence.stopped_at is not None or presence.seen_at < silent_since
        )
        if process_gone or silent:
            orphaned.append(job)
    return _fail_running(orphaned, _ORPHANED)


def worker_presence_start(*, name: str) -> WorkerPresence:
    host, _, pid = name.rpartition(":")
    presence, _ = WorkerPresence.objects.update_or_create(
        name=name,
        defaults={
            "host": host or socket.gethostname(),
            "pid": int(pid) if pid.isdigit() else os.getpid(),
            "started_at": timezone.now(),
            "seen_at": timezone.now(),
            "stopped_at": None,
        },
    )
    return presence


def worker_presence_beat(*, name: str) -> None:
    """The worker is alive; so is the job it runs (its heartbeat moves with the worker's)."""
    now = timezone.now()
    WorkerPresence.objects.filter(name=name).update(seen_at=now, stopped_at=None)
    Job.objects.filter(worker=name, status=JobStatus.RUNNING).update(heartbeat_at=now)


def worker_presence_stop(*, name: str) -> None:
    WorkerPresence.objects.filter(name=name).update(stopped_at=timezone.now())
