"""Amounts of money: yuan text as clerks type it, to integer fen, exactly.

Money is integer fen everywhere; yuan text exists only at the edges (files, forms, pages).

    parse_amount_fen("1,234.50")          → 123450
    parse_amount_fen("１２３４．５")        → 123450      (full-width digits and point)
    parse_amount_fen(" ¥ 1234.5 元 ")      → 123450
    parse_amount_fen("0.001")             → AmountInvalid (finer than a fen)
    parse_amount_fen("3000.01", max_fen=300000) → AmountInvalid (above the limit)
    check_amount("abc")                   → AmountCheck(None, AmountProblem.NOT_A_NUMBER)
    format_yuan(123450)                   → "1,234.50"
    format_yuan(123450, grouped=False)    → "1234.50"

Accepted: digits with an optional `.` and up to any number of decimals as long as the value is
a whole number of fen (`1.50`, `1.500` are fine, `1.505` is not); thousands separators `,`
only in groups of three (`1,234.5`; `12,34` is refused: in some locales it is a decimal
comma, and guessing would move money by a factor of 100); a leading `+`; `¥`/`￥` before and
`元` after; blanks and zero-width characters anywhere. Full-width forms count as their ASCII
counterparts. Not accepted: exponents (`1e3`), signs other than a leading `+`, `-5` (not
positive), other currency words.

`amounts_to_fen` is the same rule over a Polars column, for whole files at once (a
batch of a million rows is not parsed one Python call per row); the tests hold the two to
agreement on arbitrary text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

import polars as pl

from shebao.errors import ShebaoError
from shebao.identity._text import FULL_WIDTH_TO_ASCII, INVISIBLE_CHARS

__all__ = [
    "ABSOLUTE_MAX_FEN",
    "AMOUNT_INVALID",
    "AmountCheck",
    "AmountInvalid",
    "AmountProblem",
    "amounts_to_fen",
    "check_amount",
    "format_yuan",
    "normalise_amount_text",
    "parse_amount_fen",
]

AMOUNT_INVALID: Final[str] = "AMOUNT_INVALID"
# No single payment is anywhere near 100 million yuan; the cap keeps totals of millions of
# rows far inside a 64-bit integer (10^10 fen x 10^7 rows = 10^17 < 9.2 x 10^18).
ABSOLUTE_MAX_FEN: Final[int] = 10_000_000_000
# More integer digits than this cannot be under ABSOLUTE_MAX_FEN; refusing them early keeps
# the vectorised parser's integer casts from overflowing.
_MAX_INTEGER_DIGITS: Final[int] = 9

_CURRENCY_PREFIXES: Final[str] = "¥￥"
_CURRENCY_SUFFIX: Final[str] = "元"
# Blanks and zero-width characters are deleted, full-width forms folded, currency marks
# dropped (only at the ends: see the regular expressions below).
_FOLD: Final[dict[int, int | None]] = dict(FULL_WIDTH_TO_ASCII) | dict.fromkeys(
    map(ord, INVISIBLE_CHARS)
)
_PLAIN_RE: Final[str] = r"\+?[0-9]+(?:\.[0-9]*)?|\+?\.[0-9]+"
_GROUPED_RE: Final[str] = r"\+?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?"
_NUMBER: Final[re.Pattern[str]] = re.compile(f"(?:{_PLAIN_RE}|{_GROUPED_RE})")
_NEGATIVE: Final[re.Pattern[str]] = re.compile(r"-(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


class AmountProblem(StrEnum):
    """Why an amount cannot be paid; all are reported under the reason AMOUNT_INVALID."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"
    NOT_POSITIVE = "not_positive"
    FINER_THAN_FEN = "finer_than_fen"
    ABOVE_MAX = "above_max"

    def message(self, text: str = "", max_fen: int | None = None) -> str:
        """The Chinese explanation; `text` the amount as written, `max_fen` the limit."""
        shown = f"“{text}”" if text else ""
        match self:
            case AmountProblem.EMPTY:
                return "金额为空"
            case AmountProblem.NOT_A_NUMBER:
                return (
                    f"金额{shown}不是有效的数字：应为以元为单位的金额，如 1234.5 或 1,234.50"
                    "（千位分隔符须每三位一组）"
                )
            case AmountProblem.NOT_POSITIVE:
                return f"金额{shown}必须大于0"
            case AmountProblem.FINER_THAN_FEN:
                return f"金额{shown}精确到分以下：最多两位小数（分）"
            case AmountProblem.ABOVE_MAX:
                limit = ABSOLUTE_MAX_FEN if max_fen is None else max_fen
                return f"金额{shown}超过上限 {format_yuan(limit)} 元"


@dataclass(frozen=True, slots=True)
class AmountCheck:
    """`fen` when the amount is usable, else None and `problem`."""

    fen: int | None
    problem: AmountProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


class AmountInvalid(ShebaoError):
    def __init__(self, problem: AmountProblem, text: str, max_fen: int | None = None) -> None:
        super().__init__(
            code=AMOUNT_INVALID,
            message=problem.message(text, max_fen),
            status=422,
            details=[{"problem": problem.value, "value": text}],
        )
        self.problem = problem


def normalise_amount_text(text: str) -> str:
    """Blanks and zero-width characters out, full-width folded, `¥`/`￥` at the start and
    `元` at the end dropped."""
    folded = text.translate(_FOLD)
    folded = folded.lstrip(_CURRENCY_PREFIXES)
    return folded.removesuffix(_CURRENCY_SUFFIX)


