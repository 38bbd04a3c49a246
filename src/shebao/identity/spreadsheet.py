"""The one place that makes exported cells safe to open in a spreadsheet (CSV and XLSX).

Text from people (an organisation's name, a work-plan item, a reason) may start with `=`,
`+`, `-`, `@`, a tab or a carriage return; Excel and WPS read such a cell as a formula, and
`=cmd|' /C calc'!A0` is a DDE payload that starts a program on the reader's computer. Every
export writes its cells through here:

- CSV: such text gets a leading apostrophe (`'=cmd…`), which spreadsheets show as text;
- XLSX (openpyxl): such text is written as a string cell with the quote prefix, never as a
  formula. The sheet shows exactly what was typed.

Numbers, dates and empty cells pass unchanged, so a negative number stays a number. Pure
Python (no Django), so the domain modules, the apps and the pages all use the same rule.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
    from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "FORMULA_PATTERN",
    "SafeCsvWriter",
    "is_formula_like",
    "neutralise",
    "safe_csv_writer",
    "xlsx_append",
    "xlsx_set",
]

FORMULA_START: Final[tuple[str, ...]] = ("=", "+", "-", "@", "\t", "\r")
# The same rule as a regular expression, for vectorised writers (Polars, DuckDB).
FORMULA_PATTERN: Final[str] = r"^[=+\-@\t\r]"


def is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def neutralise(value: Any) -> Any:
    """The value for a CSV cell: text that a spreadsheet would run gets a leading apostrophe."""
    return "'" + value if is_formula_like(value) else value


class _Writable(Protocol):
    def write(self, s: str, /) -> Any: ...


class SafeCsvWriter:
    """`csv.writer` whose rows pass through `neutralise`; `writerow` returns what the
    underlying writer returns (the line, for a streaming echo buffer)."""

    def __init__(self, handle: _Writable, **kwargs: Any) -> None:
        self._writer = csv.writer(handle, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_csv_writer(handle: _Writable, **kwargs: Any) -> SafeCsvWriter:
    return SafeCsvWriter(handle, **kwargs)


def xlsx_set(sheet: Worksheet, row: int, column: int, value: Any) -> Any:
    """Set one openpyxl cell; text is always text, never a formula. Returns the cell."""
    cell = sheet.cell(row=row, column=column, value=value)
    if is_formula_like(value):
        _as_text(cell)
    return cell


def xlsx_append(sheet: Worksheet | WriteOnlyWorksheet, values: Iterable[Any]) -> None:
    """`sheet.append(values)` (normal or write-only sheet), every text cell kept as text."""
    sheet.append([_text_cell(sheet, v) if is_formula_like(v) else v for v in values])


def _text_cell(sheet: Any, value: str) -> Any:
    from openpyxl.cell.cell import Cell

    # A position is needed only for openpyxl's own messages; append() sets the real one.
    cell = Cell(sheet, row=1, column=1)
    cell.value = value
    _as_text(cell)
    return cell


def _as_text(cell: Any) -> None:
    # openpyxl turns any text starting with "=" into a formula cell; the other starts are
    # written as text already, but get the quote prefix too, so editing the cell in Excel
    # does not turn it into one.
    cell.data_type = "s"
    cell.quotePrefix = True
