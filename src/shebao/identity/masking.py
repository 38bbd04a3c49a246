"""Masking personal data for display and logs.

The standard shapes follow common practice in Chinese government systems (first 6 and last 4
of an ID number, 138****5678). For any other length at most half of the characters are shown,
so that an unexpected value (a truncated number, a passport number) never leaks more than a
well-formed one would.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MASK_CHAR", "mask_bank_account", "mask_id_number", "mask_name", "mask_phone"]

MASK_CHAR: Final[str] = "*"

_ID_LENGTH: Final[int] = 18
_PHONE_LENGTH: Final[int] = 11
_BANK_STARS: Final[int] = 8


def mask_id_number(value: str) -> str:
    """'420702199001011234' → '420702********1234'."""
    if len(value) == _ID_LENGTH:
        return _mask_middle(value, 6, 4)
    return _mask_at_most_half(value, 6, 4)


def mask_phone(value: str) -> str:
    """'13812345678' → '138****5678'."""
    if len(value) == _PHONE_LENGTH:
        return _mask_middle(value, 3, 4)
    return _mask_at_most_half(value, 3, 4)


def mask_bank_account(value: str) -> str:
    """'6228480012345678901' → '6228********8901'.

    The middle is always 8 stars, as on bank statements, so that the mask does not tell the
    length (and with it the issuing bank's card type) either."""
    if not value:
        return ""
    head, tail = _at_most_half(len(value), 4, 4)
    return value[:head] + MASK_CHAR * _BANK_STARS + value[len(value) - tail :]


def mask_name(value: str) -> str:
    """Keep the surname's first character and, from three characters on, the last one:
    '张三' → '张*', '张三明' → '张*明', '欧阳娜娜' → '欧**娜', '张' → '*'."""
    if len(value) <= 1:
        return MASK_CHAR * len(value)
    if len(value) == 2:
        return value[0] + MASK_CHAR
    return _mask_middle(value, 1, 1)


def _mask_middle(value: str, head: int, tail: int) -> str:
    return value[:head] + MASK_CHAR * (len(value) - head - tail) + value[len(value) - tail :]


def _mask_at_most_half(value: str, head: int, tail: int) -> str:
    return _mask_middle(value, *_at_most_half(len(value), head, tail))


def _at_most_half(length: int, head: int, tail: int) -> tuple[int, int]:
    """Up to `head` + `tail` shown characters, fewer if that would be more than half."""
    budget = length // 2
    tail = min(tail, budget // 2)
    return min(head, budget - tail), tail
