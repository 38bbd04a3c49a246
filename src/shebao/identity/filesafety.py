"""Checks an uploaded file must pass BEFORE a parser sees it: size, ZIP bombs, XML entities.

Every importer reads XLSX with calamine and ZIPs with zipfile. Both trust the file: a 1.5 KB
XLSX whose two cells sit at A1 and XFD1048576 makes calamine allocate the dense range of
17 billion cells and the process aborts (not an exception: the worker or server dies); a
1 MB XLSX whose sheet inflates to 1 GB of blanks costs 1 GB of memory. So the container is
measured first, cheaply and in bounded memory, streaming each part through zipfile (which
stops at the size the archive declares and fails its CRC if the data runs on):

- the file's size, the members' count, their total uncompressed size and each large
  member's compression ratio (a real sheet deflates 5 to 20 times; a bomb 1,000 times);
- every XML part: no DOCTYPE or ENTITY declaration (entity expansion, "billion laughs");
- every worksheet: its largest row number and column (from the cell references), since
  the reader allocates rows × columns, and the number of columns against a cap.

Refusals are `UnsafeFile` with a machine code and a Chinese message naming the file as the
user named it; the callers turn it into their own error type. Pure Python (no Django).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "UnsafeFile",
    "check_cell_text",
    "check_columns",
    "check_size",
    "check_spreadsheet",
    "check_zip",
    "column_letter",
    "is_panic",
]

_CHUNK: Final[int] = 8 << 20
_ROW_REF = re.compile(rb"<row\b[^>]*?\sr=\"([0-9]{1,9})\"")
_CELL_REF = re.compile(rb"<c\b[^>]*?\sr=\"([A-Za-z]{1,4})[0-9]")
# What zipfile raises for a damaged archive: zlib.error escapes it for a corrupt deflate stream.
_DAMAGED: Final = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    NotImplementedError,
    ValueError,
)
_FORBIDDEN_XML: Final[tuple[bytes, ...]] = (b"<!DOCTYPE", b"<!ENTITY", b"<!doctype", b"<!entity")


@dataclass(frozen=True, slots=True)
class Limits:
    """What one uploaded file may cost. The defaults admit the largest department file an
    XLSX can hold (1,048,576 rows of 38 columns); callers with small files pass less."""

    max_bytes: int = 512 << 20  # the file as uploaded
    max_uncompressed: int = 2 << 30  # all members of a ZIP/XLSX together
    max_ratio: int = 200  # uncompressed/compressed, for members above ratio_floor
    ratio_floor: int = 16 << 20
    max_members: int = 10_000
    max_columns: int = 1_024
    max_cells: int = 40_000_000  # rows × columns of a sheet as the reader allocates it
    max_cell_chars: int = 32_767  # Excel's own limit for one cell


DEFAULT_LIMITS: Final[Limits] = Limits()


class UnsafeFile(Exception):
    """A file refused before parsing; `message` is for people (Chinese), `code` for machines."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


def column_letter(index: int) -> str:
    """1 → A, 27 → AA: the column as a spreadsheet names it."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_index(letters: bytes) -> int:
    index = 0
    for byte in letters.upper():
        index = index * 26 + (byte - 64)
    return index


def _mb(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MB" if size >= 1 << 20 else f"{size:,} 字节"


def check_size(path: str | Path, source: str, limits: Limits = DEFAULT_LIMITS) -> None:
    size = Path(path).stat().st_size
    if size > limits.max_bytes:
        raise UnsafeFile(
            "FILE_TOO_LARGE",
            f"文件“{source}”过大（{_mb(size)}），超过上限 {_mb(limits.max_bytes)}："
            "请拆分后分批上传",
            {"source": source, "bytes": size, "limit": limits.max_bytes},
        )


def check_columns(count: int, source: str, limits: Limits = DEFAULT_LIMITS) -> None:
    if count > limits.max_columns:
        raise UnsafeFile(
            "TOO_MANY_COLUMNS",
            f"文件“{source}”有 {count:,} 列，超过上限 {limits.max_columns:,} 列"
            f"（第{column_letter(limits.max_columns + 1)}列起）：请删去多余的列后重新上传",
            {"source": source, "columns": count, "limit": limits.max_columns},
        )


def check_cell_text(
    length: int, source: str, where: str, row: int, limits: Limits = DEFAULT_LIMITS
) -> None:
    """`where` names the cell for people as the caller numbers rows (e.g. 表头下第3行“姓名”列)."""
    if length > limits.max_cell_chars:
        raise UnsafeFile(
            "CELL_TOO_LONG",
            f"文件“{source}”{where}的内容过长（{length:,} 个字符，上限 "
            f"{limits.max_cell_chars:,}）：请检查该单元格，或引号是否未配对",
            {"source": source, "row": row, "where": where, "chars": length},
        )


def _bomb(source: str, detail: str, data: dict[str, Any]) -> UnsafeFile:
    return UnsafeFile(
        "ARCHIVE_TOO_LARGE",
        f"文件“{source}”解压后过大（{detail}），可能是压缩炸弹，已拒绝：请检查文件来源",
        {"source": source, **data},
    )


def _members(archive: zipfile.ZipFile, source: str, limits: Limits) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise _bomb(source, f"含 {len(infos):,} 个文件", {"members": len(infos)})
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed:
        raise _bomb(source, f"共 {_mb(total)}", {"uncompressed": total})
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
            raise _bomb(
                source,
                f"其中“{info.filename}”压缩比 {ratio:,.0f}:1",
                {"member": info.filename, "ratio": ratio},
            )
    return infos


def _stream(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
    """The member's bytes in chunks cut just before a '<', so that no tag is split."""
    carry = b""
    with archive.open(info) as handle:
        while chunk := handle.read(_CHUNK):
            data = carry + chunk
            cut = data.rfind(b"<")
            if cut <= 0:
                carry = b""
                yield data
            else:
                carry = data[cut:]
                yield data[:cut]
    if carry:
        yield carry


