"""`shebao figures import FILE`: cumulative figures at a month's end.

Columns: 统计月份, 区划代码, 合作银行, 指标, 累计值.
"""

from __future__ import annotations

from collections.abc import Callable

from shebao.reports.domain.rows import FIGURE_COLUMNS
from shebao.reports.management.commands._importing import ImportCommand
from shebao.reports.services import ImportOutcome, figures_import


class Command(ImportCommand):
    help = "导入下级上报的月末累计数，有错误行时整个文件不导入，可重复导入"
    what = "上报数据"
    columns = FIGURE_COLUMNS

    def importer(self) -> Callable[..., ImportOutcome]:
        return figures_import
