"""Reading the small tabular files that levels report upward: CSV or a spreadsheet.

CSV comes as UTF-8 (with or without BOM), GB18030 (what Excel on a Chinese Windows saves)
or UTF-16 ("Unicode text"); spreadsheets (XLSX, XLS) are read with calamine, first sheet.
Rows keep the numbers a spreadsheet shows (the header is row 1); blank rows are dropped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from python_calamine import CalamineWorkbook

from shebao.reports.domain.rows import RawTable

__all__ = ["TableUnreadable", "read_table"]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class TableUnreadable(Exception):
    """The file is neither a readable CSV nor a spreadsheet; the message is for people."""


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _blank(cells: tuple[object, ...]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _table(records: Sequence[tuple[object, ...]]) -> RawTable:
    numbered = [(i, cells) for i, cells in enumerate(records, start=1) if not _blank(cells)]
    if not numbered:
        return RawTable(headers=(), rows=())
    (_, header), *body = numbered
    return RawTable(headers=tuple("" if h is None else str(h) for h in header), rows=tuple(body))


def _read_csv(data: bytes) -> RawTable:
    try:
        text = _decode(data)
    except UnicodeDecodeError as exc:
        raise TableUnreadable("无法识别文件编码（应为 UTF-8 或 GB18030）") from exc
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        records = [
            tuple(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as exc:
        raise TableUnreadable(f"CSV 格式错误：{exc}") from exc
    return _table(list(records))


def _read_spreadsheet(path: Path) -> RawTable:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        records = [tuple(row) for row in sheet.to_python(skip_empty_area=False)]
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise TableUnreadable(f"无法读取电子表格：{exc}") from exc
    # calamine gives "" for empty cells; treat them like CSV's empty strings.
    return _table(records)


def read_table(path: Path) -> RawTable:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TableUnreadable(f"无法打开文件：{exc.strerror or exc}") from exc
    if data.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or path.suffix.lower() in {".xlsx", ".xls"}:
        return _read_spreadsheet(path)
    return _read_csv(data)
