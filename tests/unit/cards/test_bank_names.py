"""A bank as people write it, matched to the cooperating banks (issue #10, item 12): the
canonical name, or a well-known short name only where it fits exactly one of them."""

from __future__ import annotations

from shebao.cards.domain.eligibility import resolve_bank

BANKS = frozenset({"农业银行", "邮储银行", "鄂州农商银行"})


def test_canonical_names_and_common_abbreviations() -> None:
    assert resolve_bank("中国农业银行", BANKS) == "农业银行"
    assert resolve_bank("农行", BANKS) == "农业银行"
    assert resolve_bank("中国邮政储蓄银行", BANKS) == "邮储银行"
    assert resolve_bank("鄂州农村商业银行", BANKS) == "鄂州农商银行"


def test_a_short_name_fitting_one_cooperating_bank() -> None:
    assert resolve_bank("农商银行", BANKS) == "鄂州农商银行"
    assert resolve_bank("农村商业银行", BANKS) == "鄂州农商银行"


def test_ambiguous_or_unknown_names_are_refused() -> None:
    two = BANKS | {"黄石农商银行"}
    assert resolve_bank("农商银行", two) is None
    assert resolve_bank("银行", frozenset({"鄂州农商银行"})) is None  # names no kind of bank
    assert resolve_bank("建设银行", BANKS) is None
    assert resolve_bank("", BANKS) is None
