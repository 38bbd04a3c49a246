"""Parsing card-use uploads: every bad row named with its field in Chinese, nothing kept
when any row is bad, Beijing time when a terminal gives none, codes or Chinese labels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shebao.errors import ValidationFailed
from shebao.usage.domain.records import (
    SERVICE_FIELD,
    SERVICE_LABELS,
    UsageField,
    UsageService,
    parse_csv,
    parse_json_lines,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_every_service_has_a_field_and_a_label() -> None:
    assert set(SERVICE_FIELD) == set(UsageService) == set(SERVICE_LABELS)
    assert SERVICE_FIELD[UsageService.TRANSIT_RIDE] is UsageField.TRANSPORT


def test_json_lines_with_and_without_offset() -> None:
    rows = parse_json_lines(
        '{"sequence": 1, "occurred_at": "2026-12-01T08:00:00", "service": "library_loan",'
        ' "card_form": "ecard", "result": "ok"}\n\n'
        '{"sequence": 2, "occurred_at": "2026-12-01T00:30:00Z", "service": "乘车",'
        ' "card_form": "实体卡", "card_number": "a1234567x", "result": "成功"}\n',
        now=NOW,
    )
    assert [r.sequence for r in rows] == [1, 2]
    assert rows[0].occurred_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 Beijing
    assert rows[0].field is UsageField.CULTURE_TOURISM
    assert rows[1].service is UsageService.TRANSIT_RIDE and rows[1].card_number == "A1234567X"


def test_a_line_that_is_not_an_object_is_named() -> None:
    with pytest.raises(ValidationFailed, match="第2行不是一个 JSON 对象"):
        parse_json_lines('{"sequence": 1}\n[1, 2]\n', now=NOW)


def test_all_problems_are_listed_row_by_row() -> None:
    text = (
        "sequence,occurred_at,service,card_form,result,reason\n"
        "x,2026-12-01T08:00:00,transit_ride,physical,ok,\n"
        "2,2027-01-01T08:00:00,transit_ride,physical,ok,\n"
        "3,2026-12-01T08:00:00,transit_ride,physical,maybe,\n"
        "4,,transit_ride,physical,ok,\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        parse_csv(text, now=NOW)
    assert [d["message"] for d in caught.value.details] == [
        "第2行 序号：“x”不是非负整数",
        "第3行 用卡时间：晚于当前时间",
        "第4行 结果：应为 ok（成功）或 refused（拒绝）",
        "第5行 用卡时间：不能为空",
    ]
    assert caught.value.message.startswith("4处错误，未导入任何记录。")


def test_a_header_without_required_columns_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="表头缺少列：用卡时间、服务项目"):
        parse_csv("序号,卡形态,结果\n1,实体卡,成功\n", now=NOW)


def test_an_empty_upload_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="上传内容为空"):
        parse_json_lines("\n\n", now=NOW)
