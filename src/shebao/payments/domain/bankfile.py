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

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import polars as pl

from shebao.identity.spreadsheet import safe_csv_writer

__all__ = [
    "DEDUCTION_FILE_HEADER",
    "PAYMENT_FILE_HEADER",
    "RESULT_FILE_HEADER",
    "RESULT_FRAME_SCHEMA",
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
    "read_results_frame",
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


def _decode(content: bytes) -> str | None:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("gb18030")
        except UnicodeDecodeError:
            return None


RESULT_FRAME_SCHEMA: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "row_number": pl.Int64,
    "reference": pl.Utf8,
    "id_number": pl.Utf8,
    "account_number": pl.Utf8,
    "outcome": pl.Utf8,
    "amount_fen": pl.Int64,
    "failure_reason": pl.Utf8,
    "failure_text": pl.Utf8,
}


def _reason_expr(text: pl.Expr) -> pl.Expr:
    compact = text.str.replace_all(r"\s", "")
    expr: pl.Expr = pl.lit(FailureReason.OTHER.value)
    for keyword, reason in reversed(_REASON_KEYWORDS):
        expr = (
            pl.when(compact.str.contains(keyword, literal=True))
            .then(pl.lit(reason.value))
            .otherwise(expr)
        )
    return expr


_MAX_RESULT_COLUMNS: Final[int] = 1_024


