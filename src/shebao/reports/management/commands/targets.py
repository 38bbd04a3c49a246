"""`shebao targets import FILE`: annual and monthly targets.

Columns: 年度, 月份, 区划代码, 合作银行, 指标, 目标值.
"""

from __future__ import annotations

from collections.abc import Callable

from shebao.reports.domain.rows import TARGET_COLUMNS
from shebao.reports.management.commands._importing import ImportCommand
from shebao.reports.services import ImportOutcome, targets_import


class Command(ImportCommand):
    help = "导入任务目标（年度、月度），有错误行时整个文件不导入，可重复导入"
    what = "任务目标"
    columns = TARGET_COLUMNS

    def importer(self) -> Callable[..., ImportOutcome]:
        return targets_import
