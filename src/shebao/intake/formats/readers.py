"""Reading a department file into a raw table: every cell as text, each data row numbered.

CSV (UTF-8 with or without BOM, or GB18030/GBK), XLSX (the first sheet) and Parquet. Up to
five title rows may stand above the header row; the header row is the first of the top six
rows that holds the most known column names. Data rows are numbered from 1 after the header
row; the cells that are read are trimmed (an empty cell is null) and rows blank in all of
them are left out, keeping their numbers.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shebao.identity._text import INVISIBLE_CHARS
from shebao.identity.filesafety import (
    DEFAULT_LIMITS,
    UnsafeFile,
    check_cell_text,
    check_columns,
    check_size,
    check_spreadsheet,
    is_panic,
)
from shebao.intake.formats.errors import IntakeError, IntakeErrorCode
from shebao.intake.formats.headers import known_header_count

__all__ = ["MAX_TITLE_ROWS", "RawTable", "read_raw"]

MAX_TITLE_ROWS: Final[int] = 5
_SNIFF_BYTES: Final[int] = 1 << 20
_CHUNK_BYTES: Final[int] = 16 << 20
_DELIMITERS: Final[str] = ",\t|;"
CSV_SUFFIXES: Final[frozenset[str]] = frozenset({".csv", ".txt"})
XLSX_SUFFIXES: Final[frozenset[str]] = frozenset({".xlsx", ".xlsm", ".xls"})
PARQUET_SUFFIXES: Final[frozenset[str]] = frozenset({".parquet", ".pq"})


@dataclass(frozen=True)
class RawTable:
    """A file's cells as text, as read. `frame` has the column `row` (1-based data-row
    number) and one string column per header that was read, named c0, c1, … by the
    header's position (headers may repeat or be empty); an empty cell is null."""

    source: str  # the file name
    file_format: str  # csv / xlsx / parquet
    encoding: str | None  # for CSV: utf-8 or gb18030
    header_line: int  # 1-based line (CSV) or sheet row (XLSX) of the header; 1 for Parquet
    headers: tuple[str, ...]
    frame: pl.DataFrame

    @property
    def rows(self) -> int:
        return self.frame.height

    def cells(
        self, positions: Sequence[int], offset: int = 0, length: int | None = None
    ) -> pa.Table:
        """`row` and the columns at `positions`, each cell trimmed of white space and
        zero-width characters (empty → null), without the rows blank in all of them. Only
        the columns that will be read are trimmed: it is the costliest step of reading.
        `offset` and `length` take a slice of the rows (all of them by default), so that a
        large file is trimmed a slice at a time rather than copied whole."""
        names = [f"c{i}" for i in positions]
        frame = self.frame.slice(offset, length).select(
            "row", *(pl.col(n).str.strip_chars(INVISIBLE_CHARS).replace("", None) for n in names)
        )
        if names:
            frame = frame.filter(pl.any_horizontal(pl.col(n).is_not_null() for n in names))
        # String views pass to DuckDB without a copy.
        return frame.to_arrow(compat_level=pl.CompatLevel.newest())


Select = Callable[[tuple[str, ...]], Collection[int]]


def _everything(headers: tuple[str, ...]) -> Collection[int]:
    return range(len(headers))


def read_raw(
    path: str | os.PathLike[str], *, select: Select = _everything, name: str | None = None
) -> RawTable:
    """Read a file's cells. `select` is given the headers and returns the positions of the
    columns to read (the others are skipped: a 10-million-row file is read column by
    column, and unread columns cost neither time nor memory); it may raise IntakeError.

    `name` is the file's name as its owner gave it (an upload is stored under another
    name): messages and the `source` column use it. Messages are Chinese only; a library's
    own words go to the details, for those who debug."""
    file = Path(path)
    source = name or file.name
    if not file.is_file():
        raise IntakeError(
            IntakeErrorCode.FILE_NOT_FOUND,
            f"找不到文件“{name or file}”",
            details=[{"path": str(file), "source": source}],
        )
    suffix = Path(source).suffix.lower() or file.suffix.lower()
    try:
        # Measured before any parser sees it: a crafted XLSX can abort the process.
        check_size(file, source)
        if suffix in XLSX_SUFFIXES:
            check_spreadsheet(file, source)
        if suffix in CSV_SUFFIXES:
            return _read_csv(file, select, source)
        if suffix in XLSX_SUFFIXES:
            return _read_xlsx(file, select, source)
        if suffix in PARQUET_SUFFIXES:
            return _read_parquet(file, select, source)
    except IntakeError:
        raise
    except UnsafeFile as error:
        raise _unsafe(error) from error
    except (OSError, ValueError, csv.Error, pl.exceptions.PolarsError, pa.ArrowException) as error:
        # csv.Error: a title or header line longer than csv's field limit (an open quote).
        raise IntakeError(
            IntakeErrorCode.UNREADABLE_FILE,
            f"文件“{source}”无法读取：文件可能已损坏，或内容与扩展名“{suffix}”不符。"
            "请确认文件能正常打开，另存后重新上传",
            details=[{"source": source, "cause": str(error)}],
        ) from error
    raise IntakeError(
        IntakeErrorCode.UNSUPPORTED_FORMAT,
        f"文件“{source}”的格式不支持：请提供 CSV、XLSX 或 Parquet 文件",
        details=[{"source": source, "suffix": suffix}],
    )


