"""Checking the rows of target and figure files: what is accepted, what is rejected and why."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from shebao.reports.domain.metrics import Metric
from shebao.reports.domain.rows import (
    FIGURE_COLUMNS,
    TARGET_COLUMNS,
    ImportErrorCode,
    RawTable,
    column_values,
    parse_figures,
    parse_targets,
)

pytestmark = pytest.mark.unit

KNOWN = {"430000", "430100", "430200"}


def table(headers: tuple[str, ...], *rows: tuple[object, ...]) -> RawTable:
    return RawTable(headers=headers, rows=tuple((i, r) for i, r in enumerate(rows, start=2)))


def codes(result: object) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.code) for e in result.errors]  # type: ignore[attr-defined]


def test_targets_annual_monthly_and_bank() -> None:
    result = parse_targets(
        table(
            TARGET_COLUMNS,
            ("2014", "", "430100", "", "上报开户数据", "3204000"),
            ("2014", "7", "430100", "", "上报开户数据", "2940000"),
            ("2014", "12", "430000", "农业银行", "完成开户", "0"),
        ),
        KNOWN,
    )
    assert result.ok
    assert [
        (r.row, r.year, r.month, r.region_code, r.bank, r.metric, r.value) for r in result.rows
    ] == [
        (2, 2014, None, "430100", "", Metric.SUBMITTED, 3_204_000),
        (3, 2014, 7, "430100", "", Metric.SUBMITTED, 2_940_000),
        (4, 2014, 12, "430000", "农业银行", Metric.OPENED, 0),
    ]


def test_figures_accept_the_month_forms_spreadsheets_produce() -> None:
    result = parse_figures(
        table(
            FIGURE_COLUMNS,
            ("2014-07", "430100", "", "制卡", "1"),
            ("2014/6", "430100", "", "制卡", "1"),
            (datetime(2014, 5, 1), 430100.0, None, "制卡", 1.0),  # noqa: DTZ001 - a cell value
            (date(2014, 4, 30), "430100", "", "制卡", "1,234"),
            ("2014年3月", "430100", "", "制卡", "１２"),  # full-width digits
        ),
        KNOWN,
    )
    assert result.ok, result.errors
    assert [(r.year, r.month, r.value) for r in result.rows] == [
        (2014, 7, 1),
        (2014, 6, 1),
        (2014, 5, 1),
        (2014, 4, 1234),
        (2014, 3, 12),
    ]


def test_every_bad_cell_is_named_with_row_column_and_code() -> None:
    result = parse_targets(
        table(
            TARGET_COLUMNS,
            ("14", "13", "439999", "", "开卡", "-5"),
            ("2014", "", "43010", "", "制卡", "1.5"),
            ("2014", "", "430100", "", "制卡", ""),
            ("2014", "", "430100", "", "制卡", "abc"),
        ),
        KNOWN,
    )
    assert codes(result) == [
        (2, "年度", ImportErrorCode.YEAR_INVALID),
        (2, "月份", ImportErrorCode.MONTH_INVALID),
        (2, "区划代码", ImportErrorCode.REGION_UNKNOWN),
        (2, "指标", ImportErrorCode.METRIC_UNKNOWN),
        (2, "目标值", ImportErrorCode.VALUE_NEGATIVE),
        (3, "区划代码", ImportErrorCode.REGION_CODE_INVALID),
        (3, "目标值", ImportErrorCode.VALUE_NOT_INTEGER),
        (4, "目标值", ImportErrorCode.VALUE_MISSING),
        (5, "目标值", ImportErrorCode.VALUE_NOT_INTEGER),
    ]
    assert result.rows == []
    first = result.errors[2]
    assert first.text() == "第2行【区划代码】区划代码“439999”不存在（REGION_UNKNOWN）"
    assert "开卡" in result.errors[3].message and "上报开户数据" in result.errors[3].message


def test_a_bad_month_in_a_figures_file() -> None:
    result = parse_figures(
        table(
            FIGURE_COLUMNS,
            ("2014-13", "430100", "", "制卡", "1"),
            ("七月", "430100", "", "制卡", "1"),
        ),
        KNOWN,
    )
    assert codes(result) == [
        (2, "统计月份", ImportErrorCode.MONTH_INVALID),
        (3, "统计月份", ImportErrorCode.MONTH_INVALID),
    ]
    assert "2014-07" in result.errors[0].message


def test_duplicate_keys_within_a_file_point_at_the_first_row() -> None:
    result = parse_figures(
        table(
            FIGURE_COLUMNS,
            ("2014-07", "430100", "", "制卡", "1"),
            ("2014-07", "430100", "农业银行", "制卡", "1"),
            ("2014-7", "430100", "", "制卡", "2"),
        ),
        KNOWN,
    )
    assert codes(result) == [(4, "统计月份/区划代码/合作银行/指标", ImportErrorCode.DUPLICATE_KEY)]
    assert "与第2行重复" in result.errors[0].message
    annual = parse_targets(
        table(
            TARGET_COLUMNS,
            ("2014", "", "430100", "", "制卡", "1"),
            ("2014", None, "430100", "", "制卡", "2"),
        ),
        KNOWN,
    )
    assert codes(annual) == [(3, "年度/月份/区划代码/合作银行/指标", ImportErrorCode.DUPLICATE_KEY)]


def test_headers_missing_or_repeated() -> None:
    result = parse_figures(table(("统计月份", "区划代码", "指标", "累计值", "指标")), KNOWN)
    assert codes(result) == [
        (1, "指标", ImportErrorCode.COLUMN_DUPLICATE),
        (1, "合作银行", ImportErrorCode.COLUMN_MISSING),
    ]


def test_headers_may_carry_the_contracts_note_and_extra_columns() -> None:
    headers = ("序号", "统计月份 (YYYY-MM)", "区划代码", "合作银行", "指标", "累计值（人）")
    result = parse_figures(table(headers, ("1", "2014-07", "430100", "", "制卡", "5")), KNOWN)
    assert result.ok
    assert result.rows[0].value == 5


def test_an_empty_file_is_an_error() -> None:
    result = parse_targets(table(TARGET_COLUMNS), KNOWN)
    assert codes(result) == [(0, "", ImportErrorCode.FILE_EMPTY)]


def test_column_values_feed_the_region_lookup() -> None:
    t = table(
        FIGURE_COLUMNS,
        ("2014-07", 430100.0, "", "制卡", "1"),
        ("2014-07", " 430200 ", "", "制卡", "1"),
    )
    assert column_values(t, "区划代码") == {"430100", "430200"}


def test_a_month_target_above_the_years_is_refused_in_a_file_too() -> None:
    result = parse_targets(
        table(
            TARGET_COLUMNS,
            ("2014", "", "430100", "", "上报开户数据", "1000"),
            ("2014", "6", "430100", "", "上报开户数据", "1200"),
            ("2014", "7", "430200", "", "上报开户数据", "1200"),  # no annual target: accepted
        ),
        KNOWN,
    )
    assert codes(result) == [(3, "目标值", ImportErrorCode.MONTH_TARGET_ABOVE_ANNUAL)]
    assert result.errors[0].message.startswith("6月目标1200大于2014年全年目标1000")
