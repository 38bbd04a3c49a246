"""Personal names as written on ID cards: simplified Chinese, no spaces, `·` between the parts
of transliterated names (买买提·艾力). Foreign names in Latin letters are opt-in."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

from opencc import OpenCC

from shebao.identity._issues import Issue, IssueCode, issue_of
from shebao.identity._text import WHITESPACE_CHARS, fold_full_width

__all__ = [
    "MAX_CHINESE_NAME_LENGTH",
    "MAX_FOREIGN_NAME_LENGTH",
    "MIDDLE_DOT",
    "NameCheck",
    "NameErrorCode",
    "NameIssue",
    "is_valid_name",
    "normalize_name",
    "validate_name",
]

MIDDLE_DOT: Final[str] = "·"
MAX_CHINESE_NAME_LENGTH: Final[int] = 30
MAX_FOREIGN_NAME_LENGTH: Final[int] = 100

# Look-alikes of the middle dot that input methods and fonts produce. U+FF0E (full-width
# full stop) is not listed: full-width folding has already turned it into "." by then.
_DOT_VARIANTS: Final[str] = "\u00b7\u2022\u2027\u30fb\uff65\u0387\u22c5\u2219"
_ZERO_WIDTH: Final[str] = "\u200b\u200c\u200d\u2060\ufeff"
_DELETE_ZERO_WIDTH: Final[dict[int, None]] = dict.fromkeys(map(ord, _ZERO_WIDTH))
_DELETE_WHITESPACE: Final[dict[int, None]] = dict.fromkeys(map(ord, WHITESPACE_CHARS))
_WHITESPACE_RUN_RE: Final[re.Pattern[str]] = re.compile(f"[{re.escape(WHITESPACE_CHARS)}]+")
_DOTS_TO_MIDDLE: Final[dict[int, str]] = dict.fromkeys(map(ord, _DOT_VARIANTS + "."), MIDDLE_DOT)
_DOTS_TO_MIDDLE_KEEP_PERIOD: Final[dict[int, str]] = dict.fromkeys(
    map(ord, _DOT_VARIANTS), MIDDLE_DOT
)
_REPEATED_DOTS_RE: Final[re.Pattern[str]] = re.compile(f"{MIDDLE_DOT}{{2,}}")

# Han ideographs: unified blocks, extensions A-I, compatibility blocks, and 〇 (used in names).
_HAN_RANGES: Final[tuple[tuple[int, int], ...]] = (
    (0x3007, 0x3007),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2EE5F),
    (0x2F800, 0x2FA1F),
    (0x30000, 0x323AF),
)
_FOREIGN_PUNCTUATION: Final[frozenset[str]] = frozenset(" -'.")


class NameErrorCode(IssueCode):
    EMPTY = "EMPTY"
    HAS_DIGIT = "HAS_DIGIT"
    HAS_LATIN = "HAS_LATIN"
    BAD_CHARACTER = "BAD_CHARACTER"
    TOO_LONG = "TOO_LONG"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES: Final[dict[NameErrorCode, str]] = {
    NameErrorCode.EMPTY: "姓名不能为空",
    NameErrorCode.HAS_DIGIT: "姓名不能包含数字",
    NameErrorCode.HAS_LATIN: "姓名不能包含英文字母",
    NameErrorCode.BAD_CHARACTER: "姓名包含无效字符（如标点符号或特殊符号）",
    NameErrorCode.TOO_LONG: (
        f"姓名过长：中文姓名不超过{MAX_CHINESE_NAME_LENGTH}个字，"
        f"外文姓名不超过{MAX_FOREIGN_NAME_LENGTH}个字符"
    ),
}

NameIssue = Issue[NameErrorCode]


@dataclass(frozen=True, slots=True)
class NameCheck:
    normalized: str
    errors: tuple[NameIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_codes(self) -> tuple[NameErrorCode, ...]:
        return tuple(item.code for item in self.errors)

    @property
    def first_error(self) -> NameErrorCode | None:
        return self.errors[0].code if self.errors else None


def normalize_name(raw: str, *, foreign: bool = False) -> str:
    """Canonical form of a name.

    Chinese names lose all whitespace (they have none inside) and become simplified. With
    `foreign=True`, a name containing Latin letters keeps single spaces between its words and
    its ASCII periods (J. Smith), since those carry meaning there.
    """
    text = fold_full_width(raw).translate(_DELETE_ZERO_WIDTH)
    latin = foreign and any(_is_latin_letter(ch) for ch in text)
    if latin:
        text = _WHITESPACE_RUN_RE.sub(" ", text).strip(" ")
        text = text.translate(_DOTS_TO_MIDDLE_KEEP_PERIOD)
    else:
        text = text.translate(_DELETE_WHITESPACE).translate(_DOTS_TO_MIDDLE)
    text = _to_simplified(text)
    text = _REPEATED_DOTS_RE.sub(MIDDLE_DOT, text)
    return text.strip(MIDDLE_DOT)


def validate_name(raw: str, *, allow_foreign: bool = False) -> NameCheck:
    normalized = normalize_name(raw, foreign=allow_foreign)
    if not normalized:
        return NameCheck(normalized, errors=(issue_of(NameErrorCode.EMPTY),))

    has_digit = has_latin = has_bad = has_letter = False
    for ch in normalized:
        if _is_han(ch):
            has_letter = True
        elif _is_latin_letter(ch):
            has_latin = has_letter = True
        elif unicodedata.category(ch).startswith("N"):
            has_digit = True
        elif ch == MIDDLE_DOT or (allow_foreign and ch in _FOREIGN_PUNCTUATION):
            continue
        else:
            has_bad = True
    if not has_letter:
        has_bad = True

    limit = MAX_FOREIGN_NAME_LENGTH if allow_foreign and has_latin else MAX_CHINESE_NAME_LENGTH
    codes = [
        code
        for code, failed in (
            (NameErrorCode.HAS_DIGIT, has_digit),
            (NameErrorCode.HAS_LATIN, has_latin and not allow_foreign),
            (NameErrorCode.BAD_CHARACTER, has_bad),
            (NameErrorCode.TOO_LONG, len(normalized) > limit),
        )
        if failed
    ]
    return NameCheck(normalized, errors=tuple(issue_of(code) for code in codes))


def is_valid_name(raw: str, *, allow_foreign: bool = False) -> bool:
    return validate_name(raw, allow_foreign=allow_foreign).ok


@cache
def _converter() -> OpenCC:
    # Loading the dictionaries takes a while; one instance serves the whole process.
    return OpenCC("t2s")


@lru_cache(maxsize=65_536)
def _to_simplified(text: str) -> str:
    # OpenCC converts character by character in pure Python; names repeat a lot in batches.
    result: str = _converter().convert(text)
    return result


def _is_han(ch: str) -> bool:
    cp = ord(ch)
    return any(low <= cp <= high for low, high in _HAN_RANGES)


def _is_latin_letter(ch: str) -> bool:
    if ch.isascii():
        return ch.isalpha()
    cp = ord(ch)
    # Latin-1 Supplement and Extended-A/B (José, Müller, Łukasz), without × and ÷.
    return (0xC0 <= cp <= 0x24F and ch not in "×÷") or 0x1E00 <= cp <= 0x1EFF
