"""Yuan text to integer fen: exact, with the precise reason when it cannot be paid."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shebao.payments.domain.amounts import (
    ABSOLUTE_MAX_FEN,
    AMOUNT_INVALID,
    AmountInvalid,
    AmountProblem,
    amounts_to_fen,
    check_amount,
    format_yuan,
    parse_amount_fen,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1234.5", 123450),
        ("1,234.50", 123450),
        ("1,234,567.89", 123456789),
        ("１２３４．５", 123450),
        ("１，２３４．５０", 123450),
        (" ¥1234.5 ", 123450),
        ("￥ 1234.50元", 123450),
        ("1234.50\u200b", 123450),
        ("+12", 1200),
        (".5", 50),
        ("5.", 500),
        ("0.01", 1),
        ("1.2300", 123),
        ("007", 700),
    ],
)
def test_accepted_amounts(text: str, fen: int) -> None:
    assert parse_amount_fen(text) == fen


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", AmountProblem.EMPTY),
        ("   ", AmountProblem.EMPTY),
        (None, AmountProblem.EMPTY),
        ("abc", AmountProblem.NOT_A_NUMBER),
        ("1e3", AmountProblem.NOT_A_NUMBER),
        ("12,34", AmountProblem.NOT_A_NUMBER),  # a decimal comma? refused, not guessed
        ("1,2345.00", AmountProblem.NOT_A_NUMBER),
        ("1.2.3", AmountProblem.NOT_A_NUMBER),
        ("$12", AmountProblem.NOT_A_NUMBER),
        ("0", AmountProblem.NOT_POSITIVE),
        ("0.00", AmountProblem.NOT_POSITIVE),
        ("-5", AmountProblem.NOT_POSITIVE),
        ("－１,０００", AmountProblem.NOT_POSITIVE),
        ("1.234", AmountProblem.FINER_THAN_FEN),
        ("0.001", AmountProblem.FINER_THAN_FEN),
        ("100000000.01", AmountProblem.ABOVE_MAX),
        ("99999999999999999999", AmountProblem.ABOVE_MAX),
    ],
)
def test_refused_amounts_say_why(text: str | None, problem: AmountProblem) -> None:
    assert check_amount(text).problem is problem
    with pytest.raises(AmountInvalid) as raised:
        parse_amount_fen(text)
    assert raised.value.code == AMOUNT_INVALID
    assert raised.value.message.startswith("金额")


def test_the_programme_limit_is_inclusive_and_named_in_the_message() -> None:
    assert parse_amount_fen("3000.00", max_fen=300000) == 300000
    with pytest.raises(AmountInvalid) as raised:
        parse_amount_fen("3000.01", max_fen=300000)
    assert raised.value.message == "金额“3000.01”超过上限 3,000.00 元"


def test_format_yuan() -> None:
    assert format_yuan(123450) == "1,234.50"
    assert format_yuan(123450, grouped=False) == "1234.50"
    assert format_yuan(1) == "0.01"
    assert format_yuan(-150) == "-1.50"


@given(st.integers(min_value=1, max_value=ABSOLUTE_MAX_FEN))
def test_format_and_parse_round_trip(fen: int) -> None:
    assert parse_amount_fen(format_yuan(fen)) == fen
    assert parse_amount_fen(format_yuan(fen, grouped=False)) == fen


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999"), places=2))
def test_any_two_decimal_amount_is_exact(value: Decimal) -> None:
    assert parse_amount_fen(str(value)) == int(value * 100)


_AMOUNT_ALPHABET = "0123456789０１２３４５６７８９.,，．+-－¥￥元 \u3000eE"


@settings(max_examples=300)
@given(st.lists(st.text(alphabet=_AMOUNT_ALPHABET, max_size=14), min_size=1, max_size=20))
def test_the_vectorised_parser_agrees_with_the_reference(texts: list[str]) -> None:
    for max_fen in (None, 300000):
        frame = amounts_to_fen(pl.Series(texts, dtype=pl.String), max_fen=max_fen)
        expected = [check_amount(t, max_fen=max_fen) for t in texts]
        assert frame["fen"].to_list() == [c.fen for c in expected]
        assert frame["problem"].to_list() == [
            None if c.problem is None else c.problem.value for c in expected
        ]
