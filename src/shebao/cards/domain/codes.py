"""Card numbers (卡号) and card identification codes (卡识别码).

卡号: 9 characters, 8 body characters (digits or upper-case letters) and a check character.
No published specification text states the check algorithm; every published card number
passes the GB 11714 (organisation code) algorithm, so that is what is used (see
STANDARDS.md): a character's value is the digit, or its letter's code point − 55 (A = 10 …
Z = 35); weights 3 7 9 10 5 8 4 2; c = 11 − Σ mod 11; c = 10 is written 'X', c = 11 '0'.

卡识别码: 32 characters, the issuing-area code (6 digits), the fixed `D156000005` and 16
upper-case hexadecimal characters unique to the card (structure inferred from published
examples, e.g. `320200D156000005AD932A48BDC3B9E9`).

Uniqueness is not decided here: an allocator turns a sequence number (which the database
hands out under concurrency) into a card-number body, deterministically.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

__all__ = [
    "CARD_ID_CODE_INFIX",
    "CARD_NUMBER_ALPHABET",
    "CARD_NUMBER_WEIGHTS",
    "SERIES_LETTERS",
    "CardCodeError",
    "CardCodeIssue",
    "CardIdCodeCheck",
    "CardNumberAllocator",
    "CardNumberCheck",
    "CardNumberSeries",
    "card_id_code",
    "card_number_check_char",
    "card_number_of",
    "next_series_prefix",
    "normalize_card_code",
    "series_overlap",
    "validate_card_id_code",
    "validate_card_number",
]

CARD_NUMBER_WEIGHTS: Final[tuple[int, ...]] = (3, 7, 9, 10, 5, 8, 4, 2)
CARD_NUMBER_ALPHABET: Final[str] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CARD_ID_CODE_INFIX: Final[str] = "D156000005"

_BODY_RE: Final[re.Pattern[str]] = re.compile(r"[0-9A-Z]{8}")
_CARD_NUMBER_RE: Final[re.Pattern[str]] = re.compile(r"[0-9A-Z]{8}[0-9X]")
_AREA_RE: Final[re.Pattern[str]] = re.compile(r"[0-9]{6}")
_ID_CODE_RE: Final[re.Pattern[str]] = re.compile(r"[0-9]{6}D156000005[0-9A-F]{16}")
# Full-width ASCII (U+FF01..U+FF5E) back to ASCII, and the blanks people paste in.
_FOLD: Final[dict[int, int | None]] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {
    ord(ch): None for ch in " \t\r\n\u3000\u00a0\u200b\ufeff"
}


class CardCodeError(StrEnum):
    """Why a card number or card identification code is invalid (stable codes)."""

    EMPTY = "EMPTY"
    BAD_LENGTH = "BAD_LENGTH"
    BAD_FORMAT = "BAD_FORMAT"
    BAD_CHECK = "BAD_CHECK"
    BAD_AREA = "BAD_AREA"
    BAD_INFIX = "BAD_INFIX"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES: Final[dict[CardCodeError, str]] = {
    CardCodeError.EMPTY: "号码为空",
    CardCodeError.BAD_LENGTH: "长度不正确",
    CardCodeError.BAD_FORMAT: "含有不允许的字符",
    CardCodeError.BAD_CHECK: "校验位错误",
    CardCodeError.BAD_AREA: "发卡地区行政区划代码应为6位数字",
    CardCodeError.BAD_INFIX: "第7至16位应为 D156000005",
}


@dataclass(frozen=True, slots=True)
class CardCodeIssue:
    code: CardCodeError
    message: str


@dataclass(frozen=True, slots=True)
class CardNumberCheck:
    normalized: str
    errors: tuple[CardCodeIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class CardIdCodeCheck:
    normalized: str
    errors: tuple[CardCodeIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def area_code(self) -> str | None:
        return self.normalized[:6] if self.ok else None


def _issue(code: CardCodeError, what: str) -> CardCodeIssue:
    return CardCodeIssue(code, f"{what}{code.message}")


def normalize_card_code(raw: str) -> str:
    """Upper-case ASCII without blanks: how card numbers and identification codes compare."""
    return raw.translate(_FOLD).upper()


def card_number_check_char(body: str) -> str:
    """The check character for an 8-character card-number body."""
    if not _BODY_RE.fullmatch(body):
        raise ValueError("卡号主体应为8位数字或大写字母")
    total = sum(
        CARD_NUMBER_ALPHABET.index(ch) * weight
        for ch, weight in zip(body, CARD_NUMBER_WEIGHTS, strict=True)
    )
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def card_number_of(body: str) -> str:
    """The full 9-character card number for a body."""
    return body + card_number_check_char(body)


def validate_card_number(raw: str) -> CardNumberCheck:
    what = "社会保障卡卡号"
    normalized = normalize_card_code(raw)
    if not normalized:
        return CardNumberCheck(normalized, (_issue(CardCodeError.EMPTY, what),))
    if len(normalized) != 9:
        return CardNumberCheck(normalized, (_issue(CardCodeError.BAD_LENGTH, what),))
    if not _CARD_NUMBER_RE.fullmatch(normalized):
        return CardNumberCheck(normalized, (_issue(CardCodeError.BAD_FORMAT, what),))
    if card_number_check_char(normalized[:8]) != normalized[8]:
        return CardNumberCheck(normalized, (_issue(CardCodeError.BAD_CHECK, what),))
    return CardNumberCheck(normalized)


def card_id_code(area_code: str, unique: int) -> str:
    """The 32-character card identification code for a card of `area_code`, whose 16 hex
    characters are the integer `unique` (0 ≤ unique < 16¹⁶), which the caller keeps unique."""
    if not _AREA_RE.fullmatch(area_code):
        raise ValueError("发卡地区行政区划代码应为6位数字")
    if not 0 <= unique < 16**16:
        raise ValueError("卡识别码序号超出16位十六进制范围")
    return f"{area_code}{CARD_ID_CODE_INFIX}{unique:016X}"


def validate_card_id_code(raw: str) -> CardIdCodeCheck:
    what = "卡识别码"
    normalized = normalize_card_code(raw)
    if not normalized:
        return CardIdCodeCheck(normalized, (_issue(CardCodeError.EMPTY, what),))
    if len(normalized) != 32:
        return CardIdCodeCheck(normalized, (_issue(CardCodeError.BAD_LENGTH, what),))
    if not _AREA_RE.fullmatch(normalized[:6]):
        return CardIdCodeCheck(normalized, (_issue(CardCodeError.BAD_AREA, what),))
    if normalized[6:16] != CARD_ID_CODE_INFIX:
        return CardIdCodeCheck(normalized, (_issue(CardCodeError.BAD_INFIX, what),))
    if not _ID_CODE_RE.fullmatch(normalized):
        return CardIdCodeCheck(normalized, (_issue(CardCodeError.BAD_FORMAT, what),))
    return CardIdCodeCheck(normalized)


class CardNumberAllocator(Protocol):
    """Turns a sequence number into a card-number body. Deterministic and injective: the
    database sequence guarantees uniqueness, the allocator only spells the number."""

    @property
    def capacity(self) -> int: ...

    def body_for(self, sequence: int) -> str: ...


@dataclass(frozen=True, slots=True)
class CardNumberSeries:
    """Bodies `prefix` + the sequence number written in `alphabet`, left-padded with its first
    character to 8 characters. `CardNumberSeries("B")` gives B0000000, B0000001, …;
    an alphanumeric alphabet lets a short series hold more cards."""

    prefix: str = ""
    alphabet: str = "0123456789"

    def __post_init__(self) -> None:
        if len(self.prefix) >= 8 or not re.fullmatch(r"[0-9A-Z]*", self.prefix):
            raise ValueError("卡号前缀应为0至7位数字或大写字母")
        if (
            len(self.alphabet) < 2
            or len(set(self.alphabet)) != len(self.alphabet)
            or not set(self.alphabet) <= set(CARD_NUMBER_ALPHABET)
        ):
            raise ValueError("卡号字符集应为不重复的数字或大写字母（至少两个）")

    @property
    def capacity(self) -> int:
        return len(self.alphabet) ** (8 - len(self.prefix))

    def body_for(self, sequence: int) -> str:
        if not 0 <= sequence < self.capacity:
            raise ValueError(f"卡号序号 {sequence} 超出号段容量 {self.capacity}")
        base = len(self.alphabet)
        digits: list[str] = []
        for _ in range(8 - len(self.prefix)):
            sequence, digit = divmod(sequence, base)
            digits.append(self.alphabet[digit])
        return self.prefix + "".join(reversed(digits))

    def card_number_for(self, sequence: int) -> str:
        return card_number_of(self.body_for(sequence))


# Letters a platform gives to the card-number series of its issuing regions, I and O left out
# (read as 1 and 0 at a counter).
SERIES_LETTERS: Final[str] = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def series_overlap(first: str, second: str) -> bool:
    """Whether two digit series (`CardNumberSeries(prefix)` with the digit alphabet) can spell
    the same card number: one prefix starts the other and the rest of the longer one is
    digits. The empty prefix overlaps every all-digit prefix and no prefix with a letter."""
    short, long_ = sorted((first, second), key=len)
    return first == second or (long_.startswith(short) and long_[len(short) :].isdigit())


def next_series_prefix(taken: Collection[str]) -> str:
    """The prefix a new issuing region's series takes on a platform whose series already use
    `taken`: the plain all-digit series (empty prefix) for the first region — what a
    single-city deployment always had — then the first letter that overlaps no taken prefix
    (ten million numbers per region). Raises ValueError when every letter is taken."""
    if not taken:
        return ""
    for letter in SERIES_LETTERS:
        if not any(series_overlap(letter, prefix) for prefix in taken):
            return letter
    raise ValueError("没有可分配的卡号前缀，请为发卡地区配置新的卡号前缀")
