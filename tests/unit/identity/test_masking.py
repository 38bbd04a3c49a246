from __future__ import annotations

import pytest

from shebao.identity.masking import mask_bank_account, mask_id_number, mask_name, mask_phone

pytestmark = pytest.mark.unit


def test_standard_shapes() -> None:
    assert mask_id_number("420702199001011234") == "420702********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_bank_account("6228480012345678901") == "6228********8901"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三明", "张*明"),
        ("张三", "张*"),
        ("欧阳娜娜", "欧**娜"),
        ("张", "*"),
        ("买买提·艾力", "买****力"),
        ("", ""),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize("mask", [mask_id_number, mask_phone, mask_bank_account, mask_name])
def test_empty_input(mask: object) -> None:
    assert mask("") == ""  # type: ignore[operator]


@pytest.mark.parametrize(
    "value", ["420702900101123", "1", "12", "1234567", "12345678901234567890123", "6228480"]
)
def test_other_lengths_never_reveal_more_than_half(value: str) -> None:
    for mask in (mask_id_number, mask_phone, mask_bank_account):
        masked = mask(value)
        shown = sum(1 for ch in masked if ch != "*")
        assert shown <= len(value) // 2, (mask.__name__, value, masked)
        assert "*" in masked


def test_fifteen_digit_id_number() -> None:
    assert mask_id_number("420702900101123") == "4207********123"


def test_bank_account_mask_hides_the_length() -> None:
    assert mask_bank_account("6228480012345678") == "6228********5678"
    assert mask_bank_account("622848001") == "62********01"
