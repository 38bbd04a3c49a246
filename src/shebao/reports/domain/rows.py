"""Checking the rows of target and figure files (the upward-reporting contracts of issue 5).

    targets: 年度, 月份, 区划代码, 合作银行, 指标, 目标值
    figures: 统计月份, 区划代码, 合作银行, 指标, 累计值

Every bad cell becomes a `RowError` with the row number as a spreadsheet shows it (the
header is row 1), the column, a stable code and a Chinese reason. The caller imports
nothing when there is any error.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Final, Generic, TypeVar

from shebao.reports.domain.metrics import METRIC_LABELS, Metric, metric_from_label

__all__ = [
    "FIGURE_COLUMNS",
    "MAX_VALUE",
    "TARGET_COLUMNS",
    "FigureRow",
    "ImportErrorCode",
    "ParseResult",
    "RawTable",
    "RowError",
    "TargetRow",
    "column_values",
    "parse_figures",
    "parse_targets",
]

TARGET_COLUMNS: Final[tuple[str, ...]] = ("年度", "月份", "区划代码", "合作银行", "指标", "目标值")
FIGURE_COLUMNS: Final[tuple[str, ...]] = ("统计月份", "区划代码", "合作银行", "指标", "累计值")
# Ten times the country's population: anything larger is a typing error, not a count.
MAX_VALUE: Final[int] = 14_000_000_000
MAX_BANK_LENGTH: Final[int] = 64
FIRST_YEAR, LAST_YEAR = 2000, 2099


class ImportErrorCode(StrEnum):
    FILE_EMPTY = "FILE_EMPTY"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    COLUMN_MISSING = "COLUMN_MISSING"
    COLUMN_DUPLICATE = "COLUMN_DUPLICATE"
    YEAR_INVALID = "YEAR_INVALID"
    MONTH_INVALID = "MONTH_INVALID"
    REGION_CODE_INVALID = "REGION_CODE_INVALID"
    REGION_UNKNOWN = "REGION_UNKNOWN"
    BANK_INVALID = "BANK_INVALID"
    METRIC_UNKNOWN = "METRIC_UNKNOWN"
    VALUE_MISSING = "VALUE_MISSING"
    VALUE_NEGATIVE = "VALUE_NEGATIVE"
    VALUE_NOT_INTEGER = "VALUE_NOT_INTEGER"
    VALUE_TOO_LARGE = "VALUE_TOO_LARGE"
    DUPLICATE_KEY = "DUPLICATE_KEY"
    MONTH_TARGET_ABOVE_ANNUAL = "MONTH_TARGET_ABOVE_ANNUAL"


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected cell or row of an imported file (targets, figures, work plan)."""

    row: int  # as a spreadsheet numbers it: the header is row 1; 0 for the file as a whole
    column: str
    code: StrEnum  # ImportErrorCode, or PlanErrorCode for work plans
    message: str

    def text(self) -> str:
        where = f"第{self.row}行" if self.row else "文件"
        column = f"【{self.column}】" if self.column else ""
        return f"{where}{column}{self.message}（{self.code}）"

    def as_dict(self) -> dict[str, str | int]:
        return {
            "row": self.row,
            "column": self.column,
            "code": str(self.code),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class RawTable:
    """A file's header and its non-blank rows, each with its row number."""

    headers: tuple[str, ...]
    rows: tuple[tuple[int, tuple[object, ...]], ...]


@dataclass(frozen=True, slots=True)
class TargetRow:
    row: int
    year: int
    month: int | None  # None: the annual target
    region_code: str
    bank: str  # "" for the region's own target
    metric: Metric
    value: int

    @property
    def key(self) -> tuple[int, int | None, str, str, Metric]:
        return (self.year, self.month, self.region_code, self.bank, self.metric)


@dataclass(frozen=True, slots=True)
class FigureRow:
    row: int
    year: int
    month: int
    region_code: str
    bank: str
    metric: Metric
    value: int

    @property
    def key(self) -> tuple[int, int, str, str, Metric]:
        return (self.year, self.month, self.region_code, self.bank, self.metric)


R = TypeVar("R", TargetRow, FigureRow)


@dataclass(slots=True)
class ParseResult(Generic[R]):
    rows: list[R] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _BadCell(Exception):
    def __init__(self, code: ImportErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_HEADER_NOTE = re.compile(r"\s*[（(][^（()）]*[)）]\s*$")
_REGION_CODE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")
_INTEGER = re.compile(r"^\d+$")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_MONTH_FORMS = (
    re.compile(r"^(\d{4})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
)


def _header(text: str) -> str:
    # Files copy the contract literally ("统计月份 (YYYY-MM)"): drop a trailing note.
    return _HEADER_NOTE.sub("", unicodedata.normalize("NFKC", text).strip())


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    # NFKC turns full-width digits and spaces (common in hand-typed files) into ASCII.
    return unicodedata.normalize("NFKC", str(value)).strip()


def _year(value: object) -> int:
    text = _text(value).removesuffix("年")
    if not _INTEGER.match(text) or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        raise _BadCell(ImportErrorCode.YEAR_INVALID, f"年度“{_text(value)}”应为四位年份，如2014")
    return int(text)


def _target_month(value: object) -> int | None:
    text = _text(value).removesuffix("月")
    if text == "":
        return None
    if not _INTEGER.match(text) or not 1 <= int(text) <= 12:
        raise _BadCell(
            ImportErrorCode.MONTH_INVALID,
            f"月份“{_text(value)}”应为1–12（留空表示全年目标）",
        )
    return int(text)


def _figure_month(value: object) -> tuple[int, int]:
    if isinstance(value, datetime | date):
        return value.year, value.month
    text = _text(value)
    for form in _MONTH_FORMS:
        match = form.match(text)
        if match:
            year, month = int(match.group(1)), int(match.group(2))
            if FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12:
                return year, month
    raise _BadCell(ImportErrorCode.MONTH_INVALID, f"统计月份“{text}”应为“年-月”格式，如2014-07")


def _region(value: object, known: Container[str]) -> str:
    text = _text(value)
    if not _REGION_CODE.match(text):
        raise _BadCell(
            ImportErrorCode.REGION_CODE_INVALID,
            f"区划代码“{text}”应为6位、9位或12位数字",
        )
    if text not in known:
        raise _BadCell(ImportErrorCode.REGION_UNKNOWN, f"区划代码“{text}”不存在")
    return text


def _bank(value: object) -> str:
    text = "".join(_text(value).split())
    if len(text) > MAX_BANK_LENGTH:
        raise _BadCell(
            ImportErrorCode.BANK_INVALID, f"合作银行名称过长（不超过{MAX_BANK_LENGTH}个字）"
        )
    return text


def _metric(value: object) -> Metric:
    metric = metric_from_label(_text(value))
    if metric is None:
        names = "、".join(METRIC_LABELS.values())
        raise _BadCell(ImportErrorCode.METRIC_UNKNOWN, f"指标“{_text(value)}”不是以下之一：{names}")
    return metric


def _value(value: object, column: str) -> int:
    if isinstance(value, bool):
        raise _BadCell(ImportErrorCode.VALUE_NOT_INTEGER, f"{column}应为整数")
    text = _text(value)
    if text == "":
        raise _BadCell(ImportErrorCode.VALUE_MISSING, f"{column}不能为空")
    if _GROUPED.match(text):
        text = text.replace(",", "")
    if text.startswith("-") and _DECIMAL.match(text):
        raise _BadCell(ImportErrorCode.VALUE_NEGATIVE, f"{column}“{text}”不能为负数")
    if _DECIMAL.match(text) and "." in text and text.rstrip("0").endswith("."):
        text = text.split(".")[0]  # 1200.0 from a spreadsheet is the integer 1200
    if not _INTEGER.match(text):
        raise _BadCell(
            ImportErrorCode.VALUE_NOT_INTEGER, f"{column}“{text}”应为非负整数（人数或张数）"
        )
    number = int(text)
    if number > MAX_VALUE:
        raise _BadCell(ImportErrorCode.VALUE_TOO_LARGE, f"{column}“{text}”过大，请核对")
    return number


def _columns(table: RawTable, expected: tuple[str, ...]) -> tuple[dict[str, int], list[RowError]]:
    positions: dict[str, int] = {}
    errors: list[RowError] = []
    for index, raw in enumerate(table.headers):
        name = _header(raw)
        if name in expected:
            if name in positions:
                errors.append(
                    RowError(1, name, ImportErrorCode.COLUMN_DUPLICATE, f"表头中“{name}”列重复")
                )
            positions[name] = index
    for name in expected:
        if name not in positions:
            errors.append(
                RowError(
                    1,
                    name,
                    ImportErrorCode.COLUMN_MISSING,
                    f"缺少“{name}”列（表头应为：{'、'.join(expected)}）",
                )
            )
    return positions, errors


class _RowReader:
    """Reads one row's cells by column, collecting what is wrong with them."""

    def __init__(self, positions: dict[str, int], number: int, cells: tuple[object, ...]) -> None:
        self.positions = positions
        self.number = number
        self.cells = cells
        self.errors: list[RowError] = []

    def cell(self, column: str, check: Callable[[object], object]) -> object:
        index = self.positions[column]
        raw = self.cells[index] if index < len(self.cells) else None
        try:
            return check(raw)
        except _BadCell as bad:
            self.errors.append(RowError(self.number, column, bad.code, bad.message))
            return None


def _parse(
    table: RawTable,
    expected: tuple[str, ...],
    build: Callable[[_RowReader], R | None],
) -> ParseResult[R]:
    result: ParseResult[R] = ParseResult()
    positions, errors = _columns(table, expected)
    if errors:
        result.errors = errors
        return result
    if not table.rows:
        result.errors = [RowError(0, "", ImportErrorCode.FILE_EMPTY, "文件中没有数据行")]
        return result
    key_columns = "/".join(c for c in expected if c not in {"目标值", "累计值"})
    first_seen: dict[object, int] = {}
    for number, cells in table.rows:
        reader = _RowReader(positions, number, cells)
        parsed = build(reader)
        if reader.errors or parsed is None:
            result.errors.extend(reader.errors)
            continue
        if parsed.key in first_seen:
            result.errors.append(
                RowError(
                    number,
                    key_columns,
                    ImportErrorCode.DUPLICATE_KEY,
                    f"与第{first_seen[parsed.key]}行重复（同一期间、区划、合作银行和指标只能有一行）",
                )
            )
            continue
        first_seen[parsed.key] = number
        result.rows.append(parsed)
    return result


def column_values(table: RawTable, column: str) -> set[str]:
    """The distinct cleaned values of a column (to look region codes up in one query)."""
    positions = [i for i, raw in enumerate(table.headers) if _header(raw) == column]
    if not positions:
        return set()
    index = positions[-1]
    return {_text(cells[index]) for _, cells in table.rows if index < len(cells)}


def parse_targets(table: RawTable, known_regions: Container[str]) -> ParseResult[TargetRow]:
    def build(reader: _RowReader) -> TargetRow | None:
        cell = reader.cell
        year = cell("年度", _year)
        month = cell("月份", _target_month)
        region = cell("区划代码", lambda v: _region(v, known_regions))
        bank = cell("合作银行", _bank)
        metric = cell("指标", _metric)
        value = cell("目标值", lambda v: _value(v, "目标值"))
        if not (
            isinstance(year, int)
            and (month is None or isinstance(month, int))
            and isinstance(region, str)
            and isinstance(bank, str)
            and isinstance(metric, Metric)
            and isinstance(value, int)
        ):
            return None
        return TargetRow(reader.number, year, month, region, bank, metric, value)

    result = _parse(table, TARGET_COLUMNS, build)
    # A month's target is the cumulative count due at its end: never above the year's.
    annual = {
        (r.year, r.region_code, r.bank, r.metric): r.value for r in result.rows if r.month is None
    }
    for r in result.rows:
        limit = annual.get((r.year, r.region_code, r.bank, r.metric))
        if r.month is not None and limit is not None and r.value > limit:
            result.errors.append(
                RowError(
                    r.row,
                    "目标值",
                    ImportErrorCode.MONTH_TARGET_ABOVE_ANNUAL,
                    f"{r.month}月目标{r.value}大于{r.year}年全年目标{limit}："
                    "月度目标是截至月底的累计数，不能超过全年目标",
                )
            )
    result.errors.sort(key=lambda e: e.row)
    return result


def parse_figures(table: RawTable, known_regions: Container[str]) -> ParseResult[FigureRow]:
    def build(reader: _RowReader) -> FigureRow | None:
        cell = reader.cell
        period = cell("统计月份", _figure_month)
        region = cell("区划代码", lambda v: _region(v, known_regions))
        bank = cell("合作银行", _bank)
        metric = cell("指标", _metric)
        value = cell("累计值", lambda v: _value(v, "累计值"))
        if not (
            isinstance(period, tuple)
            and isinstance(region, str)
            and isinstance(bank, str)
            and isinstance(metric, Metric)
            and isinstance(value, int)
        ):
            return None
        return FigureRow(reader.number, period[0], period[1], region, bank, metric, value)

    return _parse(table, FIGURE_COLUMNS, build)
