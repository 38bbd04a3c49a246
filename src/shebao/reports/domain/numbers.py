"""Rounding and writing numbers the way the bulletins write them.

Everything is computed from exact counts with `Decimal` and rounded half up (四舍五入) only
when written: `87.3%` (one decimal), `162%` (whole percent), `1855万人` (whole 万).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

__all__ = [
    "percent",
    "percent_text",
    "ratio",
    "wan",
    "wan_text",
]

_WAN = Decimal(10_000)
# Counts reach 10^10 (a country); 40 significant digits keep every quotient exact far past the
# digit that decides a half-up rounding.
_PRECISION = 40


def ratio(numerator: int, denominator: int | None) -> Decimal | None:
    """numerator / denominator as an exact-enough Decimal; None when there is no denominator."""
    if denominator is None or denominator <= 0:
        return None
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return Decimal(numerator) / Decimal(denominator)


def percent(numerator: int, denominator: int | None, places: int) -> Decimal | None:
    """The percentage rounded half up to `places` decimals; None without a denominator.

    An incomplete share is never written as complete: below 100 % the figure is cut, not
    rounded up, where rounding would reach 100 (99.96 % is 99.9 %, not 100.0 %), so a
    region listed as missing its target never reads "100%"."""
    share = ratio(numerator, denominator)
    if share is None:
        return None
    quantum = Decimal(1).scaleb(-places)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        rounded = (share * 100).quantize(quantum, rounding=ROUND_HALF_UP)
        if share < 1 and rounded >= 100:
            return (share * 100).quantize(quantum, rounding=ROUND_DOWN)
        return rounded


def percent_text(numerator: int, denominator: int | None, places: int) -> str:
    """`87.3%` / `162%`; `—` without a denominator."""
    value = percent(numerator, denominator, places)
    return "—" if value is None else f"{value}%"


def wan(count: int, places: int = 0) -> Decimal:
    """The count in 万 (ten thousands), rounded half up."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return (Decimal(count) / _WAN).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def wan_text(count: int, places: int = 0) -> str:
    """`1855` for 18,550,000 (the unit 万人/万张 is the caller's)."""
    return str(wan(count, places))
