"""Citizen ID numbers (公民身份号码, GB 11643-1999).

An 18-character number is 6 digits of address code, 8 of birth date (YYYYMMDD), 3 of sequence
(odd for men) and a check character. Numbers issued before 1999 have 15 digits (2-digit year,
no check character); they are upgraded to 18 when normalised.

The checks run in a fixed precedence, which `duckdb_sql` mirrors exactly: EMPTY, BAD_LENGTH,
BAD_FORMAT stop the validation; BAD_PROVINCE, BAD_BIRTH_DATE and BAD_CHECK are independent of
each other and are all reported, in that order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from shebao.identity._issues import Issue, IssueCode, issue_of, today_in_china
from shebao.identity._text import id_number_translation
from shebao.identity.address_codes import is_known_address_code

__all__ = [
    "ID_CHECK_CHARS",
    "ID_WEIGHTS",
    "MIN_BIRTH_DATE",
    "PROVINCE_CODES",
    "Gender",
    "IdCheck",
    "IdErrorCode",
    "IdIssue",
    "IdWarning",
    "IdWarningCode",
    "age_on",
    "birth_date_of",
    "gender_of",
    "id_number_check_char",
    "is_valid_id_number",
    "normalize_id_number",
    "validate_id_number",
]


class IdErrorCode(IssueCode):
    """Declaration order is the precedence order (the first error SQL reports)."""

    EMPTY = "EMPTY"
    BAD_LENGTH = "BAD_LENGTH"
    BAD_FORMAT = "BAD_FORMAT"
    BAD_PROVINCE = "BAD_PROVINCE"
    BAD_BIRTH_DATE = "BAD_BIRTH_DATE"
    BAD_CHECK = "BAD_CHECK"

    @property
    def message(self) -> str:
        return _ERROR_MESSAGES[self]


class IdWarningCode(IssueCode):
    ADDRESS_CODE_UNKNOWN = "ADDRESS_CODE_UNKNOWN"

    @property
    def message(self) -> str:
        return _WARNING_MESSAGES[self]


_ERROR_MESSAGES: Final[dict[IdErrorCode, str]] = {
    IdErrorCode.EMPTY: "身份证号码为空",
    IdErrorCode.BAD_LENGTH: "长度应为18位（或15位旧号码）",
    IdErrorCode.BAD_FORMAT: "只能包含数字，末位可为X",
    IdErrorCode.BAD_PROVINCE: "省级行政区划代码无效",
    IdErrorCode.BAD_BIRTH_DATE: "出生日期无效",
    IdErrorCode.BAD_CHECK: "校验位错误",
}
_WARNING_MESSAGES: Final[dict[IdWarningCode, str]] = {
    IdWarningCode.ADDRESS_CODE_UNKNOWN: "地址码不在现行行政区划代码中，可能为历史代码",
}


class Gender(StrEnum):
    MALE = "M"
    FEMALE = "F"


IdIssue = Issue[IdErrorCode]
IdWarning = Issue[IdWarningCode]

ID_WEIGHTS: Final[tuple[int, ...]] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS: Final[str] = "10X98765432"
# The 2-digit codes of GB/T 2260 provinces, plus 71 (台湾), 81 (香港) and 82 (澳门).
PROVINCE_CODES: Final[frozenset[str]] = frozenset(
    (
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
        "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
        "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
    )
)  # fmt: skip
MIN_BIRTH_DATE: Final[date] = date(1900, 1, 1)

_TRANSLATION: Final[dict[int, str]] = str.maketrans(id_number_translation())
# Character classes are spelled [0-9] because `\d` would also accept other scripts' digits.
_FORMAT_RE: Final[re.Pattern[str]] = re.compile(r"[0-9]{17}[0-9X]")
_DIGITS_RE: Final[re.Pattern[str]] = re.compile(r"[0-9]+")


def id_number_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not _DIGITS_RE.fullmatch(first17):
        raise ValueError("身份证号码前17位必须为数字")
    total = sum(int(ch) * weight for ch, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def normalize_id_number(raw: str) -> str:
    """Canonical form: no whitespace, ASCII, upper-case X, 15-digit numbers upgraded to 18."""
    text = raw.translate(_TRANSLATION)
    if len(text) == 15 and _DIGITS_RE.fullmatch(text):
        # Old numbers were only issued to people born in the 1900s, hence the fixed "19".
        body = f"{text[:6]}19{text[6:]}"
        return body + id_number_check_char(body)
    return text


@dataclass(frozen=True, slots=True)
class IdCheck:
    """The outcome of validating one ID number.

    `birth_date` and `gender` are set whenever the birth-date part is valid, even if another
    check failed, so that callers can show what the number claims.
    """

    normalized: str
    errors: tuple[IdIssue, ...] = ()
    warnings: tuple[IdWarning, ...] = ()
    birth_date: date | None = None
    gender: Gender | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_codes(self) -> tuple[IdErrorCode, ...]:
        return tuple(item.code for item in self.errors)

    @property
    def first_error(self) -> IdErrorCode | None:
        return self.errors[0].code if self.errors else None

    def age_on(self, on: date) -> int:
        if self.birth_date is None:
            raise ValueError("身份证号码中的出生日期无效，无法计算年龄")
        return _age(self.birth_date, on)


def validate_id_number(raw: str, *, as_of: date | None = None) -> IdCheck:
    """Validate an ID number as typed; `as_of` (default: today in China) bounds the birth date."""
    normalized = normalize_id_number(raw)
    if not normalized:
        return IdCheck(normalized, errors=(issue_of(IdErrorCode.EMPTY),))
    if len(normalized) != 18:
        return IdCheck(normalized, errors=(issue_of(IdErrorCode.BAD_LENGTH),))
    if not _FORMAT_RE.fullmatch(normalized):
        return IdCheck(normalized, errors=(issue_of(IdErrorCode.BAD_FORMAT),))

    errors: list[IdIssue] = []
    warnings: list[IdWarning] = []
    if normalized[:2] not in PROVINCE_CODES:
        errors.append(issue_of(IdErrorCode.BAD_PROVINCE))
    elif not is_known_address_code(normalized[:6]):
        # Counties are merged and re-coded, but their residents keep their numbers, so an
        # unknown county is only a warning (python-stdnum rejects these).
        warnings.append(issue_of(IdWarningCode.ADDRESS_CODE_UNKNOWN))
    birth = _birth_date(normalized[6:14], as_of or today_in_china())
    if birth is None:
        errors.append(issue_of(IdErrorCode.BAD_BIRTH_DATE))
    if id_number_check_char(normalized[:17]) != normalized[17]:
        errors.append(issue_of(IdErrorCode.BAD_CHECK))

    return IdCheck(
        normalized,
        errors=tuple(errors),
        warnings=tuple(warnings),
        birth_date=birth,
        gender=None if birth is None else _gender(normalized[16]),
    )


def is_valid_id_number(raw: str, as_of: date | None = None) -> bool:
    return validate_id_number(raw, as_of=as_of).ok


def birth_date_of(raw: str, as_of: date | None = None) -> date | None:
    """The birth date of a valid ID number; None when the number is invalid in any way."""
    check = validate_id_number(raw, as_of=as_of)
    return check.birth_date if check.ok else None


def gender_of(raw: str, as_of: date | None = None) -> Gender | None:
    """The gender of a valid ID number; None when the number is invalid in any way."""
    check = validate_id_number(raw, as_of=as_of)
    return check.gender if check.ok else None


def age_on(id_number: str, on: date) -> int:
    """Age in full years (周岁) on a date; raises ValueError for an invalid number."""
    check = validate_id_number(id_number, as_of=on)
    if not check.ok:
        raise ValueError(f"身份证号码无效：{check.errors[0].message}")
    return check.age_on(on)


def _birth_date(yyyymmdd: str, as_of: date) -> date | None:
    try:
        birth = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return None
    return birth if MIN_BIRTH_DATE <= birth <= as_of else None


def _gender(sequence_digit: str) -> Gender:
    return Gender.MALE if int(sequence_digit) % 2 == 1 else Gender.FEMALE


def _age(birth: date, on: date) -> int:
    if on < birth:
        raise ValueError("日期早于出生日期")
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
