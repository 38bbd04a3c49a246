"""Character tables shared by the normalisers, and by the SQL macros that must mirror them.

The tables are explicit character lists rather than `str.isspace()` or `unicodedata` calls
because the DuckDB macros in `duckdb_sql` are built from the very same lists: a character
class that differs between Python and SQL would make the two validators disagree.
"""

from __future__ import annotations

from typing import Final

# Every code point for which `str.isspace()` holds (U+3000 included; a unit test keeps this
# list complete), spelled out so that it can be pasted into SQL ...
WHITESPACE_CHARS: Final[str] = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# ... plus the zero-width characters that spreadsheets and web forms leave behind.
INVISIBLE_CHARS: Final[str] = WHITESPACE_CHARS + "\u200b\u200c\u200d\u2060\ufeff"

ASCII_DIGITS: Final[str] = "0123456789"
ASCII_UPPER: Final[str] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ASCII_LOWER: Final[str] = ASCII_UPPER.lower()

# Full-width forms sit at a fixed offset from ASCII (U+FF01..U+FF5E ↔ U+0021..U+007E).
_FULL_WIDTH_OFFSET: Final[int] = 0xFEE0


def to_full_width(text: str) -> str:
    return "".join(chr(ord(ch) + _FULL_WIDTH_OFFSET) for ch in text)


FULL_WIDTH_DIGITS: Final[str] = to_full_width(ASCII_DIGITS)
FULL_WIDTH_UPPER: Final[str] = to_full_width(ASCII_UPPER)
FULL_WIDTH_LOWER: Final[str] = to_full_width(ASCII_LOWER)

# All printable full-width ASCII variants, mapped back to ASCII.
FULL_WIDTH_TO_ASCII: Final[dict[int, int]] = {
    cp: cp - _FULL_WIDTH_OFFSET for cp in range(0xFF01, 0xFF5F)
}


def fold_full_width(text: str) -> str:
    return text.translate(FULL_WIDTH_TO_ASCII)


def delete_invisible(text: str) -> str:
    return text.translate(_DELETE_INVISIBLE)


_DELETE_INVISIBLE: Final[dict[int, None]] = dict.fromkeys(map(ord, INVISIBLE_CHARS))


def id_number_translation() -> dict[str, str]:
    """What the ID-number normaliser does per character: full-width digits and letters to ASCII,
    every `x` to `X`, invisible characters deleted (mapped to "")."""
    table: dict[str, str] = {}
    table.update(zip(FULL_WIDTH_DIGITS, ASCII_DIGITS, strict=True))
    table.update(zip(FULL_WIDTH_UPPER, ASCII_UPPER, strict=True))
    table.update(zip(FULL_WIDTH_LOWER, ASCII_LOWER, strict=True))
    # Only the check character may be a letter, and only X; lower-casing it is a typing
    # habit, not a different value.
    table["x"] = "X"
    table[to_full_width("x")] = "X"
    table.update(dict.fromkeys(INVISIBLE_CHARS, ""))
    return table