def check_amount(text: str | None, *, max_fen: int | None = None) -> AmountCheck:
    """The amount in fen, or why it cannot be paid. `max_fen` the programme's limit per
    person and period (inclusive); ABSOLUTE_MAX_FEN applies in any case."""
    folded = normalise_amount_text(text or "")
    if not folded:
        return AmountCheck(None, AmountProblem.EMPTY)
    if _NEGATIVE.fullmatch(folded.replace(",", "")):
        return AmountCheck(None, AmountProblem.NOT_POSITIVE)
    if not _NUMBER.fullmatch(folded):
        return AmountCheck(None, AmountProblem.NOT_A_NUMBER)
    plain = folded.replace(",", "").lstrip("+")
    integer_part = plain.split(".", 1)[0].lstrip("0")
    if len(integer_part) > _MAX_INTEGER_DIGITS:
        return AmountCheck(None, AmountProblem.ABOVE_MAX)
    value = Decimal(plain) * 100
    if value != value.to_integral_value():
        return AmountCheck(None, AmountProblem.FINER_THAN_FEN)
    fen = int(value)
    if fen <= 0:
        return AmountCheck(None, AmountProblem.NOT_POSITIVE)
    limit = ABSOLUTE_MAX_FEN if max_fen is None else min(max_fen, ABSOLUTE_MAX_FEN)
    if fen > limit:
        return AmountCheck(None, AmountProblem.ABOVE_MAX)
    return AmountCheck(fen)


def parse_amount_fen(text: str | None, *, max_fen: int | None = None) -> int:
    """The amount in fen; raises AmountInvalid (code AMOUNT_INVALID, Chinese message)."""
    checked = check_amount(text, max_fen=max_fen)
    if checked.problem is not None:
        raise AmountInvalid(checked.problem, (text or "").strip(), max_fen)
    assert checked.fen is not None  # noqa: S101 - no problem means an amount
    return checked.fen


def format_yuan(fen: int, *, grouped: bool = True) -> str:
    """`123450` → "1,234.50" (or "1234.50"); negative amounts keep their sign."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    whole = f"{yuan:,}" if grouped else str(yuan)
    return f"{sign}{whole}.{cents:02d}"


def amounts_to_fen(texts: pl.Series, *, max_fen: int | None = None) -> pl.DataFrame:
    """`fen` (Int64, null when unusable) and `problem` (an AmountProblem value or null), one
    row per text, in order: the rule of `check_amount` over a whole column at once.

    Built in stages (each intermediate column computed once): one nested expression would
    make Polars evaluate the folding again for every branch that refers to it."""
    limit = ABSOLUTE_MAX_FEN if max_fen is None else min(max_fen, ABSOLUTE_MAX_FEN)
    sources = list(_FOLD_SOURCE)
    staged = (
        pl.DataFrame({"text": texts}, schema={"text": pl.String})
        .lazy()
        .select(
            pl.col("text")
            .fill_null("")
            .str.replace_many(sources, [_FOLD_TARGET[s] for s in sources])
            .str.strip_chars_start(_CURRENCY_PREFIXES)
            .str.strip_suffix(_CURRENCY_SUFFIX)
            .alias("folded")
        )
        .with_columns(
            pl.col("folded").str.replace_all(",", "", literal=True).alias("bare"),
            pl.col("folded").str.contains(f"^(?:{_NUMBER.pattern})$").alias("number"),
        )
        .with_columns(pl.col("bare").str.strip_prefix("+").alias("plain"))
        .with_columns(
            pl.col("plain").str.extract(r"^([0-9]*)", 1).str.strip_chars_start("0").alias("int"),
            pl.col("plain").str.extract(r"\.([0-9]*)$", 1).fill_null("").alias("fraction"),
        )
        .with_columns(
            pl.when(pl.col("int") == "")
            .then(pl.lit(0, dtype=pl.Int64))
            .otherwise(
                pl.col("int").str.slice(0, _MAX_INTEGER_DIGITS + 1).cast(pl.Int64, strict=False)
            )
            .alias("whole"),
            (pl.col("fraction") + "00").str.slice(0, 2).cast(pl.Int64, strict=False).alias("cents"),
        )
        .with_columns((pl.col("whole") * 100 + pl.col("cents")).alias("value"))
        .select(
            pl.when(pl.col("folded") == "")
            .then(pl.lit(AmountProblem.EMPTY.value))
            .when(pl.col("bare").str.contains(f"^{_NEGATIVE.pattern}$"))
            .then(pl.lit(AmountProblem.NOT_POSITIVE.value))
            .when(~pl.col("number"))
            .then(pl.lit(AmountProblem.NOT_A_NUMBER.value))
            .when(pl.col("int").str.len_chars() > _MAX_INTEGER_DIGITS)
            .then(pl.lit(AmountProblem.ABOVE_MAX.value))
            .when(pl.col("fraction").str.slice(2).str.contains("[1-9]"))
            .then(pl.lit(AmountProblem.FINER_THAN_FEN.value))
            .when(pl.col("value") <= 0)
            .then(pl.lit(AmountProblem.NOT_POSITIVE.value))
            .when(pl.col("value") > limit)
            .then(pl.lit(AmountProblem.ABOVE_MAX.value))
            .alias("problem"),
            "value",
        )
        .select(pl.when(pl.col("problem").is_null()).then(pl.col("value")).alias("fen"), "problem")
    )
    return staged.collect()


# The per-character folding of normalise_amount_text, as replace_many pairs.
_FOLD_SOURCE: Final[tuple[str, ...]] = tuple(chr(cp) for cp in _FOLD)
_FOLD_TARGET: Final[dict[str, str]] = {
    chr(cp): "" if target is None else chr(target) for cp, target in _FOLD.items()
}
