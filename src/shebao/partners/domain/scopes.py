"""What a partner may learn about a person: the granted fields and services, and the one
function that cuts a person's data down to them.

A partner's grant is two sets of codes. `verified` (yes/no) is always answered: it is the
service itself. Every other field is returned only when granted, and absent (not null)
otherwise, so that a partner's code cannot come to rely on a field it was never given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Final

from shebao.errors import ValidationFailed

__all__ = [
    "FIELD_LABELS",
    "SERVICE_LABELS",
    "PartnerService",
    "PersonField",
    "fields_allowed",
    "parse_fields",
    "parse_services",
]


class PersonField(StrEnum):
    """Person data a partner may be granted, beyond the yes/no answer."""

    MASKED_NAME = "masked_name"
    FULL_NAME = "full_name"
    GENDER = "gender"
    BIRTH_DATE = "birth_date"
    CARD_NUMBER = "card_number"
    CARD_STATUS = "card_status"
    LIFE_STATUS = "life_status"
    MASKED_ID_NUMBER = "masked_id_number"


class PartnerService(StrEnum):
    """What a partner's terminals may call."""

    VERIFY = "verify"
    REDEEM_QR = "redeem_qr"
    UPLOAD_USAGE = "upload_usage"
    CHANGE_FEED = "change_feed"


FIELD_LABELS: Final[dict[str, str]] = {
    PersonField.MASKED_NAME: "姓名（脱敏）",
    PersonField.FULL_NAME: "姓名（完整）",
    PersonField.GENDER: "性别",
    PersonField.BIRTH_DATE: "出生日期",
    PersonField.CARD_NUMBER: "社保卡号",
    PersonField.CARD_STATUS: "卡状态",
    PersonField.LIFE_STATUS: "人员状态（正常/死亡）",
    PersonField.MASKED_ID_NUMBER: "身份证号（脱敏）",
}

SERVICE_LABELS: Final[dict[str, str]] = {
    PartnerService.VERIFY: "实名核验",
    PartnerService.REDEEM_QR: "电子社保卡扫码",
    PartnerService.UPLOAD_USAGE: "上传用卡记录",
    PartnerService.CHANGE_FEED: "人员变更通知",
}


def _parse(values: Iterable[str], known: type[StrEnum], what: str) -> list[str]:
    out: list[str] = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        if value not in known.__members__.values():
            raise ValidationFailed(f"未知的{what}“{value}”", code="SCOPE_UNKNOWN")
        if value not in out:
            out.append(value)
    return sorted(out)


def parse_fields(values: Iterable[str]) -> list[str]:
    """Validated, de-duplicated, sorted field codes (raises on an unknown code)."""
    return _parse(values, PersonField, "授权字段")


def parse_services(values: Iterable[str]) -> list[str]:
    """Validated, de-duplicated, sorted service codes (raises on an unknown code)."""
    return _parse(values, PartnerService, "授权服务")


def fields_allowed(data: Mapping[str, Any], granted: Iterable[str]) -> dict[str, Any]:
    """Only the granted fields of `data` (a person's data keyed by `PersonField` values).
    A key that is not a known field is never passed through, whatever the grant says."""
    allowed = set(granted) & set(PersonField.__members__.values())
    return {key: value for key, value in data.items() if key in allowed}
