"""Rounding as the bulletins round: half up, from exact counts, written as seed 004 writes."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shebao.reports.domain.numbers import percent, percent_text, wan, wan_text

pytestmark = pytest.mark.unit


def test_percent_rounds_half_up_not_to_even() -> None:
    assert percent(17_450, 20_000, 1) == Decimal("87.3")  # exactly 87.25
    assert percent(17_449, 20_000, 1) == Decimal("87.2")
    assert percent(1, 8, 1) == Decimal("12.5")
    assert percent(5, 200, 0) == Decimal("3")  # exactly 2.5
    assert percent(162_500, 100_000, 0) == Decimal("163")


def test_percent_text_is_written_like_the_seed() -> None:
    assert percent_text(18_550_000, 21_240_000, 1) == "87.3%"
    assert percent_text(3_250_000, 2_006_000, 0) == "162%"
    assert percent_text(0, 1_500_000, 0) == "0%"
    assert percent_text(1_000_000, 1_000_000, 1) == "100.0%"


def test_no_denominator_means_no_percentage() -> None:
    assert percent(5, None, 1) is None
    assert percent(5, 0, 1) is None
    assert percent_text(5, 0, 0) == "—"


def test_wan_rounds_half_up_to_whole_numbers() -> None:
    assert wan(18_550_000) == Decimal(1855)
    assert wan(25_000) == Decimal(3)  # 2.5 万 → 3, not 2
    assert wan(24_999) == Decimal(2)
    assert wan(4_999) == Decimal(0)
    assert wan_text(11_680_000) == "1168"
    assert wan_text(12_345, 2) == "1.23"


@given(
    numerator=st.integers(min_value=0, max_value=2_000_000_000),
    denominator=st.integers(min_value=1, max_value=2_000_000_000),
    places=st.sampled_from([0, 1]),
)
def test_percent_equals_exact_half_up_rounding(
    numerator: int, denominator: int, places: int
) -> None:
    exact = Fraction(numerator * 100, denominator) * 10**places
    expected = (exact.numerator * 2 + exact.denominator) // (exact.denominator * 2)
    if numerator < denominator and expected >= 100 * 10**places:
        # An incomplete share is cut, never rounded up to 100 %.
        expected = exact.numerator // exact.denominator
    assert percent(numerator, denominator, places) == Decimal(expected).scaleb(-places)


def test_an_incomplete_share_never_reads_100_percent() -> None:
    assert percent(998, 1_000, 0) == Decimal("99")
    assert percent(9_996, 10_000, 1) == Decimal("99.9")
    assert percent(9_995, 10_000, 1) == Decimal("99.9")
    assert percent(1_000, 1_000, 1) == Decimal("100.0")
    assert percent(1_001, 1_000, 0) == Decimal("100")
