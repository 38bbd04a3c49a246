"""Pure helpers for GB/T 2260 region codes and their 9/12-digit town and village extensions.

A region's *prefix* is its code with the zeros of the levels below it stripped, so that the
whole subtree of a region is `code LIKE prefix || '%'` on 12-digit-padded codes, and on
codes of any length that start with the prefix.
"""

from __future__ import annotations

import re

_CODE_RE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")


def is_region_code(code: str) -> bool:
    return bool(_CODE_RE.match(code))


def level_of(code: str) -> int:
    """1 province, 2 prefecture, 3 county, 4 town, 5 village."""
    if len(code) == 12:
        return 5
    if len(code) == 9:
        return 4
    if len(code) != 6:
        raise ValueError(f"not a region code: {code!r}")
    if code[2:] == "0000":
        return 1
    if code[4:] == "00":
        return 2
    return 3


def prefix_of(code: str) -> str:
    """The subtree prefix: '420000'→'42', '420700'→'4207', '420702'→'420702'."""
    level = level_of(code)
    return {1: code[:2], 2: code[:4]}.get(level, code)


def parent_code_of(code: str) -> str | None:
    """The parent by the structure of the code; the caller checks that it exists
    (municipalities and directly-administered counties skip a level)."""
    level = level_of(code)
    if level == 1:
        return None
    if level == 2:
        return code[:2] + "0000"
    if level == 3:
        return code[:4] + "00"
    if level == 4:
        return code[:6]
    return code[:9]


def county_of(code: str) -> str:
    """The 6-digit county code a town or village belongs to (itself for 6-digit codes)."""
    return code[:6]
