"""Checking the rows of a work-plan file (工作计划表, seed 001's attachment).

    序号, 工作事项, 具体任务, 牵头单位, 配合单位, 完成时限, 备注, 状态

The seed's table merges 序号 and 工作事项 over the tasks of one item: a row that leaves both
empty continues the item above. 配合单位 lists organisations separated by "、" (or ",", "；");
words like "各镇（街）" name every organisation of a kind in the plan's area (`GROUP_WORDS`).
完成时限 is a date ("2013年7月8日", "2013-07-08") or a month ("2013年8月", "2013年7月底前"),
which means its last day; it may be empty. 状态 is 未开始/进行中/已完成 (empty: 未开始).

Organisation names are only split and cleaned here; the service looks them up. Every bad
cell becomes a `PlanRowError` with the row as a spreadsheet numbers it (the header is 1).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from shebao.reports.domain.rows import RawTable, RowError

__all__ = [
    "GROUP_LABELS",
    "GROUP_WORDS",
    "MAX_ITEM_LENGTH",
    "MAX_NOTE_LENGTH",
    "STATUS_LABELS",
    "WORK_PLAN_COLUMNS",
    "PlanErrorCode",
    "PlanParseResult",
    "PlanReference",
    "PlanRow",
    "PlanRowError",
    "clean_name",
    "due_text_of",
    "error_order",
    "parse_due",
    "parse_work_plan",
    "split_organisations",
]

WORK_PLAN_COLUMNS: Final[tuple[str, ...]] = (
    "序号",
    "工作事项",
    "具体任务",
    "牵头单位",
    "配合单位",
    "完成时限",
    "备注",
    "状态",
)
MAX_ITEM_LENGTH: Final[int] = 100
MAX_NOTE_LENGTH: Final[int] = 255
MAX_TASK_LENGTH: Final[int] = 2000
MAX_DUE_TEXT_LENGTH: Final[int] = 32

# Status codes (as stored) by the words a file uses.
STATUS_LABELS: Final[dict[str, str]] = {
    "not_started": "未开始",
    "in_progress": "进行中",
    "done": "已完成",
}
_STATUS_BY_WORD: Final[dict[str, str]] = {label: code for code, label in STATUS_LABELS.items()}

# Words for "every organisation of a kind in the plan's area", after `clean_name` (half-width
# brackets, no spaces), to organisation kinds (accounts.choices.OrganisationKind values).
GROUP_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "各职能部门": ("department",),
    "职能部门": ("department",),
    "各职能部门及事业单位": ("department", "public_institution"),
    "各事业单位": ("public_institution",),
    "事业单位": ("public_institution",),
    "各镇(街)": ("town_office",),
    "镇(街)": ("town_office",),
    "各镇街": ("town_office",),
    "各村(居)委": ("village_committee",),
    "村(居)委": ("village_committee",),
    "各村居委": ("village_committee",),
}
# How an export writes each kind back.
GROUP_LABELS: Final[dict[str, str]] = {
    "department": "各职能部门",
    "public_institution": "各事业单位",
    "town_office": "各镇（街）",
    "village_committee": "各村（居）委",
}


class PlanErrorCode(StrEnum):
    FILE_EMPTY = "FILE_EMPTY"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    COLUMN_MISSING = "COLUMN_MISSING"
    COLUMN_DUPLICATE = "COLUMN_DUPLICATE"
    NUMBER_INVALID = "NUMBER_INVALID"
    NUMBER_MISSING = "NUMBER_MISSING"
    ITEM_MISSING = "ITEM_MISSING"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    TASK_MISSING = "TASK_MISSING"
    LEAD_MISSING = "LEAD_MISSING"
    LEAD_UNKNOWN = "LEAD_UNKNOWN"
    ORGANISATION_UNKNOWN = "ORGANISATION_UNKNOWN"
    ORGANISATION_AMBIGUOUS = "ORGANISATION_AMBIGUOUS"
    DUE_DATE_INVALID = "DUE_DATE_INVALID"
    STATUS_INVALID = "STATUS_INVALID"


class PlanRowError(RowError):
    """A rejected cell or row of a work-plan file (its code is a `PlanErrorCode`)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class PlanRow:
    row: int
    number: int
    item: str
    task: str
    lead: str
    cooperating: tuple[str, ...]  # organisation names or codes, as written
    groups: tuple[str, ...]  # organisation kinds cooperating as a whole
    due_date: date | None
    due_text: str
    note: str
    status: str  # a key of STATUS_LABELS


@dataclass(frozen=True, slots=True)
class PlanReference:
    """The organisations a row names, whether or not the row is otherwise valid (so that
    an unknown organisation is reported together with the row's other errors)."""

    row: int
    lead: str
    cooperating: tuple[str, ...]


