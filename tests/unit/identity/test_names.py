from __future__ import annotations

import pytest

from shebao.identity.names import (
    MIDDLE_DOT,
    NameErrorCode,
    is_valid_name,
    normalize_name,
    validate_name,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("張偉", "张伟"),
        ("歐陽娜娜", "欧阳娜娜"),
        (" 张 三 ", "张三"),
        ("\u3000张\u3000三\u3000", "张三"),
        ("张\u200b三", "张三"),
        ("买买提•艾力", "买买提·艾力"),
        ("买买提.艾力", "买买提·艾力"),
        ("买买提．艾力", "买买提·艾力"),
        ("买买提・艾力", "买买提·艾力"),
        ("买买提･艾力", "买买提·艾力"),
        ("买买提‧艾力", "买买提·艾力"),
        ("买买提\u0387艾力", "买买提·艾力"),
        ("买买提⋅艾力", "买买提·艾力"),
        ("买买提∙艾力", "买买提·艾力"),
        ("买买提··•艾力", "买买提·艾力"),
        ("·买买提·艾力·", "买买提·艾力"),
        ("买买提 · 艾力", "买买提·艾力"),
    ],
)
def test_normalize_chinese_names(raw: str, normalized: str) -> None:
    assert normalize_name(raw) == normalized
    assert validate_name(raw).normalized == normalized
    assert is_valid_name(raw)


def test_normalize_is_cached_and_stable() -> None:
    assert normalize_name("張偉") == normalize_name("張偉") == "张伟"
    assert normalize_name(normalize_name("買買提•艾力")) == "买买提·艾力"
    assert MIDDLE_DOT == "\u00b7"


@pytest.mark.parametrize(
    ("raw", "codes"),
    [
        ("", (NameErrorCode.EMPTY,)),
        ("  \u3000", (NameErrorCode.EMPTY,)),
        ("··", (NameErrorCode.EMPTY,)),
        ("张3", (NameErrorCode.HAS_DIGIT,)),
        ("张三①", (NameErrorCode.HAS_DIGIT,)),
        ("Zhang San", (NameErrorCode.HAS_LATIN,)),
        ("张San", (NameErrorCode.HAS_LATIN,)),
        ("张三!", (NameErrorCode.BAD_CHARACTER,)),
        ("张三😀", (NameErrorCode.BAD_CHARACTER,)),
        ("张-三", (NameErrorCode.BAD_CHARACTER,)),
        ("张3a!", (NameErrorCode.HAS_DIGIT, NameErrorCode.HAS_LATIN, NameErrorCode.BAD_CHARACTER)),
        ("张" * 31, (NameErrorCode.TOO_LONG,)),
    ],
)
def test_rejections(raw: str, codes: tuple[NameErrorCode, ...]) -> None:
    check = validate_name(raw)
    assert check.error_codes == codes
    assert not check.ok


def test_messages_are_chinese() -> None:
    assert validate_name("张3").errors[0].message == "姓名不能包含数字"
    assert validate_name("Zhang").errors[0].message == "姓名不能包含英文字母"
    assert validate_name("").errors[0].message == "姓名不能为空"


def test_thirty_characters_is_the_limit() -> None:
    assert validate_name("张" * 30).ok


def test_foreign_names() -> None:
    check = validate_name("Ｊｏｈｎ\u3000Ｓｍｉｔｈ", allow_foreign=True)
    assert check.ok
    assert check.normalized == "John Smith"
    assert validate_name("  Mary-Jane   O'Neil ", allow_foreign=True).normalized == (
        "Mary-Jane O'Neil"
    )
    assert validate_name("J. R. R. Tolkien", allow_foreign=True).normalized == "J. R. R. Tolkien"
    assert validate_name("José Müller", allow_foreign=True).ok
    assert validate_name("张John", allow_foreign=True).ok
    # Chinese names still lose their spaces when foreign names are allowed.
    assert validate_name("张 三", allow_foreign=True).normalized == "张三"
    assert validate_name("John 3rd", allow_foreign=True).error_codes == (NameErrorCode.HAS_DIGIT,)
    assert validate_name("John@Smith", allow_foreign=True).error_codes == (
        NameErrorCode.BAD_CHARACTER,
    )
    assert validate_name("-'.", allow_foreign=True).error_codes == (NameErrorCode.BAD_CHARACTER,)
    assert validate_name("A" * 101, allow_foreign=True).error_codes == (NameErrorCode.TOO_LONG,)
    # Without allow_foreign, Latin letters are rejected.
    assert validate_name("John Smith").error_codes == (NameErrorCode.HAS_LATIN,)
