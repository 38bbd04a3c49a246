from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shebao.identity.credit_code import (
    CREDIT_CODE_ALPHABET,
    CreditCodeErrorCode,
    credit_code_check_char,
    is_valid_credit_code,
    normalize_credit_code,
    validate_credit_code,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "code",
    [
        "91110000600037341L",
        "121200004013590816",
        "91310115MA1K3BTP2B",
        "91340600MA2PBM9HXD",
        "911522010783762860",
    ],
)
def test_published_valid_codes(code: str) -> None:
    check = validate_credit_code(code)
    assert check.ok, check.errors
    assert check.normalized == code
    assert is_valid_credit_code(code)
    assert credit_code_check_char(code[:17]) == code[17]


@pytest.mark.parametrize(
    ("code", "error", "message"),
    [
        ("91110000600037341N", CreditCodeErrorCode.BAD_CHECK, "统一社会信用代码校验位错误"),
        ("9111000060003IOZSV", CreditCodeErrorCode.BAD_FORMAT, None),
        ("91AB0000600037341L", CreditCodeErrorCode.BAD_FORMAT, None),  # region code letters
        ("", CreditCodeErrorCode.EMPTY, "统一社会信用代码为空"),
        ("9111000060003734", CreditCodeErrorCode.BAD_LENGTH, "统一社会信用代码长度应为18位"),
    ],
)
def test_invalid_codes(code: str, error: CreditCodeErrorCode, message: str | None) -> None:
    check = validate_credit_code(code)
    assert check.error_codes == (error,)
    assert check.first_error == error
    assert check.errors[0].message == (message or error.message)
    assert "统一社会信用代码" in check.errors[0].message


def test_normalize() -> None:
    assert normalize_credit_code(" 91110000 600037341l\u3000") == "91110000600037341L"
    assert normalize_credit_code("９１１１００００６０００３７３４１Ｌ") == "91110000600037341L"
    assert validate_credit_code("９１１１００００６０００３７３４１ｌ").ok
    # Look-alike letters are not guessed into digits.
    assert normalize_credit_code("9111000060003734IO") == "9111000060003734IO"


def test_letters_allowed_in_the_first_two_positions() -> None:
    body = "N2440000" + "MA1K3BTP2"
    assert validate_credit_code(body + credit_code_check_char(body)).ok


def test_check_char_helper_rejects_bad_bodies() -> None:
    with pytest.raises(ValueError):
        credit_code_check_char("9111000060003734")
    with pytest.raises(ValueError):
        credit_code_check_char("9111000060003734I")


codes = st.builds(
    lambda head, region, org: head + region + org,
    st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=9, max_size=9),
).map(lambda body: body + credit_code_check_char(body))


@given(codes, st.integers(0, 17), st.integers(1, 30))
def test_any_single_substitution_is_caught(code: str, position: int, shift: int) -> None:
    assert validate_credit_code(code).ok
    index = CREDIT_CODE_ALPHABET.index(code[position])
    replacement = CREDIT_CODE_ALPHABET[(index + shift) % 31]
    damaged = code[:position] + replacement + code[position + 1 :]
    assert not validate_credit_code(damaged).ok
