"""Why a file is refused whole (`IntakeError`) and why a single row is rejected (`RejectCode`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from shebao.errors import ShebaoError

__all__ = ["IntakeError", "IntakeErrorCode", "RejectCode", "command_line_message"]


class IntakeErrorCode(StrEnum):
    FILE_NOT_FOUND = "FILE_NOT_FOUND"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    UNREADABLE_FILE = "UNREADABLE_FILE"
    BAD_ENCODING = "BAD_ENCODING"
    NO_HEADER = "NO_HEADER"
    UNKNOWN_KIND = "UNKNOWN_KIND"
    AMBIGUOUS_KIND = "AMBIGUOUS_KIND"
    MISSING_COLUMN = "MISSING_COLUMN"
    DUPLICATE_COLUMN = "DUPLICATE_COLUMN"
    # Refused before parsing (shebao.identity.filesafety): bounded time and memory per file.
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    ARCHIVE_TOO_LARGE = "ARCHIVE_TOO_LARGE"
    FORBIDDEN_XML = "FORBIDDEN_XML"
    TOO_MANY_COLUMNS = "TOO_MANY_COLUMNS"
    TOO_MANY_CELLS = "TOO_MANY_CELLS"
    CELL_TOO_LONG = "CELL_TOO_LONG"


class IntakeError(ShebaoError):
    """A file that cannot be imported at all; `message` says which file and why, in Chinese."""

    def __init__(
        self, code: IntakeErrorCode, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(code=code.value, message=message, status=422, details=details or [])


_KIND_CODES: Final[frozenset[str]] = frozenset(
    {IntakeErrorCode.UNKNOWN_KIND.value, IntakeErrorCode.AMBIGUOUS_KIND.value}
)


def command_line_message(error: ShebaoError) -> str:
    """The message as a command prints it: where the kind must be given, how to give it on
    the command line (the pages have a field for it and say so themselves)."""
    if error.code in _KIND_CODES:
        return f"{error.message}（以“类型=路径”指定，如 population=人口.csv）"
    return error.message


class RejectCode(StrEnum):
    """Why one row was not imported. The row keeps its number; the rest of the file imports."""

    MISSING_VALUE = "MISSING_VALUE"
    UNKNOWN_SCHEME = "UNKNOWN_SCHEME"
    UNKNOWN_STATUS = "UNKNOWN_STATUS"
    UNKNOWN_VALUE = "UNKNOWN_VALUE"
    BAD_DATE = "BAD_DATE"
    BAD_MONTH = "BAD_MONTH"
    BAD_REGION_CODE = "BAD_REGION_CODE"

    @property
    def message(self) -> str:
        return _REJECT_MESSAGES[self]


_REJECT_MESSAGES: Final[dict[RejectCode, str]] = {
    RejectCode.MISSING_VALUE: "必填项为空",
    RejectCode.UNKNOWN_SCHEME: "险种代码无法识别",
    RejectCode.UNKNOWN_STATUS: "状态无法识别",
    RejectCode.UNKNOWN_VALUE: "取值无法识别",
    RejectCode.BAD_DATE: "日期无法识别",
    RejectCode.BAD_MONTH: "年月无法识别",
    RejectCode.BAD_REGION_CODE: "行政区划代码无效",
}
