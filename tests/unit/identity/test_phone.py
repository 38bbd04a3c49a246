from __future__ import annotations

import pytest

from shebao.identity.phone import (
    PhoneErrorCode,
    is_valid_mobile,
    normalize_mobile,
    validate_mobile,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "0086-13812345678",
        "8613812345678",
        "１３８１２３４５６７８",
        "\u3000138\u30001234\u30005678\u3000",
        "（+86）13812345678",
        "19912345678",
    ],
)
def test_valid_mobiles(raw: str) -> None:
    check = validate_mobile(raw)
    assert check.ok, check.errors
    assert check.normalized in {"13812345678", "19912345678"}
    assert is_valid_mobile(raw)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", PhoneErrorCode.EMPTY),
        ("  ", PhoneErrorCode.EMPTY),
        ("138abc45678", PhoneErrorCode.BAD_FORMAT),
        ("1381234567", PhoneErrorCode.BAD_LENGTH),
        ("138123456789", PhoneErrorCode.BAD_LENGTH),
        ("12812345678", PhoneErrorCode.BAD_PREFIX),
        ("10012345678", PhoneErrorCode.BAD_PREFIX),
        ("23812345678", PhoneErrorCode.BAD_PREFIX),
        ("010-12345678", PhoneErrorCode.BAD_PREFIX),  # a landline
        ("861381234567", PhoneErrorCode.BAD_LENGTH),  # 86 + 10 digits: not a country code
    ],
)
def test_invalid_mobiles(raw: str, code: PhoneErrorCode) -> None:
    check = validate_mobile(raw)
    assert check.error_codes == (code,)
    if code is not PhoneErrorCode.EMPTY:
        assert check.errors[0].message.startswith("手机号码格式不正确")


def test_normalize_keeps_unknown_input_recognisable() -> None:
    assert normalize_mobile("+86 138-1234-5678") == "13812345678"
    assert normalize_mobile("861381234567") == "861381234567"
