"""Reading the spreadsheets departments and units send: CSV (UTF-8, with or without BOM, or
GB18030) or XLSX, with header aliases, title rows above the header, and cells Excel turned
into numbers.

`shebao.intake.formats` was empty when this was written; this small reader is the cards
app's own. Every value comes back as a trimmed string (never inferred as a number, which
would break 18-digit ID numbers and leading zeros); `__row` is the 1-based data-row number
as the sender sees it (the first row under the header is 1), and rows with nothing in them
are dropped without renumbering the others.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any, Final

import polars as pl

from shebao.errors import ShebaoError
from shebao.identity.filesafety import (
    DEFAULT_LIMITS,
    UnsafeFile,
    check_cell_text,
    check_columns,
    check_size,
    check_spreadsheet,
    is_panic,
)

__all__ = ["ROW", "ColumnSpec", "Table", "TableError", "header_key", "read_table"]

ROW: Final[str] = "__row"
# The header is looked for in this many rows at the top (title rows, notes, blank lines).
_HEADER_SEARCH_ROWS: Final[int] = 30
_BLANKS: Final[str] = " \t\r\n\u3000\u00a0\u200b\ufeff"
_FOLD: Final[dict[int, int | None]] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {
    ord(ch): None for ch in _BLANKS + "*"
}


class TableError(ShebaoError):
    """An input file that cannot be used at all (as opposed to rows with errors)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code=code, message=message, status=422)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    key: str
    label: str
    aliases: tuple[str, ...] = ()
    required: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return (self.label, *self.aliases)


@dataclass(frozen=True, slots=True)
class Table:
    """The file's columns under their own (de-duplicated) headers, plus `__row`; `columns`
    maps each found ColumnSpec key to the header it was found under."""

    frame: pl.DataFrame
    columns: dict[str, str]
    original_columns: tuple[str, ...]
    source: str

    def canonical(self, specs: Sequence[ColumnSpec]) -> pl.DataFrame:
        """`__row` and one column per spec key; a missing optional column reads as ''."""
        return self.frame.select(
            pl.col(ROW),
            *(
                pl.col(self.columns[s.key]).fill_null("").alias(s.key)
                if s.key in self.columns
                else pl.lit("").alias(s.key)
                for s in specs
            ),
        )


@cache
def _t2s() -> Any:
    from opencc import OpenCC  # a slow import, only needed for traditional headers

    return OpenCC("t2s")


def header_key(text: str) -> str:
    """How headers compare: no blanks or asterisks (required-column marks), half-width
    brackets, lower-case Latin, simplified characters."""
    folded = text.translate(_FOLD).lower()
    if folded.isascii():
        return folded
    simplified: str = _t2s().convert(folded)
    return simplified


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        # Excel stores typed-in numbers as doubles: 13800138000 comes back as 13800138000.0.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip(_BLANKS)


def _match(header: Sequence[str], specs: Sequence[ColumnSpec]) -> dict[str, int]:
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for spec in specs:
        wanted = {header_key(name) for name in spec.names}
        for i, key in enumerate(keys):
            if key and key in wanted:
                found[spec.key] = i
                break
    return found


def _find_header(
    rows: Sequence[Sequence[str]], specs: Sequence[ColumnSpec], what: str, source: str
) -> tuple[int, dict[str, int]]:
    required = [s for s in specs if s.required]
    best: tuple[int, dict[str, int]] | None = None
    for i, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        found = _match(row, specs)
        if all(s.key in found for s in required):
            return i, found
        if found and (best is None or len(found) > len(best[1])):
            best = (i, found)
    if best is None:
        names = "、".join(s.label for s in required)
        raise TableError(
            "HEADER_NOT_FOUND",
            f"{what}（{source}）中找不到表头："
            f"前 {_HEADER_SEARCH_ROWS} 行中没有一行含有 {names} 等列",
        )
    missing = [s for s in required if s.key not in best[1]]
    described = "；".join(
        s.label + (f"（也可写作：{'、'.join(s.aliases)}）" if s.aliases else "") for s in missing
    )
    raise TableError(
        "MISSING_COLUMNS",
        f"{what}（{source}）第 {best[0] + 1} 行的表头缺少必需的列：{described}",
    )


