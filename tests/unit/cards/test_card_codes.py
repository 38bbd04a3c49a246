"""Card numbers (卡号) and card identification codes (卡识别码)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shebao.cards.domain.codes import (
    CardCodeError,
    CardNumberSeries,
    card_id_code,
    card_number_check_char,
    card_number_of,
    validate_card_id_code,
    validate_card_number,
)

pytestmark = pytest.mark.unit

BODY = st.text(alphabet=string.digits + string.ascii_uppercase, min_size=8, max_size=8)


@pytest.mark.parametrize("number", ["X00000019", "B7K334774", "183760642", "188347080"])
def test_published_card_numbers_validate(number: str) -> None:
    check = validate_card_number(number)
    assert check.ok, check.errors
    assert card_number_check_char(number[:8]) == number[8]


def test_check_character_follows_gb_11714_by_hand() -> None:
    # X=33: 33·3 + 1·2 = 101; 101 mod 11 = 2; 11 − 2 = 9.
    assert card_number_check_char("X0000001") == "9"
    # A remainder of 0 gives 11, written '0'; a remainder of 1 gives 10, written 'X'.
    assert card_number_check_char("00000000") == "0"
    bodies_with_x = [
        b for b in (f"{n:08d}" for n in range(200)) if card_number_check_char(b) == "X"
    ]
    assert bodies_with_x, "some body must have the check character X"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", CardCodeError.EMPTY),
        ("X0000001", CardCodeError.BAD_LENGTH),
        ("X000000190", CardCodeError.BAD_LENGTH),
        ("X0000001*", CardCodeError.BAD_FORMAT),
        ("X00000018", CardCodeError.BAD_CHECK),
        ("18376064X", CardCodeError.BAD_CHECK),
    ],
)
def test_invalid_card_numbers_name_the_problem(raw: str, code: CardCodeError) -> None:
    check = validate_card_number(raw)
    assert not check.ok
    assert check.errors[0].code is code
    assert check.errors[0].message.startswith("社会保障卡卡号")


def test_card_numbers_are_normalised_before_validation() -> None:
    check = validate_card_number(" ｂ7k334774\u3000")
    assert check.ok
    assert check.normalized == "B7K334774"


@given(BODY)
def test_every_body_with_its_check_character_validates(body: str) -> None:
    assert validate_card_number(card_number_of(body)).ok


@given(
    st.text(alphabet=string.digits, min_size=8, max_size=8), st.integers(0, 7), st.integers(1, 9)
)
def test_a_single_wrong_digit_is_always_caught(body: str, position: int, shift: int) -> None:
    number = card_number_of(body)
    wrong = str((int(body[position]) + shift) % 10)
    assert not validate_card_number(number[:position] + wrong + number[position + 1 :]).ok


def test_card_identification_code_format() -> None:
    code = card_id_code("320200", 0xAD932A48BDC3B9E9)
    assert code == "320200D156000005AD932A48BDC3B9E9"
    check = validate_card_id_code(code)
    assert check.ok
    assert check.area_code == "320200"
    assert validate_card_id_code(code.lower()).ok  # compared upper-cased


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", CardCodeError.EMPTY),
        ("320200D156000005AD932A48BDC3B9E", CardCodeError.BAD_LENGTH),
        ("32020AD156000005AD932A48BDC3B9E9", CardCodeError.BAD_AREA),
        ("320200D156000006AD932A48BDC3B9E9", CardCodeError.BAD_INFIX),
        ("320200D156000005AD932A48BDC3B9EG", CardCodeError.BAD_FORMAT),
    ],
)
def test_invalid_card_identification_codes(raw: str, code: CardCodeError) -> None:
    check = validate_card_id_code(raw)
    assert not check.ok
    assert check.errors[0].code is code
    assert check.area_code is None


def test_card_identification_code_refuses_bad_parts() -> None:
    with pytest.raises(ValueError, match="6位数字"):
        card_id_code("32020", 1)
    with pytest.raises(ValueError, match="超出"):
        card_id_code("320200", 16**16)
    with pytest.raises(ValueError, match="超出"):
        card_id_code("320200", -1)


def test_series_spells_sequence_numbers_deterministically() -> None:
    series = CardNumberSeries("B")
    assert series.body_for(0) == "B0000000"
    assert series.body_for(1234) == "B0001234"
    assert series.card_number_for(1234) == card_number_of("B0001234")
    assert series.capacity == 10**7
    assert CardNumberSeries().body_for(183760) == "00183760"


def test_alphanumeric_series_holds_more_cards() -> None:
    series = CardNumberSeries("X", alphabet=string.digits + string.ascii_uppercase)
    assert series.capacity == 36**7
    assert series.body_for(35) == "X000000Z"
    assert series.body_for(36) == "X0000010"


@given(st.integers(0, 10**7 - 1), st.integers(0, 10**7 - 1))
def test_series_is_injective_and_every_number_validates(a: int, b: int) -> None:
    series = CardNumberSeries("B")
    assert (series.body_for(a) == series.body_for(b)) == (a == b)
    assert validate_card_number(series.card_number_for(a)).ok


def test_series_refuses_numbers_outside_its_range_and_bad_settings() -> None:
    series = CardNumberSeries("1234567")
    assert series.capacity == 10
    with pytest.raises(ValueError, match="超出号段容量"):
        series.body_for(10)
    with pytest.raises(ValueError, match="超出号段容量"):
        series.body_for(-1)
    with pytest.raises(ValueError, match="前缀"):
        CardNumberSeries("12345678")
    with pytest.raises(ValueError, match="前缀"):
        CardNumberSeries("b")
    with pytest.raises(ValueError, match="字符集"):
        CardNumberSeries(alphabet="0")
    with pytest.raises(ValueError, match="字符集"):
        CardNumberSeries(alphabet="00")
