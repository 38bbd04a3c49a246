"""The shape every validator reports problems in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Generic, TypeVar


class IssueCode(StrEnum):
    """Base of the code enums. Values are stable strings (stored, compared in SQL); each
    subclass maps its members to the Chinese message shown to users."""

    @property
    def message(self) -> str:
        raise NotImplementedError


CodeT = TypeVar("CodeT", bound=IssueCode)


@dataclass(frozen=True, slots=True)
class Issue(Generic[CodeT]):
    """One problem found in an input: a stable machine code and a Chinese message for users."""

    code: CodeT
    message: str

    def __str__(self) -> str:
        return self.message


def issue_of(code: CodeT) -> Issue[CodeT]:
    return Issue(code, code.message)


# China has had no daylight saving time since 1991, so a fixed offset is exact and needs no
# tz database on the host.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def today_in_china() -> date:
    return datetime.now(CHINA_TZ).date()
