"""XLSX files of the registration pages: the findings list, the survey roster, coverage.

ID numbers are masked in every file; the roster carries full names (a surveyor must find
the people at home) and is for the village's own surveyors — its download is audited."""

from __future__ import annotations

import io
from typing import Any

from django.db.models import QuerySet
from openpyxl import Workbook
from openpyxl.styles import Font

from shebao.comparison.domain import Category
from shebao.geo.models import Region
from shebao.identity.masking import mask_id_number, mask_name
from shebao.identity.spreadsheet import xlsx_append
from shebao.registration.choices import FindingStatus
from shebao.registration.models import Finding
from shebao.registration.selectors import CoverageRow, RosterHousehold

__all__ = ["ROSTER_HEADER", "coverage_xlsx", "findings_xlsx", "roster_xlsx"]

ROSTER_HEADER = [
    "户号", "住址", "姓名", "身份证号码", "性别", "出生日期", "与户主关系", "核实事项",
    "就业情况", "未参保原因", "拟参加险种", "联系电话", "调查员签字",
]  # fmt: skip


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def findings_xlsx(findings: QuerySet[Finding]) -> tuple[bytes, int]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("比对问题")
    sheet.append(["编号", "问题类别", "身份证号码", "姓名", "来源文件", "行号", "所属地区", "说明",
                  "处理状态", "经办人", "处理说明"])  # fmt: skip
    count = 0
    for f in findings.iterator(chunk_size=2000):
        count += 1
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
            ),
        )
    return _save(workbook), count


def roster_xlsx(village: Region, households: list[RosterHousehold]) -> bytes:
    workbook = Workbook()
    sheet = workbook.create_sheet("入户调查花名册")
    workbook.remove(workbook.worksheets[0])
    xlsx_append(sheet, [f"{village.full_name or village.name} 入户调查花名册"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(ROSTER_HEADER)
    for household in households:
        for member in household.members:
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
                    "",
                    "",
                    "",
                    "",
                    "",
                ),
            )
    for column, width in zip(
        "ABCDEFGHIJKLM", (18, 24, 10, 22, 6, 12, 10, 40, 12, 12, 12, 14, 12), strict=True
    ):
        sheet.column_dimensions[column].width = width
    return _save(workbook)


def _rate(value: float | None) -> Any:
    return None if value is None else round(value * 100, 2)


def coverage_xlsx(
    total: CoverageRow, rows: list[CoverageRow], scheme_names: dict[str, str]
) -> bytes:
    workbook = Workbook()
    sheet = workbook.create_sheet("参保覆盖")
    workbook.remove(workbook.worksheets[0])
    schemes = sorted({code for r in [total, *rows] for code in r.by_scheme})
    sheet.append(
        ["区划代码", "地区", "人口", "已登记", "应参养老人数", "养老参保人数", "养老覆盖率(%)",
         "医疗参保人数", "医疗覆盖率(%)"] + [f"{c} {scheme_names.get(c, '')}" for c in schemes]
    )  # fmt: skip
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
    return _save(workbook)
