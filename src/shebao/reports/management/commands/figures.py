"""`shebao figures import FILE`: cumulative figures at a month's end.

Columns: 统计月份, 区划代码, 合作银行, 指标, 累计值.

`shebao figures refresh [--full]`: bring the live figures (counted from the system's own
records: cards made, issued, activated …) up to date, re-counting only the days since the
last refresh; the scheduled task runs the same.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from shebao.reports.domain.rows import FIGURE_COLUMNS
from shebao.reports.management.commands._importing import ImportCommand
from shebao.reports.services import ImportOutcome, figures_import, live_figures_refresh


class Command(ImportCommand):
    help = "导入下级上报的月末累计数（import FILE），或刷新系统实时统计（refresh）"
    what = "上报数据"
    columns = FIGURE_COLUMNS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action", choices=["import", "refresh"], help="import：导入文件；refresh：刷新实时统计"
        )
        parser.add_argument(
            "file",
            type=Path,
            nargs="?",
            help=f"CSV（UTF-8/GB18030）或 XLSX 文件，表头：{'、'.join(self.columns)}",
        )
        parser.add_argument(
            "--full", action="store_true", help="refresh 时从头重算全部日统计（默认只重算上次以来）"
        )

    def importer(self) -> Callable[..., ImportOutcome]:
        return figures_import

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "refresh":
            outcome = live_figures_refresh(full=options["full"])
            self.stdout.write(
                f"实时统计已刷新：自 {outcome.refresh.since} 起重算日统计 {outcome.counts} 行，"
                f"写入月度统计 {outcome.figures} 行"
            )
            return
        if options["file"] is None:
            raise CommandError("请指定要导入的文件：shebao figures import FILE")
        super().handle(*args, **options)
