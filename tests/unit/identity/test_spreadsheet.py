"""Exported cells never run as formulas: the one writer for CSV and XLSX (issue #10, item 30)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from shebao.identity.spreadsheet import neutralise, safe_csv_writer, xlsx_append, xlsx_set

pytestmark = pytest.mark.unit

DDE = "=cmd|' /C calc'!A0"
DANGEROUS = [DDE, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x")']


@pytest.mark.parametrize("text", DANGEROUS)
def test_csv_text_that_starts_a_formula_gets_an_apostrophe(text: str) -> None:
    buffer = io.StringIO()
    writer = safe_csv_writer(buffer)
    writer.writerow(["名称", text])
    row = next(csv.reader(io.StringIO(buffer.getvalue())))
    assert row == ["名称", "'" + text]


def test_numbers_dates_and_ordinary_text_pass_unchanged() -> None:
    assert neutralise(-5) == -5
    assert neutralise(1.5) == 1.5
    assert neutralise(None) is None
    assert neutralise("鄂城区-凤凰街道") == "鄂城区-凤凰街道"
    assert neutralise("") == ""


def _sheet_xml(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "".join(
            archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/")
        )


@pytest.mark.parametrize("write_only", [False, True])
def test_xlsx_text_is_never_a_formula(write_only: bool) -> None:
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("表")
    xlsx_append(sheet, ["任务", *DANGEROUS, -7])
    if not write_only:
        xlsx_set(sheet, 2, 1, DDE)
    buffer = io.BytesIO()
    book.save(buffer)
    xml = _sheet_xml(buffer.getvalue())
    assert "<f>" not in xml and "<f " not in xml
    read = load_workbook(io.BytesIO(buffer.getvalue()))["表"]
    cells = list(read[1])
    # The sheet shows exactly what was typed, as text, and a number stays a number.
    assert [c.value for c in cells] == ["任务", *DANGEROUS, -7]
    assert all(c.data_type == "s" for c in cells[1:-1])
    assert cells[-1].data_type == "n"
    if not write_only:
        assert read.cell(2, 1).value == DDE and read.cell(2, 1).data_type == "s"
