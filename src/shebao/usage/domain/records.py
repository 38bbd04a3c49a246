"""Card-use records (用卡记录) as terminals upload them: the services a card is used for, the
field each belongs to, and the parsing of one upload (JSON lines or CSV) into checked rows.

An upload is all or nothing: every bad row is reported (row number, field, why, in Chinese)
and nothing is imported while any row is bad. Sequence numbers are the terminal's own
(an offline transit validator counts its taps); (terminal, sequence) identifies a record, so
sending a batch again adds nothing.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, Final

from shebao.errors import ValidationFailed

__all__ = [
    "FIELD_LABELS",
    "MAX_ROWS",
    "SERVICE_FIELD",
    "SERVICE_LABELS",
    "CardForm",
    "UsageField",
    "UsageResult",
    "UsageRow",
    "UsageService",
    "parse_csv",
    "parse_json_lines",
    "parse_rows",
]

MAX_ROWS: Final[int] = 100_000
# Terminals without a time zone in their clock report Beijing time.
CHINA_TZ: Final[timezone] = timezone(timedelta(hours=8), "CST")


class UsageField(StrEnum):
    """The seed's fields of card use; the same codes as the partners' fields."""

    HUMAN_RESOURCES = "hr"
    MEDICAL = "medical"
    TRANSPORT = "transport"
    CULTURE_TOURISM = "culture_tourism"
    SPORTS = "sports"
    FINANCE = "finance"
    GOVERNMENT = "government"


FIELD_LABELS: Final[dict[str, str]] = {
    UsageField.HUMAN_RESOURCES: "人社",
    UsageField.MEDICAL: "医疗",
    UsageField.TRANSPORT: "交通",
    UsageField.CULTURE_TOURISM: "文旅",
    UsageField.SPORTS: "体育",
    UsageField.FINANCE: "金融",
    UsageField.GOVERNMENT: "政务",
}


class UsageService(StrEnum):
    MEDICAL_REGISTRATION = "medical_registration"
    MEDICAL_SETTLEMENT = "medical_settlement"
    PHARMACY_PURCHASE = "pharmacy_purchase"
    TRANSIT_RIDE = "transit_ride"
    LIBRARY_LOAN = "library_loan"
    MUSEUM_ENTRY = "museum_entry"
    SCENIC_ENTRY = "scenic_entry"
    VENUE_ENTRY = "venue_entry"
    GOVERNMENT_WINDOW = "government_window"
    HR_SERVICE = "hr_service"
    BANK_SERVICE = "bank_service"


SERVICE_LABELS: Final[dict[str, str]] = {
    UsageService.MEDICAL_REGISTRATION: "就医实名挂号",
    UsageService.MEDICAL_SETTLEMENT: "医保结算",
    UsageService.PHARMACY_PURCHASE: "药店购药",
    UsageService.TRANSIT_RIDE: "乘车",
    UsageService.LIBRARY_LOAN: "图书借阅",
    UsageService.MUSEUM_ENTRY: "博物馆入馆",
    UsageService.SCENIC_ENTRY: "景区入园",
    UsageService.VENUE_ENTRY: "场馆入场",
    UsageService.GOVERNMENT_WINDOW: "政务窗口办事",
    UsageService.HR_SERVICE: "人社业务办理",
    UsageService.BANK_SERVICE: "金融业务",
}

SERVICE_FIELD: Final[dict[str, UsageField]] = {
    UsageService.MEDICAL_REGISTRATION: UsageField.MEDICAL,
    UsageService.MEDICAL_SETTLEMENT: UsageField.MEDICAL,
    UsageService.PHARMACY_PURCHASE: UsageField.MEDICAL,
    UsageService.TRANSIT_RIDE: UsageField.TRANSPORT,
    UsageService.LIBRARY_LOAN: UsageField.CULTURE_TOURISM,
    UsageService.MUSEUM_ENTRY: UsageField.CULTURE_TOURISM,
    UsageService.SCENIC_ENTRY: UsageField.CULTURE_TOURISM,
    UsageService.VENUE_ENTRY: UsageField.SPORTS,
    UsageService.GOVERNMENT_WINDOW: UsageField.GOVERNMENT,
    UsageService.HR_SERVICE: UsageField.HUMAN_RESOURCES,
    UsageService.BANK_SERVICE: UsageField.FINANCE,
}


class CardForm(StrEnum):
    PHYSICAL = "physical"
    ECARD = "ecard"


CARD_FORM_LABELS: Final[dict[str, str]] = {CardForm.PHYSICAL: "实体卡", CardForm.ECARD: "电子卡"}


class UsageResult(StrEnum):
    OK = "ok"
    REFUSED = "refused"


RESULT_LABELS: Final[dict[str, str]] = {UsageResult.OK: "成功", UsageResult.REFUSED: "拒绝"}

# Column names accepted in CSV headers (English codes, or the Chinese column titles).
_COLUMNS: Final[dict[str, str]] = {
    "sequence": "sequence",
    "序号": "sequence",
    "终端流水号": "sequence",
    "occurred_at": "occurred_at",
    "时间": "occurred_at",
    "用卡时间": "occurred_at",
    "service": "service",
    "服务": "service",
    "服务项目": "service",
    "card_form": "card_form",
    "卡形态": "card_form",
    "card_number": "card_number",
    "卡号": "card_number",
    "result": "result",
    "结果": "result",
    "reason": "reason",
    "原因": "reason",
    "拒绝原因": "reason",
}
_REQUIRED: Final[tuple[str, ...]] = ("sequence", "occurred_at", "service", "card_form", "result")
_FIELD_NAMES: Final[dict[str, str]] = {
    "sequence": "序号",
    "occurred_at": "用卡时间",
    "service": "服务项目",
    "card_form": "卡形态",
    "card_number": "卡号",
    "result": "结果",
    "reason": "拒绝原因",
}
# Chinese labels accepted as values as well as the codes.
_SERVICE_BY_LABEL: Final[dict[str, str]] = {v: k for k, v in SERVICE_LABELS.items()}
_FORM_BY_LABEL: Final[dict[str, str]] = {v: k for k, v in CARD_FORM_LABELS.items()}
_RESULT_BY_LABEL: Final[dict[str, str]] = {v: k for k, v in RESULT_LABELS.items()}


@dataclass(frozen=True, slots=True)
class UsageRow:
    row: int
    sequence: int
    occurred_at: datetime
    service: UsageService
    card_form: CardForm
    card_number: str
    result: UsageResult
    reason: str

    @property
    def field(self) -> UsageField:
        return SERVICE_FIELD[self.service]


def _problem(row: int, field: str, why: str) -> dict[str, Any]:
    return {"row": row, "field": field, "message": f"第{row}行 {_FIELD_NAMES[field]}：{why}"}


def _parse_time(raw: str) -> datetime:
    value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA_TZ)
    return value.astimezone(UTC)


def _check(
    row: int, data: dict[str, Any], now: datetime
) -> tuple[UsageRow | None, list[dict[str, Any]]]:
    problems: list[dict[str, Any]] = []
    values = {k: ("" if data.get(k) is None else str(data.get(k)).strip()) for k in _FIELD_NAMES}
    for name in _REQUIRED:
        if not values[name]:
            problems.append(_problem(row, name, "不能为空"))
    if problems:
        return None, problems
    sequence = 0
    try:
        sequence = int(values["sequence"])
        if not 0 <= sequence < 2**63:
            raise ValueError
    except ValueError:
        problems.append(_problem(row, "sequence", f"“{values['sequence'][:20]}”不是非负整数"))
    occurred = now
    try:
        occurred = _parse_time(values["occurred_at"])
        if occurred > now + timedelta(minutes=10):
            problems.append(_problem(row, "occurred_at", "晚于当前时间"))
    except ValueError:
        problems.append(
            _problem(row, "occurred_at", f"“{values['occurred_at'][:32]}”不是 ISO 8601 时间")
        )
    service = _SERVICE_BY_LABEL.get(values["service"], values["service"])
    if service not in SERVICE_FIELD:
        problems.append(_problem(row, "service", f"未知的服务项目“{values['service'][:32]}”"))
    form = _FORM_BY_LABEL.get(values["card_form"], values["card_form"])
    if form not in CARD_FORM_LABELS:
        problems.append(_problem(row, "card_form", "应为 physical（实体卡）或 ecard（电子卡）"))
    result = _RESULT_BY_LABEL.get(values["result"], values["result"])
    if result not in RESULT_LABELS:
        problems.append(_problem(row, "result", "应为 ok（成功）或 refused（拒绝）"))
    elif result == UsageResult.REFUSED and not values["reason"]:
        problems.append(_problem(row, "reason", "拒绝的记录须写明原因"))
    card_number = values["card_number"].upper()
    if len(card_number) > 9:
        problems.append(_problem(row, "card_number", "长度不正确"))
    if len(values["reason"]) > 64:
        problems.append(_problem(row, "reason", "不超过64个字"))
    if problems:
        return None, problems
    return (
        UsageRow(
            row=row,
            sequence=sequence,
            occurred_at=occurred,
            service=UsageService(service),
            card_form=CardForm(form),
            card_number=card_number,
            result=UsageResult(result),
            reason=values["reason"] if result == UsageResult.REFUSED else "",
        ),
        [],
    )


def parse_rows(records: list[tuple[int, dict[str, Any]]], *, now: datetime) -> list[UsageRow]:
    """Checked rows from (row number, mapping) pairs; raises `ValidationFailed` listing every
    problem (at most the first 50 in `details`) when any row is bad or a sequence number
    appears twice."""
    if not records:
        raise ValidationFailed("上传内容为空", code="USAGE_EMPTY")
    if len(records) > MAX_ROWS:
        raise ValidationFailed(f"一次最多上传 {MAX_ROWS} 条记录", code="USAGE_TOO_MANY")
    rows: list[UsageRow] = []
    problems: list[dict[str, Any]] = []
    first_row_of: dict[int, int] = {}
    for number, data in records:
        row, found = _check(number, data, now)
        problems.extend(found)
        if row is None:
            continue
        if row.sequence in first_row_of:
            problems.append(_problem(number, "sequence", f"与第{first_row_of[row.sequence]}行重复"))
            continue
        first_row_of[row.sequence] = number
        rows.append(row)
    if problems:
        raise ValidationFailed(
            f"{len(problems)}处错误，未导入任何记录。{problems[0]['message']}",
            code="USAGE_BAD_ROWS",
            details=problems[:50],
        )
    return rows


def parse_json_lines(text: str, *, now: datetime) -> list[UsageRow]:
    """One JSON object per line (blank lines skipped); row numbers are line numbers."""
    records: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise ValidationFailed(
                f"第{number}行不是一个 JSON 对象，未导入任何记录", code="USAGE_BAD_JSON"
            )
        records.append((number, value))
    return parse_rows(records, now=now)


def parse_csv(text: str, *, now: datetime) -> list[UsageRow]:
    """A CSV with a header row (English codes or Chinese titles); row numbers count the
    header as row 1, as a spreadsheet shows them."""
    # newline="": the csv module sees the line ends itself, so a terminal that ends lines
    # with a bare CR (old offline terminals do) is read as rows, not refused as one field.
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _parse_csv_rows(reader, now=now)
    except csv.Error as error:
        raise ValidationFailed(
            f"第 {reader.line_num} 行不是有效的 CSV（引号或换行不成对）",
            code="USAGE_BAD_CSV",
        ) from error


def _parse_csv_rows(reader: Any, *, now: datetime) -> list[UsageRow]:
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed("上传内容为空", code="USAGE_EMPTY") from None
    names = [_COLUMNS.get(h.strip()) for h in header]
    missing = [_FIELD_NAMES[c] for c in _REQUIRED if c not in names]
    if missing:
        raise ValidationFailed(f"表头缺少列：{'、'.join(missing)}", code="USAGE_BAD_HEADER")
    records: list[tuple[int, dict[str, Any]]] = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        records.append(
            (number, {n: v for n, v in zip(names, cells, strict=False) if n is not None})
        )
    return parse_rows(records, now=now)
