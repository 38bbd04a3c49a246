"""The bank files' plaintext: amounts written and read exactly in fen, the bank's failure
wording normalised, and a results file checked whole, every bad row named with its column."""

from __future__ import annotations

import pytest

from shebao.payments.domain.bankfile import (
    PAYMENT_FILE_HEADER,
    RESULT_FILE_HEADER,
    FailureReason,
    Outcome,
    PaymentLine,
    csv_bytes,
    fen_to_yuan,
    normalise_failure_reason,
    payment_file_rows,
    read_results,
    yuan_to_fen_strict,
)

pytestmark = pytest.mark.unit


def test_amounts_written_and_read_exactly() -> None:
    assert fen_to_yuan(123450) == "1234.50"
    assert fen_to_yuan(5) == "0.05"
    assert fen_to_yuan(0) == "0.00"
    assert yuan_to_fen_strict("1234.50") == 123450
    assert yuan_to_fen_strict("1234.5") == 123450
    assert yuan_to_fen_strict("1234") == 123400
    assert yuan_to_fen_strict("0.01") == 1
    # 0.1 + 0.2 style float errors cannot happen: every value round-trips.
    for fen in (1, 10, 99, 100, 101, 29_999, 300_000, 123_456_789_01):
        assert yuan_to_fen_strict(fen_to_yuan(fen)) == fen


@pytest.mark.parametrize("text", ["", "1,234.50", "-1.00", "+1", "1.234", "1e3", "壹元", ".5"])
def test_bank_amounts_anything_else_is_refused(text: str) -> None:
    assert yuan_to_fen_strict(text) is None


def test_payment_file_rows_follow_the_header() -> None:
    line = PaymentLine(
        "P1-000001",
        "420702199001011234",
        "张三",
        "A12345678",
        "6228480012345678",
        300000,
        "城乡居民基本养老保险待遇",
        "2026-11",
    )
    rows = list(payment_file_rows([line, line]))
    assert [r[0] for r in rows] == [1, 2]
    assert dict(zip(PAYMENT_FILE_HEADER, rows[0], strict=True))["金额（元）"] == "3000.00"


@pytest.mark.parametrize(
    ("wording", "reason"),
    [
        ("账户已销户", FailureReason.ACCOUNT_CLOSED),
        ("该账户已注销", FailureReason.ACCOUNT_CLOSED),
        ("账户冻结", FailureReason.ACCOUNT_FROZEN),
        ("司法止付", FailureReason.ACCOUNT_FROZEN),
        ("户名不符", FailureReason.NAME_MISMATCH),
        ("姓名不一致", FailureReason.NAME_MISMATCH),
        ("账号不存在", FailureReason.NO_SUCH_ACCOUNT),
        ("余额不足", FailureReason.INSUFFICIENT_FUNDS),
        ("系统繁忙", FailureReason.OTHER),
    ],
)
def test_failure_wording_normalised(wording: str, reason: FailureReason) -> None:
    assert normalise_failure_reason(wording) is reason


def _results(*rows: tuple[object, ...]) -> bytes:
    return csv_bytes(RESULT_FILE_HEADER, rows)


def test_a_good_results_file() -> None:
    read = read_results(
        _results(
            ("p1-000001", "420702199001011234", "6228480012345678", "3000.00", "成功", ""),
            ("P1-000002", "420702199001011250", "6228 4800 1234 5679", "150.5", "失败", "账户冻结"),
        )
    )
    assert read.errors == ()
    first, second = read.lines
    assert (first.reference, first.outcome, first.amount_fen, first.reason) == (
        "P1-000001",
        Outcome.SUCCEEDED,
        300000,
        None,
    )
    assert (second.outcome, second.amount_fen, second.reason, second.reason_text) == (
        Outcome.FAILED,
        15050,
        FailureReason.ACCOUNT_FROZEN,
        "账户冻结",
    )
    assert second.account_number == "6228480012345679"


def test_every_bad_row_is_named_with_its_column() -> None:
    read = read_results(
        _results(
            ("P1-000001", "420702199001011234", "6228480012345678", "3000.00", "成功", ""),
            ("P1-000002", "420702199001011250", "6228480012345679", "1,000.00", "成功", ""),
            ("P1-000003", "420702199001011269", "6228480012345670", "10.00", "失败", ""),
            ("P1-000001", "420702199001011234", "6228480012345678", "3000.00", "成功", ""),
            ("P1-000004", "420702199001011277", "12", "10.00", "退回", ""),
        )
    )
    assert [(e.row, e.column) for e in read.errors] == [
        (2, "金额（元）"),
        (3, "失败原因"),
        (4, "流水号"),
        (5, "银行账号"),
        (5, "结果"),
    ]
    assert read.errors[2].message() == "第 4 行“流水号”列：与第 1 行重复"
    assert [line.reference for line in read.lines] == ["P1-000001"]


def test_missing_columns_and_wrong_encoding() -> None:
    read = read_results("流水号,结果\nP1-000001,成功\n".encode())
    assert {e.column for e in read.errors} == {"社会保障号码", "银行账号", "金额（元）", "失败原因"}
    assert all(e.row == 0 for e in read.errors)
    gbk = (
        _results(
            ("P1-000001", "420702199001011234", "6228480012345678", "1.00", "失败", "户名不符")
        )
        .decode()
        .encode("gb18030")
    )
    assert read_results(gbk).lines[0].reason is FailureReason.NAME_MISMATCH


def test_a_formula_in_a_cell_is_never_live() -> None:
    content = csv_bytes(
        PAYMENT_FILE_HEADER, [(1, "P1-1", "x", "=HYPERLINK(1)", "", "", "", "", "")]
    )
    assert b"'=HYPERLINK" in content
