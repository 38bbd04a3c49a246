from __future__ import annotations

import sys
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shebao.identity import _text
from shebao.identity.address_codes import is_known_address_code, known_address_codes
from shebao.identity.id_number import (
    ID_CHECK_CHARS,
    PROVINCE_CODES,
    Gender,
    IdErrorCode,
    IdWarningCode,
    age_on,
    birth_date_of,
    gender_of,
    id_number_check_char,
    is_valid_id_number,
    normalize_id_number,
    validate_id_number,
)

pytestmark = pytest.mark.unit

AS_OF = date(2025, 6, 30)


@pytest.mark.parametrize(
    ("number", "birth", "gender"),
    [
        ("360426199101010071", date(1991, 1, 1), Gender.MALE),
        ("44011320141005001X", date(2014, 10, 5), Gender.MALE),
        ("412723199010050012", date(1990, 10, 5), Gender.MALE),
        ("110102199101010078", date(1991, 1, 1), Gender.MALE),
        ("120110199212010072", date(1992, 12, 1), Gender.MALE),
    ],
)
def test_published_valid_numbers(number: str, birth: date, gender: Gender) -> None:
    check = validate_id_number(number, as_of=AS_OF)
    assert check.ok, check.errors
    assert check.normalized == number
    assert check.birth_date == birth
    assert check.gender == gender
    assert check.gender == gender.value  # a StrEnum: "M" / "F"
    assert is_valid_id_number(number, AS_OF)
    assert birth_date_of(number, AS_OF) == birth
    assert gender_of(number, AS_OF) == gender


@pytest.mark.parametrize(
    ("number", "code", "message"),
    [
        ("36042619910102009X", IdErrorCode.BAD_CHECK, "校验位错误"),
        ("360426199113010079", IdErrorCode.BAD_BIRTH_DATE, "出生日期无效"),
        ("T60426199101010078", IdErrorCode.BAD_FORMAT, "只能包含数字，末位可为X"),
        ("", IdErrorCode.EMPTY, "身份证号码为空"),
        ("\u3000 \t", IdErrorCode.EMPTY, "身份证号码为空"),
        ("36042619910101007", IdErrorCode.BAD_LENGTH, "长度应为18位（或15位旧号码）"),
        ("910426199101010071", IdErrorCode.BAD_PROVINCE, "省级行政区划代码无效"),
    ],
)
def test_published_invalid_numbers(number: str, code: IdErrorCode, message: str) -> None:
    check = validate_id_number(number, as_of=AS_OF)
    assert not check.ok
    assert check.first_error == code
    assert check.errors[0].message == message
    assert str(check.errors[0]) == message
    assert not is_valid_id_number(number, AS_OF)
    assert birth_date_of(number, AS_OF) is None
    assert gender_of(number, AS_OF) is None


def test_error_codes_are_stable_strings_in_precedence_order() -> None:
    assert [code.value for code in IdErrorCode] == [
        "EMPTY",
        "BAD_LENGTH",
        "BAD_FORMAT",
        "BAD_PROVINCE",
        "BAD_BIRTH_DATE",
        "BAD_CHECK",
    ]
    assert IdWarningCode.ADDRESS_CODE_UNKNOWN.value == "ADDRESS_CODE_UNKNOWN"


def test_independent_errors_are_all_reported_in_order() -> None:
    # Province 91, month 13 and a wrong check character at once.
    check = validate_id_number("910426199113010070", as_of=AS_OF)
    assert check.error_codes == (
        IdErrorCode.BAD_PROVINCE,
        IdErrorCode.BAD_BIRTH_DATE,
        IdErrorCode.BAD_CHECK,
    )
    assert check.birth_date is None
    assert check.gender is None


def test_birth_date_and_gender_are_reported_when_only_the_check_fails() -> None:
    check = validate_id_number("36042619910102009X", as_of=AS_OF)
    assert check.birth_date == date(1991, 1, 2)
    assert check.gender == Gender.MALE  # 17th digit 9


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("360426910101007", "360426199101010071"),
        (" 360426 19910101 0071 ", "360426199101010071"),
        ("\u3000３６０４２６１９９１０１０１００７１\u3000", "360426199101010071"),
        ("44011320141005001x", "44011320141005001X"),
        ("44011320141005001ｘ", "44011320141005001X"),
        ("44011320141005001Ｘ", "44011320141005001X"),
        ("\u200b44011320141005001X\ufeff", "44011320141005001X"),
        ("4401132014100500\n1X", "44011320141005001X"),
        ("t60426199101010078", "t60426199101010078"),  # only x is upper-cased
        ("ｔ60426199101010078", "t60426199101010078"),
        ("36042691010100X", "36042691010100X"),  # not 15 digits: no upgrade
    ],
)
def test_normalize(raw: str, normalized: str) -> None:
    assert normalize_id_number(raw) == normalized


def test_fifteen_digit_number_is_upgraded_and_validated() -> None:
    check = validate_id_number("360426910101007", as_of=AS_OF)
    assert check.ok
    assert check.normalized == "360426199101010071"
    assert check.birth_date == date(1991, 1, 1)


