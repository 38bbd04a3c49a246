"""Spreadsheets of the dashboard and the work plan (the bulletin's are in `documents`).

The dashboard workbook holds the same figures the charts draw, as exact counts; percentages
are the rounded numbers the page shows (87.3 shown as "87.3%"), so the file and the page
agree. The work-plan workbook is the import contract (`domain.work_plan.WORK_PLAN_COLUMNS`):
an export can be edited and imported again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from shebao.identity.spreadsheet import xlsx_append
from shebao.reports.domain.dashboard import METRIC_UNITS, Dashboard, RegionProgress
from shebao.reports.domain.work_plan import GROUP_LABELS, WORK_PLAN_COLUMNS, due_text_of
from shebao.reports.models import WorkPlanItem

__all__ = ["dashboard_xlsx", "work_plan_xlsx"]

Cell = str | int | float | None
_BOLD = Font(bold=True)
_OVERDUE = PatternFill("solid", fgColor="FDE2DE")


def _pct(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _sheet(
    workbook: Workbook,
    title: str,
    heading: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    percent_columns: Sequence[int] = (),
) -> Worksheet:
    sheet = workbook.create_sheet(title)
    xlsx_append(sheet, [heading])
    sheet.cell(1, 1).font = Font(bold=True, size=13)
    xlsx_append(sheet, headers)
    for cell in sheet[2]:
        cell.font = _BOLD
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for row in rows:
        xlsx_append(sheet, row)
    for row_cells in sheet.iter_rows(min_row=3):
        for cell in row_cells:
            if cell.column - 1 in percent_columns:
                cell.number_format = '0.0"%"'
            elif isinstance(cell.value, int):
                cell.number_format = "#,##0"
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, 2 * len(header) + 2)
    sheet.freeze_panes = "A3"
    return sheet


def _region_rows(regions: Sequence[RegionProgress], ranked: bool) -> list[list[Cell]]:
    out: list[list[Cell]] = []
    for index, r in enumerate(regions, start=1):
        row: list[Cell] = [r.code, r.name, r.value, r.increase, r.annual_target]
        row += [_pct(r.annual_percent), r.month_target, _pct(r.month_percent), r.source]
        out.append([index, *row] if ranked else row)
    return out


def dashboard_xlsx(dashboard: Dashboard, out: Path) -> None:
    workbook = Workbook()
    default = workbook.active
    if default is not None:
        workbook.remove(default)
    when = f"{dashboard.year}年{dashboard.month}月"
    unit = dashboard.unit
    label = dashboard.metric.label
    region = dashboard.region_name

    _sheet(
        workbook,
        "指标汇总",
        f"{region}{when}各项指标完成情况",
        [
            "指标",
            "单位",
            "累计值",
            "较上月新增",
            "全年目标",
            "完成全年目标",
            "月目标",
            "完成月目标",
            "来源",
        ],
        [
            [
                m.metric.label,
                METRIC_UNITS[m.metric],
                m.value,
                m.increase,
                m.annual_target,
                _pct(m.annual_percent),
                m.month_target,
                _pct(m.month_percent),
                m.source,
            ]
            for m in dashboard.metrics
        ],
        percent_columns=(5, 7),
    )
    region_headers = [
        "区划代码",
        "区划名称",
        f"累计{label}（{unit}）",
        f"较上月新增（{unit}）",
        f"全年目标（{unit}）",
        "完成全年目标",
        f"月目标（{unit}）",
        "完成月目标",
        "来源",
    ]
    _sheet(
        workbook,
        "下级区划进度",
        f"{region}{when}各下级区划{label}进度",
        region_headers,
        _region_rows(dashboard.subordinates, ranked=False),
        percent_columns=(5, 7),
    )
    _sheet(
        workbook,
        "排名",
        f"{region}{when}各下级区划{label}完成全年目标排名",
        ["名次", *region_headers],
        _region_rows(dashboard.ranking, ranked=True),
        percent_columns=(6, 8),
    )
    _sheet(
        workbook,
        "逐月趋势",
        f"{region}{dashboard.year}年逐月{label}",
        ["月份", f"累计{label}（{unit}）", f"当月新增（{unit}）", f"月目标（{unit}）"],
        [
            [f"{dashboard.year}-{p.month:02d}", p.value, p.increase, p.month_target]
            for p in dashboard.trend
        ],
    )
    _sheet(
        workbook,
        "合作银行",
        f"{region}{when}各合作银行开户情况",
        [
            "合作银行",
            "累计接收开户数据（人）",
            "累计完成开户（人）",
            "未完成开户（人）",
            "完成率",
            "来源",
        ],
        [
            [b.name, b.received, b.opened, b.not_opened, _pct(b.rate), b.source]
            for b in dashboard.banks
        ],
        percent_columns=(4,),
    )
    workbook.save(out)


def _cooperating_text(item: WorkPlanItem) -> str:
    names = [o.name for o in item.cooperating.all()]
    names += [GROUP_LABELS.get(g.kind, g.get_kind_display()) for g in item.groups.all()]
    return "、".join(names)


def work_plan_xlsx(
    *, title: str, items: Sequence[WorkPlanItem], out: Path, today: date | None = None
) -> None:
    """The plan in the import layout: the header in row 1, one task a row, overdue tasks
    shaded (the file says so in words too: 备注 is left as entered)."""
    workbook = Workbook()
    sheet = workbook.active or workbook.create_sheet()
    # Sheet names are limited to 31 characters and a few symbols.
    sheet.title = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "工作计划表"
    xlsx_append(sheet, WORK_PLAN_COLUMNS)
    for cell in sheet[1]:
        cell.font = _BOLD
        cell.alignment = Alignment(horizontal="center")
    day = today or timezone.localdate()
    for item in items:
        xlsx_append(
            sheet,
            [
                item.number,
                item.item,
                item.task,
                item.lead.name,
                _cooperating_text(item),
                due_text_of(item.due_date, item.due_text),
                item.note,
                item.get_status_display(),
            ],
        )
        overdue = item.overdue_on(day)
        for cell in sheet[sheet.max_row]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if overdue:
                cell.fill = _OVERDUE
    for letter, width in zip("ABCDEFGH", (6, 14, 60, 22, 36, 16, 16, 8), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    workbook.save(out)
