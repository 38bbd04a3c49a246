"""`shebao compare [--engine duckdb|spark] [--as-of YYYY-MM-DD] [--threshold P] [--background]`:
compare the latest import batch of each kind, recorded as a comparison run.

The run is a background job; without --background it is run at once (through the same job
machinery) with its progress on the terminal, else `shebao worker` runs it.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.comparison.domain import DEFAULT_THRESHOLD, Category
from shebao.comparison.pipeline import ENGINE_NAMES
from shebao.errors import ShebaoError
from shebao.identity._issues import today_in_china
from shebao.jobs.services import job_run_next
from shebao.registration.choices import RunStatus
from shebao.registration.models import ComparisonRun
from shebao.registration.runs import comparison_run_submit


class Command(BaseCommand):
    help = "比对最新导入的各类部门数据，结果作为比对批次入库"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--engine", default="duckdb", choices=ENGINE_NAMES, help="比对引擎")
        parser.add_argument("--as-of", dest="as_of", default=None, help="比对基准日期，默认今天")
        parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
        parser.add_argument(
            "--background", action="store_true", help="只排队，由 shebao worker 执行"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            as_of = date.fromisoformat(options["as_of"]) if options["as_of"] else today_in_china()
        except ValueError:
            raise CommandError(f"比对基准日期“{options['as_of']}”无效，应为 YYYY-MM-DD") from None
        try:
            run = comparison_run_submit(
                actor=None, engine=options["engine"], as_of=as_of, threshold=options["threshold"]
            )
        except ShebaoError as error:
            raise CommandError(error.message) from error
        inputs = "、".join(f"#{b.pk} {b.file_name}" for b in run.inputs.order_by("kind", "id"))
        self.stdout.write(f"比对#{run.pk}：输入批次 {inputs}")
        if options["background"] or run.job_id is None:
            self.stdout.write("已排队，由 shebao worker 执行")
            return
        job = job_run_next(job_id=run.job_id)
        run = ComparisonRun.objects.get(pk=run.pk)
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"比对失败：{run.error or (job.error if job else '')}")
        lines = [
            f"比对完成（{run.engine}，基准日期 {run.as_of}），用时 {run.duration_seconds:.1f} 秒"
        ]
        for category, count in run.counts.items():
            lines.append(f"  {Category(category).label}（{category}）：{count:,}")
        lines.append(f"  入库问题：{run.findings_loaded:,}")
        self.stdout.write("\n".join(lines))
        sys.stdout.flush()
