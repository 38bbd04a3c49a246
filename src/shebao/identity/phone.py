"""Mainland China mobile phone numbers: 11 digits, 1 then 3-9."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from shebao.identity._issues import Issue, IssueCode, issue_of
from shebao.identity._text import INVISIBLE_CHARS, fold_full_width

__all__ = [
    "PhoneCheck",
    "PhoneErrorCode",
    "PhoneIssue",
    "is_valid_mobile",
    "normalize_mobile",
    "validate_mobile",
]

# Separators people type inside phone numbers; full-width forms are folded to ASCII first.
_SEPARATORS: Final[str] = INVISIBLE_CHARS + "-‐‑‒–—―()."
_DELETE_SEPARATORS: Final[dict[int, None]] = dict.fromkeys(map(ord, _SEPARATORS))
_DIGITS_RE: Final[re.Pattern[str]] = re.compile(r"[0-9]+")
_MOBILE_RE: Final[re.Pattern[str]] = re.compile(r"1[3-9][0-9]{9}")


class PhoneErrorCode(IssueCode):
    EMPTY = "EMPTY"
    BAD_FORMAT = "BAD_FORMAT"
    BAD_LENGTH = "BAD_LENGTH"
    BAD_PREFIX = "BAD_PREFIX"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES: Final[dict[PhoneErrorCode, str]] = {
    PhoneErrorCode.EMPTY: "手机号码为空",
    PhoneErrorCode.BAD_FORMAT: "手机号码格式不正确：只能包含数字",
    PhoneErrorCode.BAD_LENGTH: "手机号码格式不正确：应为11位数字",
    PhoneErrorCode.BAD_PREFIX: "手机号码格式不正确：应以13至19开头",
}

PhoneIssue = Issue[PhoneErrorCode]


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    normalized: str
    errors: tuple[PhoneIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_codes(self) -> tuple[PhoneErrorCode, ...]:
        return tuple(item.code for item in self.errors)

    @property
    def first_error(self) -> PhoneErrorCode | None:
        return self.errors[0].code if self.errors else None


def normalize_mobile(raw: str) -> str:
    """Digits only, without separators or the country code (+86, 0086, 86)."""
    text = fold_full_width(raw).translate(_DELETE_SEPARATORS)
    if text.startswith("+86"):
        return text[3:]
    if text.startswith("0086"):
        return text[4:]
    # A bare 86 is only a country code when what follows is a whole mobile number; otherwise
    # it could be the start of some other (invalid) input that should be reported as typed.
    if text.startswith("86") and len(text) == 13 and _MOBILE_RE.fullmatch(text[2:]):
        return text[2:]
    return text


def validate_mobile(raw: str) -> PhoneCheck:
    normalized = normalize_mobile(raw)
    if not normalized:
        return _failed(normalized, PhoneErrorCode.EMPTY)
    if not _DIGITS_RE.fullmatch(normalized):
        return _failed(normalized, PhoneErrorCode.BAD_FORMAT)
    if len(normalized) != 11:
        return _failed(normalized, PhoneErrorCode.BAD_LENGTH)
    if not _MOBILE_RE.fullmatch(normalized):
        return _failed(normalized, PhoneErrorCode.BAD_PREFIX)
    return PhoneCheck(normalized)


def is_valid_mobile(raw: str) -> bool:
    return validate_mobile(raw).ok


def _failed(normalized: str, code: PhoneErrorCode) -> PhoneCheck:
    return PhoneCheck(normalized, errors=(issue_of(code),))
