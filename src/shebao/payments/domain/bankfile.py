"""The files exchanged with a cooperating bank for payments into the card (代发) and for
contributions taken from it (代扣): their columns, how a row is written and how the bank's
results file is read and checked.

Both directions are CSV (UTF-8, Chinese headers) sealed in the cards' SM4 + SM3 exchange
format by the services; this module only knows the plaintext. Amounts are integer fen in the
system; in the files they are written in yuan with exactly two decimals, because that is what
the banks' batch systems read, and read back exactly (no float ever): `12.30` is 1230 fen,
`12.345` is refused.

A results row names the row it answers by its reference (流水号, unique per row the system
ever sent); it says 成功 (paid / deducted, with the amount the bank actually moved) or 失败
with a reason. The reasons the banks report are normalised to a few codes so failures can be
queued and counted; the bank's own wording is kept beside the code.

Reading never stops at the first bad row: every error is collected with the row (the 1-based
data row, the header not counted) and the column, so the bank can fix its file in one go; the
services import nothing while there is any error.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from shebao.identity.spreadsheet import safe_csv_writer

__all__ = [
    "DEDUCTION_FILE_HEADER",
    "PAYMENT_FILE_HEADER",
    "RESULT_FILE_HEADER",
    "DeductionLine",
    "FailureReason",
    "Outcome",
    "PaymentLine",
    "ResultLine",
    "ResultsRead",
    "RowError",
    "csv_bytes",
    "deduction_file_rows",
    "fen_to_yuan",
    "normalise_failure_reason",
    "payment_file_rows",
    "read_results",
    "result_file_rows",
    "yuan_to_fen_strict",
]

PAYMENT_FILE_HEADER: Final[tuple[str, ...]] = (
    "序号",
    "流水号",
    "社会保障号码",
    "姓名",
    "社保卡号",
    "银行账号",
    "金额（元）",
    "发放项目",
    "发放期别",
)
DEDUCTION_FILE_HEADER: Final[tuple[str, ...]] = (
    "序号",
    "流水号",
    "社会保障号码",
    "姓名",
    "银行账号",
    "险种",
    "扣款期别",
    "金额（元）",
)
RESULT_FILE_HEADER: Final[tuple[str, ...]] = (
    "流水号",
    "社会保障号码",
    "银行账号",
    "金额（元）",
    "结果",
    "失败原因",
)

_REFERENCE_RE: Final[re.Pattern[str]] = re.compile(r"^[A-Z0-9-]{4,40}$")
_YUAN_RE: Final[re.Pattern[str]] = re.compile(r"^(\d{1,12})(?:\.(\d{1,2}))?$")
_SUCCESS_WORDS: Final[frozenset[str]] = frozenset(
    {"成功", "已发放", "发放成功", "已扣款", "扣款成功", "1", "ok", "success"}
)
_FAILURE_WORDS: Final[frozenset[str]] = frozenset(
    {"失败", "发放失败", "扣款失败", "0", "failed", "fail"}
)


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class FailureReason(StrEnum):
    """What the banks report when money could not be moved, normalised."""

    ACCOUNT_CLOSED = "account_closed"
    ACCOUNT_FROZEN = "account_frozen"
    NAME_MISMATCH = "name_mismatch"
    NO_SUCH_ACCOUNT = "no_such_account"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS: Final[dict[FailureReason, str]] = {
    FailureReason.ACCOUNT_CLOSED: "账户已销户",
    FailureReason.ACCOUNT_FROZEN: "账户冻结",
    FailureReason.NAME_MISMATCH: "户名不符",
    FailureReason.NO_SUCH_ACCOUNT: "账号不存在",
    FailureReason.INSUFFICIENT_FUNDS: "余额不足",
    FailureReason.OTHER: "其他原因",
}
# Checked in order: the first keyword found in the bank's wording decides.
_REASON_KEYWORDS: Final[tuple[tuple[str, FailureReason], ...]] = (
    ("销户", FailureReason.ACCOUNT_CLOSED),
    ("已注销", FailureReason.ACCOUNT_CLOSED),
    ("账户注销", FailureReason.ACCOUNT_CLOSED),
    ("冻结", FailureReason.ACCOUNT_FROZEN),
    ("止付", FailureReason.ACCOUNT_FROZEN),
    ("户名", FailureReason.NAME_MISMATCH),
    ("姓名不符", FailureReason.NAME_MISMATCH),
    ("姓名不一致", FailureReason.NAME_MISMATCH),
    ("不存在", FailureReason.NO_SUCH_ACCOUNT),
    ("无此账", FailureReason.NO_SUCH_ACCOUNT),
    ("账号错误", FailureReason.NO_SUCH_ACCOUNT),
    ("余额不足", FailureReason.INSUFFICIENT_FUNDS),
    ("金额不足", FailureReason.INSUFFICIENT_FUNDS),
)


def normalise_failure_reason(text: str) -> FailureReason:
    compact = "".join(text.split())
    for keyword, reason in _REASON_KEYWORDS:
        if keyword in compact:
            return reason
    return FailureReason.OTHER


def fen_to_yuan(fen: int) -> str:
    """Exact: 123450 → "1234.50", 5 → "0.05"."""
    if fen < 0:
        raise ValueError("negative amounts are never written to a bank file")
    return f"{fen // 100}.{fen % 100:02d}"


def yuan_to_fen_strict(text: str) -> int | None:
    """A bank file's amount ("1234.50", "1234.5", "1234") as fen, or None if it is anything
    else (thousands separators, signs, more than two decimals, blanks): bank files are
    machine-written, so a lenient reading would hide a broken file."""
    match = _YUAN_RE.match(text.strip())
    if match is None:
        return None
    whole, cents = match.group(1), match.group(2) or ""
    return int(whole) * 100 + int(cents.ljust(2, "0"))


@dataclass(frozen=True, slots=True)
class PaymentLine:
    reference: str
    id_number: str
    name: str
    card_number: str
    account_number: str
    amount_fen: int
    programme: str
    period: str


@dataclass(frozen=True, slots=True)
class DeductionLine:
    reference: str
    id_number: str
    name: str
    account_number: str
    scheme: str
    period: str
    amount_fen: int


def payment_file_rows(lines: Iterable[PaymentLine]) -> Iterable[tuple[object, ...]]:
    """The data rows of a payment file, numbered from 1, in the header's order."""
    for n, line in enumerate(lines, start=1):
        yield (
            n,
            line.reference,
            line.id_number,
            line.name,
            line.card_number,
            line.account_number,
            fen_to_yuan(line.amount_fen),
            line.programme,
            line.period,
        )


