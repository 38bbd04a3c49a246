"""Reading a work-plan table as seed 001's attachment is written: merged item cells,
cooperating organisations and group words, deadlines as days or months."""

from datetime import date

from shebao.reports.domain.rows import RawTable
from shebao.reports.domain.work_plan import (
    WORK_PLAN_COLUMNS,
    PlanErrorCode,
    parse_due,
    parse_work_plan,
    split_organisations,
)


def table(*rows: tuple[object, ...]) -> RawTable:
    return RawTable(headers=WORK_PLAN_COLUMNS, rows=tuple((i + 2, r) for i, r in enumerate(rows)))


def test_a_row_with_empty_number_and_item_continues_the_item_above() -> None:
    result = parse_work_plan(
        table(
            (
                "1",
                "宣传发动",
                "制定宣传方案",
                "区人社局",
                "区委宣传部、各镇（街）",
                "2013年7月底前",
                "",
                "",
            ),
            ("", "", "印发宣传资料", "区人社局", "", "2013年8月8日", "", "进行中"),
            ("2", "数据采集", "采集照片", "区社保卡办", "各村(居)委", "", "备注", "已完成"),
        )
    )
    assert not result.errors
    first, second, third = result.rows
    assert (second.number, second.item) == (1, "宣传发动")
    assert first.cooperating == ("区委宣传部",) and first.groups == ("town_office",)
    assert first.due_date == date(2013, 7, 31) and first.due_text == "2013年7月底前"
    assert second.due_date == date(2013, 8, 8) and second.status == "in_progress"
    assert third.groups == ("village_committee",) and third.due_date is None
    assert third.status == "done"


def test_bad_cells_are_reported_with_their_spreadsheet_row_and_column() -> None:
    result = parse_work_plan(
        table(
            ("", "", "没有上一行", "区人社局", "", "", "", ""),
            ("x", "事项", "", "各镇（街）", "", "明年", "", "搁置"),
        )
    )
    found = {(e.row, e.column, e.code) for e in result.errors}
    assert (2, "序号", PlanErrorCode.NUMBER_MISSING) in found
    assert (3, "序号", PlanErrorCode.NUMBER_INVALID) in found
    assert (3, "具体任务", PlanErrorCode.TASK_MISSING) in found
    assert (3, "牵头单位", PlanErrorCode.LEAD_UNKNOWN) in found
    assert (3, "完成时限", PlanErrorCode.DUE_DATE_INVALID) in found
    assert (3, "状态", PlanErrorCode.STATUS_INVALID) in found
    assert not result.rows


def test_a_missing_column_refuses_the_file() -> None:
    result = parse_work_plan(RawTable(headers=WORK_PLAN_COLUMNS[:-2], rows=((2, ()),)))
    assert {e.code for e in result.errors} == {PlanErrorCode.COLUMN_MISSING}


def test_deadlines_and_organisation_lists() -> None:
    assert parse_due("2013-07-08") == (date(2013, 7, 8), "2013-07-08")
    assert parse_due("2014年2月")[0] == date(2014, 2, 28)
    assert parse_due("") == (None, "")
    assert split_organisations("区财政局，区民政局；区财政局、各事业单位") == (
        ("区财政局", "区民政局"),
        ("public_institution",),
    )