def _check_xml(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str, limits: Limits
) -> None:
    sheet = info.filename.startswith("xl/worksheets/") or "/worksheets/" in info.filename
    max_row = max_col = cells = 0
    for data in _stream(archive, info):
        if any(marker in data for marker in _FORBIDDEN_XML):
            raise UnsafeFile(
                "FORBIDDEN_XML",
                f"文件“{source}”含有不允许的 XML 声明（DOCTYPE/ENTITY，位于“{info.filename}”），"
                "可能是恶意构造的文件，已拒绝：请在 Excel 中打开后另存为 .xlsx 再上传",
                {"source": source, "member": info.filename},
            )
        if not sheet:
            continue
        rows = _ROW_REF.findall(data)
        if rows:
            max_row = max(max_row, *(int(r) for r in rows))
        letters = set(_CELL_REF.findall(data))
        if letters:
            max_col = max(max_col, *(_column_index(c) for c in letters))
        cells += data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/>")
    if not sheet:
        return
    check_columns(max_col, source, limits)
    area = max(max_row, 1) * max(max_col, 1)
    if area > limits.max_cells or cells > limits.max_cells:
        raise UnsafeFile(
            "TOO_MANY_CELLS",
            f"文件“{source}”的工作表范围过大（到第{max_row:,}行、第{column_letter(max_col)}列，"
            f"约 {max(area, cells):,} 个单元格，上限 {limits.max_cells:,}）：请删去表格以外的"
            "内容（如远处的空格或格式），或拆分后分批上传",
            {"source": source, "rows": max_row, "columns": max_col, "cells": max(area, cells)},
        )


def check_zip(path: str | Path, source: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Size, member count, uncompressed total and ratios of a ZIP (a photo package)."""
    check_size(path, source, limits)
    if not zipfile.is_zipfile(path):
        return  # the reader says it is not a ZIP, in its own words
    try:
        with zipfile.ZipFile(path) as archive:
            _members(archive, source, limits)
    except _DAMAGED:
        return  # damaged: the reader refuses it in its own words


def check_spreadsheet(path: str | Path, source: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Everything above, for an XLSX (a ZIP of XML parts). Files that are not ZIPs (XLS,
    or a CSV misnamed .xlsx) pass to the reader, which refuses what it cannot read."""
    check_size(path, source, limits)
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            for info in _members(archive, source, limits):
                if info.filename.lower().endswith((".xml", ".rels", ".vml")):
                    _check_xml(archive, info, source, limits)
    except UnsafeFile:
        raise
    except _DAMAGED as error:
        # A truncated archive, a CRC that fails because a member inflates past its declared
        # size, an unknown compression: nothing a reader should be given.
        raise UnsafeFile(
            "UNREADABLE_FILE",
            f"文件“{source}”不是有效的 Excel 文件，无法打开：文件可能已损坏或不完整。"
            "请在 Excel 中打开后另存为 .xlsx 再上传",
            {"source": source, "cause": str(error)},
        ) from error


def is_panic(error: BaseException) -> bool:
    """A Rust panic inside calamine arrives as pyo3's PanicException, a BaseException (not
    an Exception): the readers turn it into a refusal instead of a crash."""
    return type(error).__name__ == "PanicException"
