"""Reading CSV in the encodings Chinese offices send, and spreadsheets."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from shebao.reports.tabular import TableUnreadable, read_table

pytestmark = pytest.mark.unit

CSV = (
    "统计月份,区划代码,合作银行,指标,累计值\r\n"
    "2014-07,430100,农业银行,完成开户,5\r\n"
    ",,,,\r\n"
    "2014-07,430200,,制卡,6\r\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "figures.csv"
    path.write_bytes(CSV.encode(encoding))
    table = read_table(path)
    assert table.headers == ("统计月份", "区划代码", "合作银行", "指标", "累计值")
    # The blank row is dropped; the next keeps the number a spreadsheet shows (4).
    assert table.rows == (
        (2, ("2014-07", "430100", "农业银行", "完成开户", "5")),
        (4, ("2014-07", "430200", "", "制卡", "6")),
    )


def test_unicode_text_export_is_utf16_with_tabs(tmp_path: Path) -> None:
    path = tmp_path / "figures.txt"
    path.write_bytes(CSV.replace(",", "\t").encode("utf-16"))
    assert read_table(path).rows[0] == (2, ("2014-07", "430100", "农业银行", "完成开户", "5"))


def test_xlsx_first_sheet(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["年度", "月份", "区划代码", "合作银行", "指标", "目标值"])
    sheet.append([2014, None, 430100, None, "上报开户数据", 3204000])
    sheet.append([])
    sheet.append([2014, 7, "430100", "", "上报开户数据", 2940000])
    path = tmp_path / "targets.xlsx"
    workbook.save(path)
    table = read_table(path)
    assert table.headers == ("年度", "月份", "区划代码", "合作银行", "指标", "目标值")
    assert [number for number, _ in table.rows] == [2, 4]
    assert table.rows[0][1][0] in (2014, 2014.0)


def test_damaged_spreadsheet_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(TableUnreadable, match="电子表格"):
        read_table(broken)
    with pytest.raises(TableUnreadable, match="无法打开文件"):
        read_table(tmp_path / "missing.csv")