def read_results_frame(content: bytes) -> tuple[pl.DataFrame, tuple[RowError, ...]]:
    """Parse and check a results file's plaintext, vectorised (a million rows in seconds):
    the good rows as a frame of RESULT_FRAME_SCHEMA and every error, ordered by row. A
    reference twice in one file is an error on the later row (which of the two answers
    would be true cannot be known)."""
    text = _decode(content)
    if text is None:
        return pl.DataFrame(schema=RESULT_FRAME_SCHEMA), (
            RowError(0, "文件", "不是 UTF-8 或 GB18030 编码的文本"),
        )
    columns = text.split("\n", 1)[0].count(",") + 1
    if columns > _MAX_RESULT_COLUMNS:
        # Before polars builds a frame that wide (a million columns: seconds and gigabytes).
        return pl.DataFrame(schema=RESULT_FRAME_SCHEMA), (
            RowError(0, "文件", f"表头有 {columns:,} 列，超过上限 {_MAX_RESULT_COLUMNS:,} 列"),
        )
    try:
        raw = pl.read_csv(
            io.StringIO(text),
            infer_schema_length=0,
            truncate_ragged_lines=True,
        )
    except pl.exceptions.PolarsError:
        # Any unreadable text (a repeated header, an open quote) reads as no columns,
        # so the file is refused for the missing ones.
        raw = pl.DataFrame()
    stripped = [c.strip() for c in raw.columns]
    if len(set(stripped)) < len(stripped):
        # " 结果" and "结果": renaming both would raise polars' DuplicateError (fuzzing).
        return pl.DataFrame(schema=RESULT_FRAME_SCHEMA), (RowError(0, "文件", "表头有重复的列名"),)
    raw = raw.rename(dict(zip(raw.columns, stripped, strict=True)))
    missing = [h for h in RESULT_FILE_HEADER if h not in raw.columns]
    if missing:
        return pl.DataFrame(schema=RESULT_FRAME_SCHEMA), tuple(
            RowError(0, column, "缺少此列") for column in missing
        )
    cells = raw.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("row"),
        *[pl.col(h).fill_null("").str.strip_chars().alias(h) for h in RESULT_FILE_HEADER],
    ).filter(pl.any_horizontal([pl.col(h) != "" for h in RESULT_FILE_HEADER]))
    amount = pl.col("金额（元）").str.extract_groups(r"^(\d{1,12})(?:\.(\d{1,2}))?$")
    outcome = pl.col("结果").str.to_lowercase()
    checked = (
        cells.with_columns(
            pl.col("流水号").str.to_uppercase().alias("reference"),
            pl.col("银行账号").str.replace_all(" ", "", literal=True).alias("account"),
            (
                amount.struct.field("1").cast(pl.Int64, strict=False) * 100
                + amount.struct.field("2")
                .fill_null("")
                .str.pad_end(2, "0")
                .cast(pl.Int64, strict=False)
            ).alias("fen"),
            outcome.is_in(list(_SUCCESS_WORDS)).alias("ok"),
            outcome.is_in(list(_FAILURE_WORDS)).alias("bad"),
        )
        .with_columns(
            pl.col("reference").str.contains(r"^[A-Z0-9-]{4,40}$").alias("ref_ok"),
        )
        .with_columns(
            pl.col("row").min().over("reference").alias("first_row"),
        )
    )
    row, col = pl.col("row"), pl.col
    problems = [
        (1, "流水号", ~col("ref_ok"), pl.lit("为空或格式不对（应为本系统发出文件中的流水号）")),
        (
            1,
            "流水号",
            col("ref_ok") & (row != col("first_row")),
            pl.format("与第 {} 行重复", col("first_row")),
        ),
        (2, "社会保障号码", col("社会保障号码") == "", pl.lit("不能为空")),
        (3, "银行账号", ~col("account").str.contains(r"^\d{8,32}$"), pl.lit("应为 8 至 32 位数字")),
        (
            4,
            "金额（元）",
            col("fen").is_null(),
            pl.format("“{}”不是金额（应如 1234.50，至多两位小数）", col("金额（元）")),
        ),
        (5, "金额（元）", col("ok") & (col("fen") <= 0), pl.lit("成功的记录金额应大于零")),
        (5, "失败原因", col("bad") & (col("失败原因") == ""), pl.lit("失败的记录须注明原因")),
        (
            5,
            "结果",
            ~col("ok") & ~col("bad"),
            pl.format("“{}”应为“成功”或“失败”", col("结果")),
        ),
    ]
    flagged = pl.concat(
        [
            checked.filter(condition.fill_null(False)).select(
                row,
                pl.lit(order).alias("order"),
                pl.lit(column).alias("column"),
                reason.alias("reason"),
            )
            for order, column, condition, reason in problems
        ]
    ).sort(["row", "order"], maintain_order=True)
    errors = tuple(
        RowError(int(r), str(c), str(why))
        for r, c, why in flagged.select("row", "column", "reason").iter_rows()
    )
    bad_rows = flagged["row"].unique()
    good = checked.filter(~pl.col("row").is_in(bad_rows.implode())).select(
        pl.col("row").alias("row_number"),
        "reference",
        pl.col("社会保障号码").str.to_uppercase().alias("id_number"),
        pl.col("account").alias("account_number"),
        pl.when(pl.col("ok"))
        .then(pl.lit(Outcome.SUCCEEDED.value))
        .otherwise(pl.lit(Outcome.FAILED.value))
        .alias("outcome"),
        pl.col("fen").alias("amount_fen"),
        pl.when(pl.col("ok"))
        .then(pl.lit(""))
        .otherwise(_reason_expr(pl.col("失败原因")))
        .alias("failure_reason"),
        pl.when(pl.col("ok"))
        .then(pl.lit(""))
        .otherwise(pl.col("失败原因").str.slice(0, 255))
        .alias("failure_text"),
    )
    return good.select([pl.col(c).cast(t) for c, t in RESULT_FRAME_SCHEMA.items()]), errors


def read_results(content: bytes) -> ResultsRead:
    """`read_results_frame` as objects, for small files and tests."""
    good, errors = read_results_frame(content)
    lines = tuple(
        ResultLine(
            row=r["row_number"],
            reference=r["reference"],
            id_number=r["id_number"],
            account_number=r["account_number"],
            amount_fen=r["amount_fen"],
            outcome=Outcome(r["outcome"]),
            reason=FailureReason(r["failure_reason"]) if r["failure_reason"] else None,
            reason_text=r["failure_text"],
        )
        for r in good.iter_rows(named=True)
    )
    return ResultsRead(lines, errors)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The plaintext of a bank file: UTF-8 CSV. Bank clerks open these in a spreadsheet
    too, so no cell can become a live formula."""
    buffer = io.StringIO()
    writer = safe_csv_writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
