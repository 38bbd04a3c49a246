"""XLSX files of the registration pages: the findings list, the survey roster, coverage.

ID numbers are masked in every file; the roster carries full names (a surveyor must find
the people at home) and is for the village's own surveyors — its download is audited."""

from __future__ import annotations

import io
from typing import Any

from django.db.models import QuerySet
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from shebao.comparison.domain import Category
from shebao.geo.models import Region
from shebao.identity._issues import today_in_china
from shebao.identity.masking import mask_id_number, mask_name
from shebao.identity.spreadsheet import xlsx_append
from shebao.registration.choices import FindingStatus
from shebao.registration.models import Finding
from shebao.registration.selectors import CoverageRow, RosterHousehold

__all__ = ["ROSTER_HEADER", "coverage_xlsx", "findings_xlsx", "roster_xlsx"]

ROSTER_HEADER = [
    "户号", "住址", "姓名", "身份证号码", "性别", "出生日期", "与户主关系", "核实事项",
    "走访结果", "就业情况", "未参保原因", "拟参加险种", "联系电话", "备注", "调查员签字",
    "调查日期",
]  # fmt: skip
ROSTER_WIDTHS = (14, 24, 10, 21, 6, 12, 10, 30, 14, 12, 14, 14, 14, 16, 12, 12)
# 走访结果 as the surveyor ticks it on paper.
ROSTER_OUTCOMES = "□已登记 □无人在家 □拒绝 □已迁出 □已死亡"
FINDINGS_HEADER = [
    "编号", "问题类别", "身份证号码", "姓名", "来源文件", "行号", "所属地区", "说明",
    "处理状态", "经办人", "处理说明",
]  # fmt: skip
FINDINGS_WIDTHS = (9, 18, 21, 10, 18, 7, 16, 48, 10, 14, 24)
ADDRESS_HEADER = ["户号", "住址"]
ADDRESS_WIDTHS = (14, 30)
HEADER_ROW = 3  # title, date line, header


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _titled_sheet(
    workbook: Workbook,
    name: str,
    *,
    title: str,
    note: str,
    header: list[str],
    widths: tuple[int, ...],
) -> Any:
    """A sheet laid out for reading and print: a title, the date of export (and what the
    file holds), the header frozen under them, each column's width. All the registration
    exports start here; rows go through `xlsx_append` (text is never a formula)."""
    sheet = workbook.create_sheet(name)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    bold = Font(bold=True)
    title_cell = WriteOnlyCell(sheet, value=title)
    title_cell.font = Font(bold=True, size=14)
    xlsx_append(sheet, [title_cell])
    xlsx_append(sheet, [f"导出日期：{today_in_china():%Y年%m月%d日}　{note}".rstrip()])
    cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    return sheet


def _filter(sheet: Any, columns: int, last_row: int) -> None:
    """An auto-filter over the header and the rows written."""
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(columns)}{max(last_row, HEADER_ROW)}"


def findings_xlsx(
    findings: QuerySet[Finding], *, title: str = "比对问题清单", with_address: bool = False
) -> tuple[bytes, int]:
    """The findings list, masked. `with_address`: the person's household number and address
    besides (for the clerks who visit; the view checks the role and audits the purpose)."""
    workbook = Workbook(write_only=True)
    header = FINDINGS_HEADER + (ADDRESS_HEADER if with_address else [])
    widths = FINDINGS_WIDTHS + (ADDRESS_WIDTHS if with_address else ())
    sheet = _titled_sheet(
        workbook,
        "比对问题",
        title=title,
        note="身份证号码与姓名已脱敏" + ("；含户号和住址，请妥善保管" if with_address else ""),
        header=header,
        widths=widths,
    )
    if with_address:
        findings = findings.select_related("person__household")
    count = 0
    for f in findings.iterator(chunk_size=2000):
        count += 1
        household = f.person.household if with_address and f.person is not None else None
        xlsx_append(
            sheet,
            (
                f.pk,
                Category(f.category).label,
                mask_id_number(f.id_number),
                mask_name(f.name),
                f.source,
                f.row,
                f.region.name if f.region is not None else "",
                str((f.detail or {}).get("reason", "")),
                FindingStatus(f.status).label,
                str(f.assignee) if f.assignee is not None else "",
                f.note,
                *(
                    (household.number if household else "", household.address if household else "")
                    if with_address
                    else ()
                ),
            ),
        )
    _filter(sheet, len(header), HEADER_ROW + count)
    return _save(workbook), count


def roster_xlsx(village: Region, households: list[RosterHousehold]) -> bytes:
    """入户调查花名册 for print: what is known, then blank columns the surveyor writes in."""
    workbook = Workbook(write_only=True)
    sheet = _titled_sheet(
        workbook,
        "入户调查花名册",
        title=f"{village.full_name or village.name} 入户调查花名册",
        note="走访结果、就业情况等由调查员现场填写并签字",
        header=ROSTER_HEADER,
        widths=ROSTER_WIDTHS,
    )
    rows = 0
    for household in households:
        for member in household.members:
            rows += 1
            xlsx_append(
                sheet,
                (
                    household.number,
                    household.address,
                    member.full_name,
                    member.id_number,
                    member.gender,
                    member.birth_date,
                    member.relation,
                    "、".join(member.items),
                    ROSTER_OUTCOMES,
                    *([""] * 7),
                ),
            )
    _filter(sheet, len(ROSTER_HEADER), HEADER_ROW + rows)
    return _save(workbook)


def _rate(value: float | None) -> Any:
    return None if value is None else round(value * 100, 2)


def coverage_xlsx(
    total: CoverageRow, rows: list[CoverageRow], scheme_names: dict[str, str]
) -> bytes:
    workbook = Workbook(write_only=True)
    schemes = sorted({code for r in [total, *rows] for code in r.by_scheme})
    header = (
        ["区划代码", "地区", "人口", "已登记", "应参养老人数", "养老参保人数", "养老覆盖率(%)",
         "医疗参保人数", "医疗覆盖率(%)"] + [f"{c} {scheme_names.get(c, '')}" for c in schemes]
    )  # fmt: skip
    sheet = _titled_sheet(
        workbook,
        "参保覆盖",
        title=f"{total.name} 参保覆盖情况",
        note="覆盖率为百分数",
        header=header,
        widths=(14, 16, 10, 10, 12, 12, 12, 12, 12, *(22 for _ in schemes)),
    )
    for r in [*rows, total]:
        xlsx_append(
            sheet,
            [
                r.code,
                r.name if r is not total else f"{r.name}（合计）",
                r.population,
                r.registered,
                r.pension_eligible,
                r.pension_insured,
                _rate(r.pension_rate),
                r.medical_insured,
                _rate(r.medical_rate),
                *(r.by_scheme.get(c, 0) for c in schemes),
            ],
        )
    _filter(sheet, len(header), HEADER_ROW + len(rows) + 1)
    return _save(workbook)
