"""Card-number series of several issuing regions on one platform never overlap."""

from __future__ import annotations

import pytest

from shebao.cards.domain.codes import (
    SERIES_LETTERS,
    CardNumberSeries,
    next_series_prefix,
    series_overlap,
)

pytestmark = pytest.mark.unit


def test_the_first_region_keeps_the_all_digit_series_and_the_next_take_letters() -> None:
    assert next_series_prefix([]) == ""
    assert next_series_prefix([""]) == "A"
    assert next_series_prefix(["", "A"]) == "B"
    assert next_series_prefix(["", "A", "C"]) == "B"


def test_a_configured_letter_prefix_blocks_the_letter() -> None:
    # A region configured with "B12" spells B12xxxxx, inside what a "B" series would spell.
    assert next_series_prefix(["", "A", "B12"]) == "C"


def test_letters_run_out_with_a_chinese_message() -> None:
    with pytest.raises(ValueError, match="没有可分配的卡号前缀"):
        next_series_prefix(["", *SERIES_LETTERS])


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("", "", True),
        ("", "07", True),  # 07xxxxxx is an all-digit body
        ("", "A", False),
        ("A", "A12", True),
        ("A", "AB", False),
        ("A", "B", False),
        ("12", "1", True),
    ],
)
def test_overlap(first: str, second: str, overlap: bool) -> None:
    assert series_overlap(first, second) is overlap
    assert series_overlap(second, first) is overlap


def test_prefixes_the_allocator_hands_out_spell_disjoint_numbers() -> None:
    taken: list[str] = []
    numbers: set[str] = set()
    for _ in range(6):
        prefix = next_series_prefix(taken)
        taken.append(prefix)
        series = CardNumberSeries(prefix)
        # The first, some middle and the last numbers of each series.
        for seq in (0, 1, 2, 12345, series.capacity - 1):
            number = series.card_number_for(seq)
            assert number not in numbers
            numbers.add(number)
    assert taken == ["", "A", "B", "C", "D", "E"]