@dataclass(slots=True)
class PlanParseResult:
    rows: list[PlanRow] = field(default_factory=list)
    errors: list[PlanRowError] = field(default_factory=list)
    references: list[PlanReference] = field(default_factory=list)


def error_order(error: PlanRowError) -> tuple[int, int]:
    """Errors by row, then in the order of the columns."""
    columns = WORK_PLAN_COLUMNS
    return error.row, columns.index(error.column) if error.column in columns else len(columns)


class _BadCell(Exception):
    def __init__(self, code: PlanErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_HEADER_NOTE = re.compile(r"\s*[（(][^（()）]*[)）]\s*$")
_SEPARATORS = re.compile(r"[、,，;；/\n]+")
_INTEGER = re.compile(r"^\d+$")
_DAY_FORMS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日(?:前|之前)?$"),
)
# "2013年8月", "2013年7月底", "2013年7月底前", "2013年10月底之前", "2013-08".
_MONTH_FORMS = (
    re.compile(r"^(\d{4})年(\d{1,2})月(?:份)?(?:底|末)?(?:前|之前)?$"),
    re.compile(r"^(\d{4})-(\d{1,2})$"),
)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFKC", str(value)).strip()


def _plain(value: object) -> str:
    """Free text as written: stripped, but its full-width punctuation kept (NFKC would turn
    "，" into "," in a sentence)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def clean_name(name: str) -> str:
    """An organisation name as compared: NFKC (half-width brackets), no whitespace."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def _header(text: str) -> str:
    return _HEADER_NOTE.sub("", unicodedata.normalize("NFKC", text).strip())


def parse_due(value: object) -> tuple[date | None, str]:
    """(the deadline, its wording) from a cell; a month means its last day."""
    if isinstance(value, datetime):
        return value.date(), value.date().isoformat()
    if isinstance(value, date):
        return value, value.isoformat()
    text = "".join(_text(value).split())
    if text == "":
        return None, ""
    for form in _DAY_FORMS:
        match = form.match(text)
        if match:
            try:
                day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                break
            return day, text
    else:
        for form in _MONTH_FORMS:
            match = form.match(text)
            if match:
                year, month = int(match.group(1)), int(match.group(2))
                if 1 <= month <= 12 and 2000 <= year <= 2099:
                    return date(year, month, calendar.monthrange(year, month)[1]), text
    raise _BadCell(
        PlanErrorCode.DUE_DATE_INVALID,
        f"完成时限“{text}”应为日期或月份，如“2013年7月8日”“2013年8月”“2013年7月底前”",
    )


def due_text_of(due_date: date | None, due_text: str) -> str:
    """What an export writes: the wording the plan used, else the date."""
    if due_text:
        return due_text
    return "" if due_date is None else f"{due_date.year}年{due_date.month}月{due_date.day}日"


