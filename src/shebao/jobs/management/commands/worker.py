"""`shebao worker [--once] [--interval S]`: run queued background jobs.

Without --once the worker polls the queue every S seconds (default 2) until stopped (Ctrl-C
or SIGTERM: the job in hand is finished first). With --once it runs the jobs queued now and
exits. Each round it also enqueues the recurring jobs that are due (`jobs.schedules`: the
live-figure refresh, the monthly bulletins), once per occurrence across workers. At start it
marks failed the running jobs whose worker died (no progress for --stale-minutes).
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shebao.jobs.choices import JobStatus
from shebao.jobs.schedules import schedules_enqueue_due
from shebao.jobs.services import job_fail_stale, job_run_next, worker_name


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
        stale = job_fail_stale(older_than=timedelta(minutes=options["stale_minutes"]))
        if stale:
            self.stderr.write(f"{stale} 个中断的任务已标为失败")
        ran = 0
        try:
            while not stopping:
                if not options["no_schedules"]:
                    schedules_enqueue_due()
                job = job_run_next(worker=name)
                if job is None:
                    if options["once"]:
                        break
                    time.sleep(max(options["interval"], 0.1))
                    continue
                ran += 1
                if job.status == JobStatus.SUCCEEDED:
                    self.stdout.write(f"任务#{job.pk}（{job.kind}）已完成")
                else:
                    self.stdout.write(f"任务#{job.pk}（{job.kind}）失败：{job.error}")
        except KeyboardInterrupt:
            self.stderr.write("已停止")
        finally:
            signal.signal(signal.SIGTERM, previous)
        if options["once"]:
            self.stdout.write(f"共运行 {ran} 个任务")
