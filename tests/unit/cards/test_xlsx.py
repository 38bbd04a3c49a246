"""The vectorised XLSX writer, read back by openpyxl and python-calamine."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from shebao.cards.domain.xlsx import Sheet, write_xlsx

pytestmark = pytest.mark.unit


def test_sheets_round_trip(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "行号": [1, 2, None],
            "身份证号(18位)": ["44011319900101001X", "000123", ""],
            "说明": ["a < b & c > d", "换行\n和\t制表", "控制\x01字符"],
        }
    )
    path = tmp_path / "out.xlsx"
    write_xlsx(path, [Sheet("检查结果", frame, (8, 20)), Sheet("空", frame.head(0))])

    book = load_workbook(path)
    assert book.sheetnames == ["检查结果", "空"]
    sheet = book["检查结果"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows == [
        ("行号", "身份证号(18位)", "说明"),
        (1, "44011319900101001X", "a < b & c > d"),
        (2, "000123", "换行\n和\t制表"),  # text stays text: leading zeros kept
        (None, None, "控制字符"),  # characters XML cannot carry are dropped
    ]
    assert sheet["A1"].font.b
    assert sheet.freeze_panes == "B2"
    assert sheet.column_dimensions["B"].width == 20
    assert list(book["空"].iter_rows(values_only=True)) == [("行号", "身份证号(18位)", "说明")]

    calamine = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("检查结果").to_python()
    assert calamine[1][1] == "44011319900101001X"


def test_many_rows_and_columns_past_z(tmp_path: Path) -> None:
    frame = pl.DataFrame({f"c{i}": [f"{i}-{r}" for r in range(45_000)] for i in range(28)})
    path = tmp_path / "big.xlsx"
    write_xlsx(path, [Sheet("s", frame)])
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert len(rows) == 45_001
    assert rows[-1][27] == "27-44999"  # column AB, last row


def test_at_least_one_sheet(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="至少"):
        write_xlsx(tmp_path / "x.xlsx", [])