def split_organisations(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(organisation names, group kinds) from a 配合单位 cell, in order, without repeats."""
    cleaned = clean_name(text)
    if cleaned in GROUP_WORDS:
        return (), GROUP_WORDS[cleaned]
    names: list[str] = []
    kinds: list[str] = []
    for part in _SEPARATORS.split(cleaned):
        if not part:
            continue
        if part in GROUP_WORDS:
            kinds.extend(k for k in GROUP_WORDS[part] if k not in kinds)
        elif part not in names:
            names.append(part)
    return tuple(names), tuple(kinds)


def _limited(text: str, column: str, limit: int) -> str:
    if len(text) > limit:
        raise _BadCell(PlanErrorCode.TEXT_TOO_LONG, f"{column}过长（不超过{limit}个字）")
    return text


def _columns(table: RawTable) -> tuple[dict[str, int], list[PlanRowError]]:
    positions: dict[str, int] = {}
    errors: list[PlanRowError] = []
    for index, raw in enumerate(table.headers):
        name = _header(raw)
        if name in WORK_PLAN_COLUMNS:
            if name in positions:
                errors.append(
                    PlanRowError(1, name, PlanErrorCode.COLUMN_DUPLICATE, f"表头中“{name}”列重复")
                )
            positions[name] = index
    for name in WORK_PLAN_COLUMNS:
        # 状态 may be left out of a plan that has not started; the rest are the contract.
        if name not in positions and name != "状态":
            errors.append(
                PlanRowError(
                    1,
                    name,
                    PlanErrorCode.COLUMN_MISSING,
                    f"缺少“{name}”列（表头应为：{'、'.join(WORK_PLAN_COLUMNS)}）",
                )
            )
    return positions, errors


def parse_work_plan(table: RawTable) -> PlanParseResult:
    result = PlanParseResult()
    positions, errors = _columns(table)
    if errors:
        result.errors = errors
        return result
    if not table.rows:
        result.errors = [PlanRowError(0, "", PlanErrorCode.FILE_EMPTY, "文件中没有数据行")]
        return result

    previous: tuple[int, str] | None = None  # (序号, 工作事项) of the row above
    for number, cells in table.rows:
        parsed, row_errors, previous = _parse_row(positions, number, cells, previous)
        lead, names = _references(positions, cells)
        if lead or names:
            result.references.append(PlanReference(number, lead, names))
        if parsed is None:
            result.errors.extend(row_errors)
        else:
            result.rows.append(parsed)
    return result


def _references(
    positions: dict[str, int], cells: tuple[object, ...]
) -> tuple[str, tuple[str, ...]]:
    def raw(column: str) -> object:
        index = positions.get(column)
        return cells[index] if index is not None and index < len(cells) else None

    lead = clean_name(_text(raw("牵头单位")))
    if lead in GROUP_WORDS or _SEPARATORS.search(lead):
        lead = ""  # reported by the row's own checks
    return lead, split_organisations(_text(raw("配合单位")))[0]


def _parse_row(
    positions: dict[str, int],
    number: int,
    cells: tuple[object, ...],
    previous: tuple[int, str] | None,
) -> tuple[PlanRow | None, list[PlanRowError], tuple[int, str] | None]:
    """One row: (the row or None, its errors, the (序号, 工作事项) the next row continues)."""
    row_errors: list[PlanRowError] = []

    def raw(column: str) -> object:
        index = positions.get(column)
        return cells[index] if index is not None and index < len(cells) else None

    def bad(column: str, exc: _BadCell) -> None:
        row_errors.append(PlanRowError(number, column, exc.code, exc.message))

    seq_text = _text(raw("序号"))
    item = _plain(raw("工作事项"))
    seq: int | None = None
    if seq_text == "" and item == "":
        if previous is None:
            row_errors.append(
                PlanRowError(
                    number, "序号", PlanErrorCode.NUMBER_MISSING, "第一行须填写序号和工作事项"
                )
            )
        else:
            seq, item = previous
    else:
        if not _INTEGER.match(seq_text) or not 1 <= int(seq_text) <= 9999:
            row_errors.append(
                PlanRowError(
                    number,
                    "序号",
                    PlanErrorCode.NUMBER_INVALID,
                    f"序号“{seq_text}”应为正整数" if seq_text else "序号不能为空",
                )
            )
        else:
            seq = int(seq_text)
        if item == "":
            if previous is not None and seq == previous[0]:
                item = previous[1]
            else:
                row_errors.append(
                    PlanRowError(number, "工作事项", PlanErrorCode.ITEM_MISSING, "工作事项不能为空")
                )
    try:
        item = _limited(item, "工作事项", MAX_ITEM_LENGTH)
    except _BadCell as exc:
        bad("工作事项", exc)

    task = _plain(raw("具体任务"))
    if task == "":
        row_errors.append(
            PlanRowError(number, "具体任务", PlanErrorCode.TASK_MISSING, "具体任务不能为空")
        )
    try:
        task = _limited(task, "具体任务", MAX_TASK_LENGTH)
    except _BadCell as exc:
        bad("具体任务", exc)

    lead = clean_name(_text(raw("牵头单位")))
    if lead == "":
        row_errors.append(
            PlanRowError(number, "牵头单位", PlanErrorCode.LEAD_MISSING, "牵头单位不能为空")
        )
    elif lead in GROUP_WORDS or _SEPARATORS.search(lead):
        row_errors.append(
            PlanRowError(
                number,
                "牵头单位",
                PlanErrorCode.LEAD_UNKNOWN,
                f"牵头单位“{lead}”应为一个具体单位",
            )
        )
    names, kinds = split_organisations(_text(raw("配合单位")))

    due: date | None = None
    due_text = ""
    try:
        due, due_text = parse_due(raw("完成时限"))
        due_text = _limited(due_text, "完成时限", MAX_DUE_TEXT_LENGTH)
    except _BadCell as exc:
        bad("完成时限", exc)

    note = _plain(raw("备注"))
    try:
        note = _limited(note, "备注", MAX_NOTE_LENGTH)
    except _BadCell as exc:
        bad("备注", exc)

    status_word = "".join(_text(raw("状态")).split())
    status = _STATUS_BY_WORD.get(status_word or "未开始")
    if status is None:
        status = "not_started"
        row_errors.append(
            PlanRowError(
                number,
                "状态",
                PlanErrorCode.STATUS_INVALID,
                f"状态“{status_word}”应为：{'、'.join(STATUS_LABELS.values())}",
            )
        )

    if seq is not None and item:
        previous = (seq, item)
    if row_errors or seq is None:
        return None, row_errors, previous
    return (
        PlanRow(
            row=number,
            number=seq,
            item=item,
            task=task,
            lead=lead,
            cooperating=names,
            groups=kinds,
            due_date=due,
            due_text=due_text,
            note=note,
            status=status,
        ),
        row_errors,
        previous,
    )
