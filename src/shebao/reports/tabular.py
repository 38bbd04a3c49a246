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

from shebao.identity.filesafety import (
    Limits,
    UnsafeFile,
    check_cell_text,
    check_columns,
    check_size,
    check_spreadsheet,
    column_letter,
    is_panic,
)
from shebao.reports.domain.rows import RawTable

__all__ = ["TableUnreadable", "read_table"]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


# Targets, figures and work plans are a few thousand rows: anything far beyond is refused
# before it is parsed (the upload page already stops at 5 MB).
_LIMITS = Limits(
    max_bytes=64 << 20,
    max_uncompressed=256 << 20,
    max_ratio=200,
    ratio_floor=4 << 20,
    max_members=1_000,
    max_columns=256,
    max_cells=5_000_000,
)


class TableUnreadable(Exception):
    """The file is neither a readable CSV nor a spreadsheet; the message is for people and
    names the file, `code` is for machines."""

    def __init__(self, message: str, code: str = "FILE_UNREADABLE") -> None:
        super().__init__(message)
        self.code = code


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


def _check_cells(table: RawTable, source: str) -> None:
    check_columns(len(table.headers), source, _LIMITS)
    for number, cells in ((0, table.headers), *table.rows):
        check_columns(len(cells), source, _LIMITS)
        for position, cell in enumerate(cells, start=1):
            if isinstance(cell, str) and len(cell) > _LIMITS.max_cell_chars:
                row = f"第{number}行" if number else "表头"
                where = f"{row}第{position}列（{column_letter(position)}列）"
                check_cell_text(len(cell), source, where, number, _LIMITS)


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
        raise TableUnreadable("无法识别文件编码（应为 UTF-8 或 GB18030）", "BAD_ENCODING") from exc
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        records = [
            tuple(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as exc:
        raise TableUnreadable("不是有效的 CSV 文件：引号或分隔符有误") from exc
    return _table(list(records))


def _read_spreadsheet(path: Path) -> RawTable:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        records = [tuple(row) for row in sheet.to_python(skip_empty_area=False)]
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        # Its English words ("XmlError at 0..0") tell a clerk nothing.
        raise TableUnreadable("无法作为电子表格读取：文件已损坏或并非 Excel 格式") from exc
    except BaseException as exc:  # a Rust panic inside calamine (pyo3 PanicException)
        if not is_panic(exc):
            raise
        raise TableUnreadable("无法作为电子表格读取：文件已损坏或并非 Excel 格式") from exc
    # calamine gives "" for empty cells; treat them like CSV's empty strings.
    return _table(records)


def read_table(path: Path) -> RawTable:
    """The rows of `path`, whose name is the one its owner gave (messages name it)."""
    source = path.name
    try:
        check_size(path, source, _LIMITS)
        data = path.read_bytes()
    except UnsafeFile as exc:
        raise TableUnreadable(exc.message, exc.code) from exc
    except OSError as exc:
        raise TableUnreadable(f"无法打开文件“{source}”：{exc.strerror or exc}") from exc
    try:
        if data.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or path.suffix.lower() in {".xlsx", ".xls"}:
            check_spreadsheet(path, source, _LIMITS)
            table = _read_spreadsheet(path)
        else:
            table = _read_csv(data)
        _check_cells(table, source)
    except UnsafeFile as exc:
        raise TableUnreadable(exc.message, exc.code) from exc
    except TableUnreadable as exc:
        raise TableUnreadable(f"文件“{source}”{exc}", exc.code) from exc
    return table
