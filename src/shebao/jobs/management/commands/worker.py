"""`shebao worker [--once] [--interval S]`: run queued background jobs.

Without --once the worker polls the queue every S seconds (default 2) until stopped (Ctrl-C
or SIGTERM: the job in hand is finished first). With --once it runs the jobs queued now and
exits. Each round it also enqueues the recurring jobs that are due (`jobs.schedules`: the
live-figure refresh, the monthly bulletins), once per occurrence across workers, and fails
the running jobs whose worker died (with their import batch or comparison run).

A thread writes the worker's presence every few seconds (`WorkerPresence`), so pages can say
when no worker is alive and other workers can tell a dead one's jobs from a busy one's.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import timedelta
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import InterfaceError, OperationalError, connection

from shebao.jobs.choices import JobStatus
from shebao.jobs.kinds import kind_get
from shebao.jobs.schedules import schedules_enqueue_due
from shebao.jobs.services import (
    WORKER_BEAT_SECONDS,
    job_fail_orphaned,
    job_fail_stale,
    job_run_next,
    worker_name,
    worker_presence_beat,
    worker_presence_start,
    worker_presence_stop,
)

logger = logging.getLogger(__name__)


def _label(kind: str) -> str:
    registered = kind_get(kind)
    return registered.label if registered is not None else kind


def _beat_until(name: str, stop: threading.Event) -> None:
    """The presence thread: its own database connection, closed when the worker stops."""
    try:
        while not stop.wait(WORKER_BEAT_SECONDS):
            try:
                worker_presence_beat(name=name)
            except Exception:  # a locked SQLite database: the next beat will do
                logger.warning("worker heartbeat not written", exc_info=True)
                # A connection the server dropped (a restart) stays broken: open a new one.
                connection.close()
    finally:
        connection.close()


class Command(BaseCommand):
    help = "运行后台任务（导入、比对等）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="运行完当前排队的任务后退出")
        parser.add_argument(
            "--interval", type=float, default=2.0, help="队列为空时的轮询间隔（秒）"
        )
        parser.add_argument(
            "--stale-minutes",
            type=float,
            default=60.0,
            help="运行中但超过此时长未报告进度的任务视为中断（分钟）",
        )

        parser.add_argument(
            "--no-schedules",
            action="store_true",
            help="不登记计划任务（定时刷新统计、月度通报），只运行已排队的任务",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = worker_name()
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True
            self.stderr.write("收到停止信号，完成当前任务后退出")

        previous = signal.signal(signal.SIGTERM, stop)
        worker_presence_start(name=name)
        beating = threading.Event()
        beat = threading.Thread(target=_beat_until, args=(name, beating), daemon=True)
        beat.start()
        stale = job_fail_stale(older_than=timedelta(minutes=options["stale_minutes"]))
        if stale:
            self.stderr.write(f"{stale} 个中断的任务已标为失败")
        ran = 0
        try:
            while not stopping:
                try:
                    orphaned = job_fail_orphaned()
                    if orphaned:
                        self.stderr.write(f"{orphaned} 个工作进程已停止的任务已标为失败")
                    if not options["no_schedules"]:
                        schedules_enqueue_due()
                    job = job_run_next(worker=name)
                except (OperationalError, InterfaceError):
                    # The database restarted or dropped this connection between jobs (a
                    # job's own loss is recorded on the job): wait, reconnect, carry on.
                    logger.warning("database unreachable", exc_info=True)
                    self.stderr.write("数据库连接中断，稍后重试")
                    connection.close()
                    time.sleep(max(options["interval"], 1.0))
                    continue
                if job is None:
                    if options["once"]:
                        break
                    time.sleep(max(options["interval"], 0.1))
                    continue
                ran += 1
                if job.status == JobStatus.SUCCEEDED:
                    self.stdout.write(f"任务#{job.pk}（{_label(job.kind)}）已完成")
                else:
                    self.stdout.write(f"任务#{job.pk}（{_label(job.kind)}）失败：{job.error}")
        except KeyboardInterrupt:
            self.stderr.write("已停止")
        finally:
            signal.signal(signal.SIGTERM, previous)
            beating.set()
            beat.join(timeout=WORKER_BEAT_SECONDS * 2)
            worker_presence_stop(name=name)
        if options["once"]:
            self.stdout.write(f"共运行 {ran} 个任务")