def _unsafe(error: UnsafeFile) -> IntakeError:
    return IntakeError(IntakeErrorCode(error.code), error.message, [error.details])


def _header_index(rows: Sequence[Sequence[object]]) -> int:
    """The index of the header among the first rows: the row with the most known column
    names (the first such row on a tie); the first row if none has two."""
    best, best_count = 0, 1
    for index, row in enumerate(rows[: MAX_TITLE_ROWS + 1]):
        count = known_header_count(row)
        if count > best_count:
            best, best_count = index, count
    return best


def _clean_header(cell: object) -> str:
    return "" if cell is None else str(cell).strip().lstrip("\ufeff")


def _finish(
    source: str,
    file_format: str,
    encoding: str | None,
    header_line: int,
    headers: Sequence[str],
    frame: pl.DataFrame,
) -> RawTable:
    _check_cells(source, header_line, headers, frame)
    numbered = frame.with_columns(
        pl.Series("row", np.arange(1, frame.height + 1, dtype=np.int64))
    ).select("row", *frame.columns)
    return RawTable(source, file_format, encoding, header_line, tuple(headers), numbered)


def _check_cells(
    source: str, header_line: int, headers: Sequence[str], frame: pl.DataFrame
) -> None:
    """No header and no read cell longer than a spreadsheet cell may be: a quote left open
    swallows the rest of a CSV into one cell, which is refused naming where it starts."""
    check_columns(len(headers), source)
    for position, header in enumerate(headers):
        where = f"表头（第{header_line}行）第{position + 1}列"
        check_cell_text(len(header), source, where, header_line)
    if frame.height == 0 or frame.width == 0:
        return
    longest = frame.select(pl.all().str.len_chars().max()).row(0)
    for name, length in zip(frame.columns, longest, strict=True):
        if length is not None and length > DEFAULT_LIMITS.max_cell_chars:
            index = frame.select(pl.col(name).str.len_chars().arg_max()).item()
            position = int(name[1:])
            label = f"“{headers[position]}”列" if headers[position] else f"第{position + 1}列"
            check_cell_text(length, source, f"表头下第{index + 1}行{label}", index + 1)


# --- CSV ---------------------------------------------------------------------------------