def deduction_file_rows(lines: Iterable[DeductionLine]) -> Iterable[tuple[object, ...]]:
    for n, line in enumerate(lines, start=1):
        yield (
            n,
            line.reference,
            line.id_number,
            line.name,
            line.account_number,
            line.scheme,
            line.period,
            fen_to_yuan(line.amount_fen),
        )


@dataclass(frozen=True, slots=True)
class ResultLine:
    row: int
    reference: str
    id_number: str
    account_number: str
    amount_fen: int
    outcome: Outcome
    reason: FailureReason | None
    reason_text: str


def result_file_rows(lines: Iterable[ResultLine]) -> Iterable[tuple[object, ...]]:
    """The bank's side (tests, the demo, a bank's tooling): results as rows of the header."""
    for line in lines:
        yield (
            line.reference,
            line.id_number,
            line.account_number,
            fen_to_yuan(line.amount_fen),
            "成功" if line.outcome is Outcome.SUCCEEDED else "失败",
            line.reason_text,
        )


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    reason: str

    def message(self) -> str:
        where = "表头" if self.row == 0 else f"第 {self.row} 行"
        return f"{where}“{self.column}”列：{self.reason}"

    def as_detail(self) -> dict[str, object]:
        return {"row": self.row, "field": self.column, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ResultsRead:
    lines: tuple[ResultLine, ...]
    errors: tuple[RowError, ...]


def read_results(content: bytes) -> ResultsRead:
    """Parse and check a results file's plaintext. Every row is checked; rows with an error
    are not in `lines`. A reference twice in one file is an error on the later row (which of
    the two answers would be true cannot be known)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError:
            return ResultsRead((), (RowError(0, "文件", "不是 UTF-8 或 GB18030 编码的文本"),))
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    missing = [h for h in RESULT_FILE_HEADER if h not in header]
    if missing:
        return ResultsRead((), tuple(RowError(0, column, "缺少此列") for column in missing))
    index = {h: header.index(h) for h in RESULT_FILE_HEADER}
    lines: list[ResultLine] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(reader, start=1):
        if not any(cell.strip() for cell in raw):
            continue
        cells = {h: (raw[i].strip() if i < len(raw) else "") for h, i in index.items()}
        row_errors = _check_result_row(n, cells, seen)
        if row_errors:
            errors.extend(row_errors)
            continue
        outcome = Outcome.SUCCEEDED if cells["结果"].lower() in _SUCCESS_WORDS else Outcome.FAILED
        amount = yuan_to_fen_strict(cells["金额（元）"]) or 0  # checked above: never None
        lines.append(
            ResultLine(
                row=n,
                reference=cells["流水号"].upper(),
                id_number=cells["社会保障号码"].upper(),
                account_number=cells["银行账号"].replace(" ", ""),
                amount_fen=amount,
                outcome=outcome,
                reason=normalise_failure_reason(cells["失败原因"])
                if outcome is Outcome.FAILED
                else None,
                reason_text=cells["失败原因"][:255] if outcome is Outcome.FAILED else "",
            )
        )
    return ResultsRead(tuple(lines), tuple(errors))


def _check_result_row(n: int, cells: dict[str, str], seen: dict[str, int]) -> list[RowError]:
    errors: list[RowError] = []
    reference = cells["流水号"].upper()
    if not _REFERENCE_RE.match(reference):
        errors.append(RowError(n, "流水号", "为空或格式不对（应为本系统发出文件中的流水号）"))
    elif reference in seen:
        errors.append(RowError(n, "流水号", f"与第 {seen[reference]} 行重复"))
    else:
        seen[reference] = n
    if not cells["社会保障号码"]:
        errors.append(RowError(n, "社会保障号码", "不能为空"))
    account = cells["银行账号"].replace(" ", "")
    if not account.isdigit() or not 8 <= len(account) <= 32:
        errors.append(RowError(n, "银行账号", "应为 8 至 32 位数字"))
    amount = yuan_to_fen_strict(cells["金额（元）"])
    if amount is None:
        errors.append(
            RowError(
                n, "金额（元）", f"“{cells['金额（元）']}”不是金额（应如 1234.50，至多两位小数）"
            )
        )
    outcome = cells["结果"].lower()
    if outcome in _SUCCESS_WORDS:
        if amount is not None and amount <= 0:
            errors.append(RowError(n, "金额（元）", "成功的记录金额应大于零"))
    elif outcome in _FAILURE_WORDS:
        if not cells["失败原因"]:
            errors.append(RowError(n, "失败原因", "失败的记录须注明原因"))
    else:
        errors.append(RowError(n, "结果", f"“{cells['结果']}”应为“成功”或“失败”"))
    return errors


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The plaintext of a bank file: UTF-8 CSV. Bank clerks open these in a spreadsheet
    too, so no cell can become a live formula."""
    buffer = io.StringIO()
    writer = safe_csv_writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