def test_birth_date_bounds() -> None:
    def number(yyyymmdd: str) -> str:
        body = f"110102{yyyymmdd}007"
        return body + id_number_check_char(body)

    assert validate_id_number(number("19000101"), as_of=AS_OF).ok
    assert validate_id_number(number(f"{AS_OF:%Y%m%d}"), as_of=AS_OF).ok
    assert validate_id_number(number("20000229"), as_of=AS_OF).ok
    for bad in ("18991231", "20250701", "19000229", "20230229", "19910230", "19910001"):
        assert validate_id_number(number(bad), as_of=AS_OF).first_error == (
            IdErrorCode.BAD_BIRTH_DATE
        ), bad


def test_as_of_defaults_to_today() -> None:
    body = "110102209901010071"[:17]
    assert validate_id_number(body + id_number_check_char(body)).first_error == (
        IdErrorCode.BAD_BIRTH_DATE
    )


def test_unknown_address_code_is_a_warning_not_an_error() -> None:
    body = "36990019910101007"  # 江西 ..., but no county 369900
    assert not is_known_address_code(body[:6])
    check = validate_id_number(body + id_number_check_char(body), as_of=AS_OF)
    assert check.ok
    assert [w.code for w in check.warnings] == [IdWarningCode.ADDRESS_CODE_UNKNOWN]
    assert check.warnings[0].message == "地址码不在现行行政区划代码中，可能为历史代码"


def test_known_address_codes() -> None:
    codes = known_address_codes()
    assert known_address_codes() is codes  # cached
    assert len(codes) > 3000
    assert {"110101", "420702", "441900", "460400"} <= codes
    assert "110000" not in codes  # provinces are not address codes
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert {code[:2] for code in codes} <= PROVINCE_CODES
    assert not validate_id_number("360426199101010071", as_of=AS_OF).warnings


def test_age() -> None:
    number = "360426199101010071"
    assert age_on(number, date(2020, 12, 31)) == 29
    assert age_on(number, date(2021, 1, 1)) == 30
    assert validate_id_number(number, as_of=AS_OF).age_on(date(2025, 6, 30)) == 34
    with pytest.raises(ValueError, match="校验位错误"):
        age_on("36042619910102009X", date(2020, 1, 1))
    with pytest.raises(ValueError, match="出生日期"):
        age_on(number, date(1990, 1, 1))
    with pytest.raises(ValueError):
        validate_id_number("360426199113010079", as_of=AS_OF).age_on(AS_OF)


def test_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        id_number_check_char("3604261991010100")
    with pytest.raises(ValueError):
        id_number_check_char("3604261991010100٣")  # an Arabic-Indic digit is not a digit here


def test_whitespace_table_is_exactly_str_isspace() -> None:
    every_space = {chr(cp) for cp in range(sys.maxunicode + 1) if chr(cp).isspace()}
    assert set(_text.WHITESPACE_CHARS) == every_space
    assert set(_text.INVISIBLE_CHARS) >= every_space


# ---- properties -------------------------------------------------------------------------

provinces = st.sampled_from(sorted(PROVINCE_CODES))
counties = st.integers(0, 9999).map(lambda n: f"{n:04d}")
sequences = st.integers(0, 999).map(lambda n: f"{n:03d}")


@st.composite
def valid_numbers(draw: st.DrawFn, low: date = date(1900, 1, 1), high: date = AS_OF) -> str:
    born = draw(st.dates(low, high))
    body = f"{draw(provinces)}{draw(counties)}{born:%Y%m%d}{draw(sequences)}"
    return body + id_number_check_char(body)


@given(valid_numbers(high=date(1999, 12, 31)))
def test_upgrade_from_15_digits_yields_a_valid_number_with_the_same_birth_date(
    number: str,
) -> None:
    old = number[:6] + number[8:17]
    check = validate_id_number(old, as_of=AS_OF)
    assert check.ok
    assert check.normalized == number
    assert len(check.normalized) == 18
    assert check.birth_date == validate_id_number(number, as_of=AS_OF).birth_date


@given(valid_numbers(), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_substitution_is_caught_by_the_check_character(
    number: str, position: int, delta: int
) -> None:
    digit = str((int(number[position]) + delta) % 10)
    damaged = number[:position] + digit + number[position + 1 :]
    assert IdErrorCode.BAD_CHECK in validate_id_number(damaged, as_of=AS_OF).error_codes


@given(valid_numbers(), st.sampled_from(ID_CHECK_CHARS))
def test_any_other_check_character_is_rejected(number: str, check_char: str) -> None:
    damaged = number[:17] + check_char
    assert validate_id_number(damaged, as_of=AS_OF).ok == (check_char == number[17])


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_char_matches_the_closed_form(first17: str) -> None:
    # ISO 7064 MOD 11-2 as python-stdnum computes it: (1 - 2·N₁₃) mod 11.
    value = (1 - 2 * int(first17, 13)) % 11
    assert id_number_check_char(first17) == ("X" if value == 10 else str(value))
    assert validate_id_number(first17 + id_number_check_char(first17), as_of=AS_OF).error_codes in (
        (),
        (IdErrorCode.BAD_PROVINCE,),
        (IdErrorCode.BAD_BIRTH_DATE,),
        (IdErrorCode.BAD_PROVINCE, IdErrorCode.BAD_BIRTH_DATE),
    )


@given(st.text())
def test_normalize_is_idempotent(raw: str) -> None:
    once = normalize_id_number(raw)
    assert normalize_id_number(once) == once
    assert validate_id_number(raw, as_of=AS_OF).normalized == once