def _decodes(sample: bytes, encoding: str) -> UnicodeDecodeError | None:
    """None if the sample decodes strictly (a character cut at the end of the sample is
    allowed), else the error."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        decoder.decode(sample, final=False)
    except UnicodeDecodeError as error:
        return error
    return None


def _top_rows(sample: bytes, encoding: str) -> tuple[str, list[list[str]]]:
    """The delimiter and the first rows of the sample, decoded leniently."""
    text = sample.decode(encoding, errors="replace").lstrip("\ufeff")
    lines = text.splitlines()[: MAX_TITLE_ROWS + 1]
    if len(sample) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    delimiter = max(_DELIMITERS, key=lambda d: sum(line.count(d) for line in lines))
    return delimiter, list(csv.reader(lines, delimiter=delimiter))


def _known_headers(sample: bytes, encoding: str) -> int:
    return max((known_header_count(row) for row in _top_rows(sample, encoding)[1]), default=0)


def _sniff_encoding(sample: bytes, source: str) -> str:
    """UTF-8 if the sample decodes strictly, else GB18030, the superset of GBK and GB2312
    that Chinese systems export. GB18030 decodes most byte strings, a UTF-8 file with a
    stray byte too (as nonsense): when the headers read better as UTF-8, the file is UTF-8
    with an invalid byte, and is refused as such, naming the line and column."""
    utf8_error = _decodes(sample, "utf-8")
    if utf8_error is None:
        return "utf-8"
    if _decodes(sample, "gb18030") is not None or _known_headers(sample, "utf-8") > _known_headers(
        sample, "gb18030"
    ):
        raise _encoding_error(source, sample, utf8_error.start, "utf-8")
    return "gb18030"


def _encoding_error(source: str, data: bytes, offset: int, encoding: str) -> IntakeError:
    """The refusal of a file whose byte at `offset` of `data` (the file's start) cannot be
    read in `encoding`: which line, and which column by the header (read as `encoding`)."""
    line = data.count(b"\n", 0, offset) + 1
    delimiter, top = _top_rows(data[:_SNIFF_BYTES], encoding)
    header_index = _header_index(top) if top else 0
    headers = [_clean_header(cell) for cell in top[header_index]] if top else []
    start = data.rfind(b"\n", 0, offset) + 1
    column = _column_at(data[start:offset], encoding, delimiter, headers)
    return _bad_encoding(source, line, column)


def _column_at(before: bytes, encoding: str, delimiter: str, headers: Sequence[str]) -> str:
    """The column (by its header) of a line's cell that starts after `before`."""
    text = before.decode(encoding, errors="replace")
    position = max(len(next(csv.reader([text], delimiter=delimiter), [])) - 1, 0)
    if position < len(headers) and headers[position]:
        return f"“{headers[position]}”列"
    return f"第{position + 1}列"


def _bad_encoding(source: str, line: int, column: str, mixed: bool = False) -> IntakeError:
    what = (
        "的编码不一致：开头是 UTF-8，后面混入了非 UTF-8 的内容（可能是 GBK 编码的行）"
        if mixed
        else "含有无法识别的字符：不是有效的 UTF-8 编码，也不是 GB18030/GBK 编码"
    )
    where = f"（第一处在第{line}行{column}）" if line else ""
    return IntakeError(
        IntakeErrorCode.BAD_ENCODING,
        f"文件“{source}”{what}{where}。"
        "请用 Excel 或记事本“另存为”UTF-8 或 GB18030 编码的 CSV 后重新上传",
        [{"source": source, "line": line, "column": column}],
    )


def _first_bad_byte(file: Path, encoding: str) -> tuple[int, bytes] | None:
    """The line (1-based) of the first byte of `file` that `encoding` cannot read, and the
    bytes of that line before it; None if the whole file reads."""
    line = 1
    carry = b""
    with file.open("rb") as handle:
        while True:
            chunk = handle.read(_CHUNK_BYTES)
            data = carry + chunk
            try:
                data.decode(encoding)
            except UnicodeDecodeError as error:
                cut = error.end == len(data) and error.reason == "unexpected end of data"
                if chunk and cut:  # a character cut at the chunk's end: read on
                    line += data.count(b"\n", 0, error.start)
                    carry = data[error.start :]
                    continue
                start = data.rfind(b"\n", 0, error.start) + 1
                return line + data.count(b"\n", 0, error.start), data[start : error.start]
            if not chunk:
                return None
            line += data.count(b"\n")
            carry = b""


def _bad_encoding_in(
    file: Path, source: str, encoding: str, headers: list[str], delimiter: str, mixed: bool
) -> IntakeError:
    found = _first_bad_byte(file, encoding)
    if found is None:
        return _bad_encoding(source, 0, "", mixed)
    line, before = found
    return _bad_encoding(source, line, _column_at(before, encoding, delimiter, headers), mixed)


def _read_csv(file: Path, select: Select, source: str) -> RawTable:
    with file.open("rb") as handle:
        sample = handle.read(_SNIFF_BYTES)
    if not sample.strip():
        raise IntakeError(
            IntakeErrorCode.NO_HEADER, f"文件“{source}”为空，没有表头", [{"source": source}]
        )
    encoding = _sniff_encoding(sample, source)
    delimiter, top = _top_rows(sample, encoding)
    if not top:  # nothing but a byte-order mark
        raise IntakeError(
            IntakeErrorCode.NO_HEADER, f"文件“{source}”为空，没有表头", [{"source": source}]
        )
    header_index = _header_index(top)
    headers = [_clean_header(cell) for cell in top[header_index]]
    if not any(headers):
        raise IntakeError(
            IntakeErrorCode.NO_HEADER, f"文件“{source}”没有表头", [{"source": source}]
        )
    check_columns(len(headers), source)  # before a schema of that many columns is built

    wanted = sorted(select(tuple(headers)))

    def read(path: Path) -> pl.DataFrame:
        return pl.read_csv(
            path,
            has_header=False,
            skip_rows=header_index + 1,
            separator=delimiter,
            schema={f"c{i}": pl.String for i in range(len(headers))},
            columns=wanted,
            truncate_ragged_lines=True,
            encoding="utf8",
            raise_if_empty=False,
        )

    if encoding == "utf-8":
        try:
            frame = read(file)
        except pl.exceptions.ComputeError as error:
            if "utf-8" not in str(error).lower():
                raise
            # The header decoded as UTF-8, a later row does not: two encodings in one file.
            # Reading it all as GB18030 would garble the UTF-8 part without a word.
            raise _bad_encoding_in(file, source, "utf-8", headers, delimiter, True) from error
    else:
        try:
            with _transcoded(file) as utf8_copy:
                frame = read(utf8_copy)
        except UnicodeDecodeError as error:
            raise _bad_encoding_in(file, source, "gb18030", headers, delimiter, False) from error
    return _finish(source, "csv", encoding, header_index + 1, headers, frame)


@contextmanager
def _transcoded(file: Path) -> Iterator[Path]:
    """A temporary UTF-8 copy of a GB18030 file, converted in chunks."""
    decoder = codecs.getincrementaldecoder("gb18030")("strict")
    handle, name = tempfile.mkstemp(suffix=".csv", prefix="shebao-intake-")
    try:
        with file.open("rb") as source, os.fdopen(handle, "wb") as target:
            while chunk := source.read(_CHUNK_BYTES):
                target.write(decoder.decode(chunk).encode("utf-8"))
            target.write(decoder.decode(b"", final=True).encode("utf-8"))
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


# --- XLSX --------------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    """Excel cells as the text a person sees: whole numbers without ".0", dates as ISO."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_xlsx(file: Path, select: Select, source: str) -> RawTable:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(file))
        if not workbook.sheet_names:
            rows: list[list[Any]] = []
        else:
            rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except BaseException as error:
        if not (isinstance(error, CalamineError) or is_panic(error)):
            raise
        raise IntakeError(
            IntakeErrorCode.UNREADABLE_FILE,
            f"文件“{source}”不是有效的 Excel 文件，无法打开：文件可能已损坏，或是改了扩展名的"
            "其他文件（如 CSV）。请在 Excel 中打开后另存为 .xlsx 或 CSV（UTF-8）再上传",
            [{"source": source, "cause": str(error)}],
        ) from error
    # Leading blank rows are not title rows.
    first = next((i for i, row in enumerate(rows) if any(c not in (None, "") for c in row)), None)
    if first is None:
        raise IntakeError(
            IntakeErrorCode.NO_HEADER, f"文件“{source}”为空，没有表头", [{"source": source}]
        )
    header_index = first + _header_index(rows[first:])
    headers = [_clean_header(_cell_text(cell)) for cell in rows[header_index]]
    data = rows[header_index + 1 :]
    columns = {
        f"c{i}": pl.Series([_cell_text(row[i]) if i < len(row) else None for row in data],
                           dtype=pl.String)
        for i in sorted(select(tuple(headers)))
    }  # fmt: skip
    frame = pl.DataFrame(columns)
    return _finish(source, "xlsx", None, header_index + 1, headers, frame)


# --- Parquet -----------------------------------------------------------------------------


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_floating(kind):
        # 110.0 → "110": codes stored as floats by a dataframe library.
        whole = pc.equal(column, pc.floor(column))
        as_int = pc.cast(pc.if_else(whole, column, None), pa.int64(), safe=False)
        text = pc.if_else(
            whole, pc.cast(as_int, pa.large_string()), pc.cast(column, pa.large_string())
        )
        return text
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
    return pc.cast(column, pa.large_string())


def _read_parquet(file: Path, select: Select, source: str) -> RawTable:
    names = pq.read_schema(file).names
    headers = [_clean_header(name) for name in names]
    positions = sorted(select(tuple(headers)))
    table = pq.read_table(file, columns=[names[i] for i in positions])
    columns = {f"c{i}": _as_text(table.column(j)) for j, i in enumerate(positions)}
    frame = pl.DataFrame(pa.table(columns))
    return _finish(source, "parquet", None, 1, headers, frame)
