"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters: registration authority (1), entity type (1), registering region code (6 digits),
organisation code (9) and a check character, all from a 31-character alphabet that leaves out
I, O, Z, S and V (too easily confused with 1, 0, 2, 5 and U).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from shebao.identity._issues import Issue, IssueCode, issue_of
from shebao.identity._text import INVISIBLE_CHARS, fold_full_width

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "CREDIT_CODE_WEIGHTS",
    "CreditCodeCheck",
    "CreditCodeErrorCode",
    "CreditCodeIssue",
    "credit_code_check_char",
    "is_valid_credit_code",
    "normalize_credit_code",
    "validate_credit_code",
]

CREDIT_CODE_ALPHABET: Final[str] = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS: Final[tuple[int, ...]] = (
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
)  # fmt: skip

_VALUES: Final[dict[str, int]] = {ch: i for i, ch in enumerate(CREDIT_CODE_ALPHABET)}
_ALPHABET_CLASS: Final[str] = "[0-9A-HJ-NPQRTUWXY]"
# Positions 1-2 (authority, entity type) may be letters since authorities such as 农业 (N)
# joined the scheme; positions 3-8 are the region code, which is always numeric.
_FORMAT_RE: Final[re.Pattern[str]] = re.compile(
    f"{_ALPHABET_CLASS}{{2}}[0-9]{{6}}{_ALPHABET_CLASS}{{10}}"
)
_DELETE_INVISIBLE: Final[dict[int, None]] = dict.fromkeys(map(ord, INVISIBLE_CHARS))


class CreditCodeErrorCode(IssueCode):
    EMPTY = "EMPTY"
    BAD_LENGTH = "BAD_LENGTH"
    BAD_FORMAT = "BAD_FORMAT"
    BAD_CHECK = "BAD_CHECK"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES: Final[dict[CreditCodeErrorCode, str]] = {
    CreditCodeErrorCode.EMPTY: "统一社会信用代码为空",
    CreditCodeErrorCode.BAD_LENGTH: "统一社会信用代码长度应为18位",
    CreditCodeErrorCode.BAD_FORMAT: (
        "统一社会信用代码只能包含数字和大写字母（不含I、O、Z、S、V），第3至8位应为数字"
    ),
    CreditCodeErrorCode.BAD_CHECK: "统一社会信用代码校验位错误",
}

CreditCodeIssue = Issue[CreditCodeErrorCode]


@dataclass(frozen=True, slots=True)
class CreditCodeCheck:
    normalized: str
    errors: tuple[CreditCodeIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_codes(self) -> tuple[CreditCodeErrorCode, ...]:
        return tuple(item.code for item in self.errors)

    @property
    def first_error(self) -> CreditCodeErrorCode | None:
        return self.errors[0].code if self.errors else None


def normalize_credit_code(raw: str) -> str:
    """No whitespace, ASCII, upper case. Letters I/O/Z/S/V are not mapped to look-alike
    digits: a guess could turn a typo into another organisation's valid code."""
    return fold_full_width(raw.translate(_DELETE_INVISIBLE)).upper()


def credit_code_check_char(body17: str) -> str:
    """The check character for the first 17 characters of a credit code."""
    if len(body17) != 17 or any(ch not in _VALUES for ch in body17):
        raise ValueError("统一社会信用代码前17位只能包含数字和大写字母（不含I、O、Z、S、V）")
    total = sum(
        _VALUES[ch] * weight for ch, weight in zip(body17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(raw: str) -> CreditCodeCheck:
    normalized = normalize_credit_code(raw)
    if not normalized:
        return _failed(normalized, CreditCodeErrorCode.EMPTY)
    if len(normalized) != 18:
        return _failed(normalized, CreditCodeErrorCode.BAD_LENGTH)
    if not _FORMAT_RE.fullmatch(normalized):
        return _failed(normalized, CreditCodeErrorCode.BAD_FORMAT)
    if credit_code_check_char(normalized[:17]) != normalized[17]:
        return _failed(normalized, CreditCodeErrorCode.BAD_CHECK)
    return CreditCodeCheck(normalized)


def is_valid_credit_code(raw: str) -> bool:
    return validate_credit_code(raw).ok


def _failed(normalized: str, code: CreditCodeErrorCode) -> CreditCodeCheck:
    return CreditCodeCheck(normalized, errors=(issue_of(code),))