def _unique_names(header: Sequence[str]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(header):
        name = raw or f"列{i + 1}"
        base, n = name, 1
        while name in seen or name == ROW:
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        names.append(name)
    return names


def _decode(data: bytes, what: str, source: str) -> tuple[str, bytes]:
    """The text, and the same as UTF-8 bytes (the input itself when it was UTF-8)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        return text, text.encode("utf-8")
    except UnicodeDecodeError as exc:
        raise TableError(
            "UNREADABLE_FILE", f"{what}（{source}）的文字编码无法识别：应为 UTF-8 或 GB18030"
        ) from exc


def _read_csv(path: Path, specs: Sequence[ColumnSpec], what: str, source: str) -> Table:
    text, utf8 = _decode(path.read_bytes(), what, source)
    head = text[: 256 * 1024].splitlines()[:_HEADER_SEARCH_ROWS]
    first = next((line for line in head if line.strip(_BLANKS + ",")), "")
    separator = "\t" if first.count("\t") > first.count(",") else ","
    top = [
        [cell.strip(_BLANKS) for cell in row]
        for row in csv.reader(head[:_HEADER_SEARCH_ROWS], delimiter=separator)
    ]
    index, _ = _find_header(top, specs, what, source)
    check_columns(len(top[index]), source)
    header = _unique_names(top[index])
    # Physical lines before the data: a quoted title cell spanning lines is not expected
    # above a header, so lines and records coincide there.
    frame = pl.read_csv(
        io.BytesIO(utf8),
        has_header=False,
        skip_lines=index + 1,
        new_columns=header,
        infer_schema=False,
        truncate_ragged_lines=True,
        separator=separator,
        raise_if_empty=False,
    )
    if frame.width < len(header):
        frame = frame.with_columns(
            pl.lit(None, dtype=pl.String).alias(name) for name in header[frame.width :]
        )
    return _finish(frame.select(header), top[index], specs, source)


def _read_xlsx(path: Path, specs: Sequence[ColumnSpec], what: str, source: str) -> Table:
    from python_calamine import CalamineWorkbook

    def unreadable(exc: BaseException) -> TableError:
        # The library's English text ("File is not a zip file") tells a clerk nothing.
        return TableError(
            "UNREADABLE_FILE",
            f"{what}（{source}）无法作为 Excel 文件读取：文件已损坏或并非 Excel 格式，"
            "请在 Excel 中打开后另存为 .xlsx 再上传",
        )

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types, all meaning "unreadable"
        raise unreadable(exc) from exc
    except BaseException as exc:  # a Rust panic inside calamine (pyo3 PanicException)
        if not is_panic(exc):
            raise
        raise unreadable(exc) from exc
    first_error: TableError | None = None
    for sheet_name in book.sheet_names:
        try:
            # A damaged sheet fails here, not when the workbook opens.
            rows: list[list[Any]] = book.get_sheet_by_name(sheet_name).to_python(
                skip_empty_area=False
            )
        except Exception as exc:
            raise unreadable(exc) from exc
        except BaseException as exc:
            if not is_panic(exc):
                raise
            raise unreadable(exc) from exc
        top = [[_cell_text(v) for v in row] for row in rows[:_HEADER_SEARCH_ROWS]]
        try:
            index, _ = _find_header(top, specs, what, f"{source} 工作表“{sheet_name}”")
        except TableError as exc:
            first_error = first_error or exc
            continue
        header = _unique_names(top[index])
        width = len(header)
        body = [
            [_cell_text(v) for v in (row[:width] + [None] * (width - len(row)))]
            for row in rows[index + 1 :]
        ]
        frame = pl.DataFrame(body, schema=dict.fromkeys(header, pl.String), orient="row")
        return _finish(frame, top[index], specs, source)
    if first_error is None:  # a damaged workbook that lists no sheet (found by fuzzing)
        raise unreadable(ValueError("no sheet"))
    raise first_error


def _finish(
    frame: pl.DataFrame, header: Sequence[str], specs: Sequence[ColumnSpec], source: str
) -> Table:
    names = frame.columns
    frame = (
        frame.with_columns(pl.col(names).str.strip_chars(_BLANKS))
        .with_row_index(ROW, offset=1)
        .with_columns(pl.col(ROW).cast(pl.Int64))
        .filter(pl.any_horizontal(pl.col(names).fill_null("") != ""))
        .select(ROW, *names)
    )
    _check_cells(frame, names, source)
    found = _match(header, specs)
    return Table(
        frame=frame,
        columns={key: names[i] for key, i in found.items()},
        original_columns=tuple(names),
        source=source,
    )


def _check_cells(frame: pl.DataFrame, names: Sequence[str], source: str) -> None:
    """No cell longer than a spreadsheet cell may be: a quote left open swallows the rest
    of a CSV into one cell, which is refused naming where it starts."""
    if frame.height == 0 or not names:
        return
    longest = frame.select(pl.col(names).str.len_chars().max()).row(0)
    for name, length in zip(names, longest, strict=True):
        if length is not None and length > DEFAULT_LIMITS.max_cell_chars:
            index = frame.select(pl.col(name).str.len_chars().arg_max()).item()
            row = frame[ROW][index]
            check_cell_text(length, source, f"第{row}行“{name}”列", row)


def read_table(
    path: str | Path, specs: Sequence[ColumnSpec], *, what: str, name: str | None = None
) -> Table:
    """Read a CSV or XLSX file; `what` names the file for people (e.g. "申领文件") and
    `name` is the file's name as its owner gave it (an upload is stored under another)."""
    path = Path(path)
    source = name or path.name
    if not path.is_file():
        raise TableError("FILE_NOT_FOUND", f"{what}不存在：{path}")
    suffix = path.suffix.lower()
    try:
        # Measured before any parser sees it: a crafted XLSX can abort the process.
        check_size(path, source)
        if suffix in (".xlsx", ".xlsm", ".xls"):
            check_spreadsheet(path, source)
            return _read_xlsx(path, specs, what, source)
        if suffix in (".csv", ".txt", ""):
            return _read_csv(path, specs, what, source)
    except UnsafeFile as exc:
        raise TableError(exc.code, f"{what}：{exc.message}") from exc
    except OSError as exc:
        raise TableError(
            "UNREADABLE_FILE", f"{what}（{source}）无法读取：文件不可访问或已损坏"
        ) from exc
    except (pl.exceptions.PolarsError, csv.Error) as exc:
        # csv.Error: a header-search line longer than csv's field limit (a quote left open).
        raise TableError(
            "UNREADABLE_FILE",
            f"{what}（{source}）不是有效的 CSV 文件：各行的列数或引号有误，"
            "请在 Excel 中另存为“CSV UTF-8”或 .xlsx 后再上传",
        ) from exc
    raise TableError("UNSUPPORTED_FORMAT", f"{what}（{source}）格式不支持：应为 CSV 或 XLSX 文件")
