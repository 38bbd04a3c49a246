"""The check of a payment batch, row by row, over whole tables at once (DuckDB + Polars).

Used by `shebao payments check` (files) and by the application (frames built from the
database): both give the same frames to `check_batch` and get the same verdicts.

Inputs (Polars DataFrames; any other columns are ignored; text cells may be null):

    batch       row (Int64, the 1-based data row), id_number, name, amount (yuan as written)
    population  id_number, name, status ("alive"/"deceased"/"moved_out" or 正常/死亡/迁出),
                death_date (may be null)
    cards       id_number, status (正常/挂失/注销), account_status (已开户/未开户/开户失败)
    deaths      id_number, death_date                               — optional
    prison      id_number, sentence_start, sentence_end (null: still serving) — optional
    paid        id_number, programme, period (text, YYYY-MM)        — optional

Dates are Date columns or text in any form the intake reads (1990-01-02, 1990/1/2, 19900102,
1990年1月2日). Text is compared trimmed. The large inputs (population, cards) are cut down to
the batch's people first, in DuckDB, and only those rows are parsed: a file's cells go in as
read, a 10-million-person population costs one normalisation and one hash probe per row.

ID numbers are compared in their normalised form (`shebao_normalize_id`: full-width, blanks,
lower-case x, 15 digits upgraded), whatever form each input has; they are validated (GB 11643)
only in the batch. Names are compared after `normalize_name` (traditional forms, blanks,
middle dots), computed once per distinct name and only where the names differ as written.

The rules (the codes of `Reason`, all that apply listed, in that order):

- INVALID_ID: the batch's number fails GB 11643 (as of `as_of`). The other rules are still
  applied to the number as normalised (every failing code is listed, as the contract says):
  a mistyped number is, as a rule, also not in the population and has no card account.
- NOT_IN_POPULATION, NAME_MISMATCH (against any name the population gives the number).
- DECEASED: died before the period's first day — a death date (population or deaths file)
  before it, or the population status 死亡 or a deaths-file row with no readable death date
  (the day is unknown; paying a dead person is the error that must not happen). A death on
  or after the first day does not stop the period's payment.
- IMPRISONED: the programme stops in prison and a sentence covers the first day (start and
  end dates inclusive; no end date: still serving; no readable start date: not counted).
- NO_CARD_ACCOUNT: no card in status 正常 or 挂失 whose 开户状态 is 已开户.
- DUPLICATE_IN_BATCH: the same (normalised) number on an earlier row; the first row is
  checked on its own merits.
- ALREADY_PAID: the same number, programme name and period in the earlier payments.
- AMOUNT_INVALID: `amounts.check_amount` with the programme's max_amount_fen.
"""

# ruff: noqa: S608 - SQL here is assembled from this module's constants; file contents only
# ever reach DuckDB as registered tables or bound parameters.
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import duckdb
import polars as pl

from shebao.errors import ShebaoError
from shebao.identity.duckdb_sql import register_identity_macros
from shebao.identity.id_number import IdErrorCode
from shebao.identity.names import normalize_name
from shebao.intake.formats import PersonStatus, register_intake_macros
from shebao.intake.formats.kinds import PERSON_STATUS_VALUES
from shebao.intake.formats.readers import INVISIBLE_CHARS
from shebao.payments.domain.amounts import AmountProblem, amounts_to_fen
from shebao.payments.domain.programme import PaymentProgramme, Period, PeriodForm, parse_period
from shebao.payments.domain.reasons import REASON_SEPARATOR, Reason

__all__ = [
    "ACCOUNT_OPEN",
    "DECEASED_STATUSES",
    "HOLDING_CARD_STATUSES",
    "OUTPUT_COLUMNS",
    "CheckResult",
    "check_batch",
]

HOLDING_CARD_STATUSES: Final[tuple[str, ...]] = ("正常", "挂失")
ACCOUNT_OPEN: Final[str] = "已开户"
# The population's 人员状态 meaning dead: the intake's words for it and its code.
DECEASED_STATUSES: Final[tuple[str, ...]] = (
    PersonStatus.DECEASED.value,
    *(word for word, code in PERSON_STATUS_VALUES.items() if code == PersonStatus.DECEASED),
)
# The columns of the contract file payments.csv, in order.
OUTPUT_COLUMNS: Final[tuple[str, ...]] = (
    "row",
    "id_number",
    "name",
    "amount_fen",
    "payable",
    "reasons",
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """`frame`, one row per batch row in row order: row, id_number (normalised when valid,
    else as written), name (as written), amount_fen (Int64, null when unusable), payable
    (Boolean), reasons (codes in Reason order joined by ';', "" when payable), messages
    (Chinese, joined by '；'), id_error (IdErrorCode value or null), amount_problem
    (AmountProblem value or null), first_row (the earlier row of a duplicate, or null)."""

    frame: pl.DataFrame
    programme: PaymentProgramme
    period: Period

    @property
    def rows(self) -> int:
        return self.frame.height

    @property
    def payable_rows(self) -> int:
        return int(self.frame["payable"].sum())

    @property
    def payable_fen(self) -> int:
        """The exact total of the payable rows (integer fen)."""
        total = self.frame.filter(pl.col("payable"))["amount_fen"].sum()
        return int(total or 0)

    def counts(self) -> dict[Reason, int]:
        """Rows per reason, every reason present (0 when none), in Reason order."""
        counted = (
            self.frame.select(pl.col("reasons").str.split(REASON_SEPARATOR).alias("r"))
            .explode("r")
            .filter(pl.col("r") != "")
            .group_by("r")
            .len()
        )
        found = dict(zip(counted["r"].to_list(), counted["len"].to_list(), strict=True))
        return {reason: int(found.get(reason.value, 0)) for reason in Reason}

    def summary(self) -> dict[str, Any]:
        """The contract's summary.json: rows, payable_rows, payable_fen and `reasons`, the
        rows per reason code (every code, 0 included, in Reason order)."""
        return {
            "rows": self.rows,
            "payable_rows": self.payable_rows,
            "payable_fen": self.payable_fen,
            "reasons": {reason.value: count for reason, count in self.counts().items()},
        }


class CheckInputError(ShebaoError):
    def __init__(self, message: str) -> None:
        super().__init__(code="CHECK_INPUT_INVALID", message=message, status=422)


def _text(frame: pl.DataFrame, column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).fill_null("").str.strip_chars().alias(column)


def _require(frame: pl.DataFrame, what: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CheckInputError(f"{what}缺少列：{'、'.join(missing)}")


def _as_given(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """The columns as they are (absent ones null text), for DuckDB to read without a copy."""
    return frame.select(
        pl.col(c) if c in frame.columns else pl.lit(None, dtype=pl.String).alias(c) for c in columns
    )


def _date_sql(frame: pl.DataFrame, column: str) -> str:
    """SQL reading `column` as a DATE: as it is, or parsed as the intake parses dates."""
    if frame.schema[column] in (pl.Date, pl.Datetime):
        return f"CAST({column} AS DATE)"
    return f"shebao_parse_date(trim(CAST({column} AS VARCHAR)))"


def check_batch(
    batch: pl.DataFrame,
    population: pl.DataFrame,
    cards: pl.DataFrame,
    *,
    programme: PaymentProgramme,
    period: Period,
    as_of: date,
    deaths: pl.DataFrame | None = None,
    prison: pl.DataFrame | None = None,
    paid: pl.DataFrame | None = None,
    memory_limit: str | None = None,
) -> CheckResult:
    """Check every row of `batch` (see the module's docstring for the frames and rules)."""
    _require(batch, "发放批次", ("row", "id_number", "name", "amount"))
    _require(population, "人口库", ("id_number", "name", "status"))
    _require(cards, "持卡数据", ("id_number", "status", "account_status"))
    if deaths is not None:
        _require(deaths, "死亡人员数据", ("id_number", "death_date"))
    if prison is not None:
        _require(prison, "服刑人员数据", ("id_number", "sentence_start"))
    if paid is not None:
        _require(paid, "已发放数据", ("id_number", "programme", "period"))

    amounts = amounts_to_fen(
        batch["amount"].cast(pl.String), max_fen=programme.max_amount_fen
    ).rename({"fen": "amount_fen", "problem": "amount_problem"})
    rows = batch.select(
        pl.col("row").cast(pl.Int64),
        _text(batch, "id_number"),
        pl.col("name").cast(pl.String).fill_null(""),
    ).hstack(amounts)
    con = duckdb.connect()
    try:
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit.replace(chr(39), '')}'")
        register_identity_macros(con)
        register_intake_macros(con)
        ids = _batch_ids(con, rows, as_of)
        flags = _flags(
            con,
            population=_batch_people(population, ids),
            cards=_batch_people(cards, ids),
            deaths=None if deaths is None else _batch_people(deaths, ids),
            prison=None if prison is None else _batch_people(prison, ids),
            paid=_paid_this_period(
                None if paid is None else _batch_people(paid, ids), programme, period
            ),
            programme=programme,
            first_day=period.first_day,
        )
        flags = _name_mismatch(con, flags)
    finally:
        con.close()
    return CheckResult(_reasons(flags, programme.max_amount_fen), programme, period)


def _paid_this_period(
    paid: pl.DataFrame | None, programme: PaymentProgramme, period: Period
) -> pl.DataFrame:
    """The ID numbers paid under this programme and period. Periods are compared as periods
    (2026-3, 202603 and 2026-03 are one), each distinct text parsed once; a text that is no
    period matches nothing."""
    if paid is None or paid.is_empty():
        return pl.DataFrame({"id_number": []}, schema={"id_number": pl.String})
    frame = paid.select(_text(paid, "id_number"), _text(paid, "programme"), _text(paid, "period"))
    frame = frame.filter(pl.col("programme") == programme.name.strip())
    periods: dict[str, str | None] = {}
    for text in frame["period"].unique().to_list():
        try:
            periods[text] = str(parse_period(text, PeriodForm.MONTH))
        except ShebaoError:
            periods[text] = None
    wanted = str(period)
    return frame.filter(
        pl.col("period").replace_strict(periods, return_dtype=pl.String) == wanted
    ).select("id_number")


def _batch_ids(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, as_of: date) -> pl.Series:
    """Table `b` (the batch's rows with their numbers normalised and validated) and `ids`
    (its distinct normalised numbers), which is also returned."""
    con.register("batch_in", rows.to_arrow())
    con.execute(
        """CREATE TEMP TABLE b AS
           SELECT row, id_number AS id_raw, name, amount_fen, amount_problem,
                  shebao_normalize_id(id_number) AS id_norm,
                  shebao_id_error(id_number, $as_of) AS id_error
           FROM batch_in""",
        {"as_of": as_of},
    )
    con.unregister("batch_in")
    con.execute(
        "CREATE TEMP TABLE ids AS SELECT DISTINCT id_norm AS id FROM b WHERE id_norm IS NOT NULL"
    )
    return con.sql("SELECT id FROM ids").pl()["id"]


_DIGITS_OR_X: Final[tuple[str, ...]] = (*"0123456789", "X")


def _batch_people(frame: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """The rows of a large input (a 10-million-person population, its cards) that can
    concern the batch's people, their text cells trimmed as the intake trims them (blank →
    null): a row whose number as written is one of the batch's normalised numbers, or
    whose number is not already in normalised form (18 characters, 17 digits and a digit
    or X) and may normalise to one. Every other row is dropped before any cell is parsed:
    the costly normalisation and trimming run on the few rows left, the exact test of
    normalised form is a length and an integer parse, not a regular expression."""
    if "id_number" not in frame.columns or frame.is_empty():
        return frame
    raw = pl.col("id_number").cast(pl.String)
    normalised = (
        (raw.str.len_bytes() == 18)
        & raw.str.slice(0, 17).cast(pl.UInt64, strict=False).is_not_null()
        & ~raw.str.starts_with("+")
        & raw.str.slice(17, 1).is_in(_DIGITS_OR_X)
    )
    wanted = frame.filter(raw.is_in(ids.implode()) | ~normalised.fill_null(False))
    texts = [name for name, dtype in wanted.schema.items() if dtype == pl.String]
    return wanted.with_columns(
        pl.col(texts).str.strip_chars(INVISIBLE_CHARS).replace("", None)
    ).filter(pl.any_horizontal(pl.col(c).is_not_null() for c in wanted.columns))


def _flags(
    con: duckdb.DuckDBPyConnection,
    *,
    population: pl.DataFrame,
    cards: pl.DataFrame,
    deaths: pl.DataFrame | None,
    prison: pl.DataFrame | None,
    paid: pl.DataFrame,
    programme: PaymentProgramme,
    first_day: date,
) -> pl.DataFrame:
    # Each input was cut down to the rows that can concern the batch's people
    # (`_batch_people`); the semi-joins on the normalised numbers below are exact.
    pop = _as_given(population, ("id_number", "name", "status", "death_date"))
    con.register("population_in", pop.to_arrow())
    statuses = ", ".join(f"'{s}'" for s in DECEASED_STATUSES)
    con.execute(
        f"""CREATE TEMP TABLE pop AS
            SELECT id, coalesce(trim(name), '') AS name,
                   trim(status) IN ({statuses})
                       OR shebao_code_text(trim(status)) IN ({statuses}) AS status_deceased,
                   {_date_sql(pop, "death_date")} AS death_date
            FROM (SELECT shebao_normalize_id(id_number) AS id, * FROM population_in)
            WHERE id IN (SELECT id FROM ids)"""
    )
    con.unregister("population_in")
    death_rows = _as_given(
        deaths if deaths is not None else pl.DataFrame(schema={"id_number": pl.String}),
        ("id_number", "death_date"),
    )
    con.register("deaths_in", death_rows.to_arrow())
    con.execute(
        f"""CREATE TEMP TABLE dead AS
            SELECT id, bool_or(died_before) AS died_before FROM (
                SELECT id, (death_date IS NULL AND status_deceased)
                           OR death_date < $first_day AS died_before FROM pop
                UNION ALL
                SELECT id, coalesce({_date_sql(death_rows, "death_date")} < $first_day, true)
                FROM (SELECT shebao_normalize_id(id_number) AS id, * FROM deaths_in)
                WHERE id IN (SELECT id FROM ids))
            GROUP BY id""",
        {"first_day": first_day},
    )
    serving = _as_given(
        prison
        if programme.stops_in_prison and prison is not None
        else pl.DataFrame(schema={"id_number": pl.String}),
        ("id_number", "sentence_start", "sentence_end"),
    )
    con.register("prison_in", serving.to_arrow())
    con.execute(
        f"""CREATE TEMP TABLE jailed AS
            SELECT DISTINCT id FROM (
                SELECT id, {_date_sql(serving, "sentence_start")} AS sentence_start,
                       {_date_sql(serving, "sentence_end")} AS sentence_end
                FROM (SELECT shebao_normalize_id(id_number) AS id, * FROM prison_in)
                WHERE id IN (SELECT id FROM ids))
            WHERE sentence_start <= $first_day
              AND (sentence_end IS NULL OR sentence_end >= $first_day)""",
        {"first_day": first_day},
    )
    accounts = _as_given(cards, ("id_number", "status", "account_status"))
    con.register("cards_in", accounts.to_arrow())
    holding = ", ".join(f"'{s}'" for s in HOLDING_CARD_STATUSES)
    con.execute(
        f"""CREATE TEMP TABLE usable AS
            SELECT DISTINCT id FROM (SELECT shebao_normalize_id(id_number) AS id, * FROM cards_in)
            WHERE id IN (SELECT id FROM ids)
              AND trim(status) IN ({holding}) AND trim(account_status) = '{ACCOUNT_OPEN}'"""
    )
    con.unregister("cards_in")
    con.register("paid_in", paid.to_arrow())
    con.execute(
        "CREATE TEMP TABLE already AS SELECT DISTINCT shebao_normalize_id(id_number) AS id "
        "FROM paid_in"
    )
    return con.sql(
        """WITH firsts AS (SELECT id_norm, min(row) AS first_row FROM b
                           WHERE id_norm IS NOT NULL GROUP BY id_norm)
           SELECT b.row,
                  CASE WHEN b.id_error IS NULL THEN b.id_norm ELSE b.id_raw END AS id_number,
                  b.name, b.amount_fen, b.amount_problem, b.id_error,
                  n.id IS NULL AS not_in_population,
                  n.id IS NOT NULL AND w.id IS NULL AS name_differs,
                  coalesce(d.died_before, false) AS deceased,
                  j.id IS NOT NULL AS imprisoned,
                  u.id IS NULL AS no_card_account,
                  f.first_row < b.row AS duplicate,
                  CASE WHEN f.first_row < b.row THEN f.first_row END AS first_row,
                  a.id IS NOT NULL AS already_paid
           FROM b
           LEFT JOIN (SELECT DISTINCT id FROM pop) n ON n.id = b.id_norm
           LEFT JOIN (SELECT DISTINCT id, name FROM pop) w
                  ON w.id = b.id_norm AND w.name = b.name
           LEFT JOIN dead d ON d.id = b.id_norm
           LEFT JOIN jailed j ON j.id = b.id_norm
           LEFT JOIN usable u ON u.id = b.id_norm
           LEFT JOIN firsts f ON f.id_norm = b.id_norm
           LEFT JOIN (SELECT DISTINCT id FROM already) a ON a.id = b.id_norm
           ORDER BY b.row"""
    ).pl()


def _name_mismatch(con: duckdb.DuckDBPyConnection, flags: pl.DataFrame) -> pl.DataFrame:
    """`name_mismatch`: the row's name differs from every population name of its number
    after normalisation. Only rows whose name differs as written (`name_differs`) are
    looked at, and each distinct name is normalised once."""
    candidates = flags.filter(pl.col("name_differs")).select("row", "id_number", "name")
    mismatched: list[int] = []
    if candidates.height:
        con.register("name_candidates", candidates.to_arrow())
        pairs = con.sql(
            """SELECT c.row, c.name, p.name AS pop_name
               FROM name_candidates c JOIN (SELECT DISTINCT id, name FROM pop) p
               ON p.id = c.id_number"""
        ).pl()
        con.unregister("name_candidates")
        distinct = set(pairs["name"].to_list()) | set(pairs["pop_name"].to_list())
        normalised = {name: normalize_name(name) for name in distinct}
        same = pairs.filter(
            pl.col("name").replace_strict(normalised, return_dtype=pl.String)
            == pl.col("pop_name").replace_strict(normalised, return_dtype=pl.String)
        )
        mismatched = candidates.join(same.select("row").unique(), on="row", how="anti")[
            "row"
        ].to_list()
    return flags.with_columns(pl.col("row").is_in(mismatched).alias("name_mismatch")).drop(
        "name_differs"
    )


_ID_MESSAGES: Final[Mapping[str, str]] = {code.value: code.message for code in IdErrorCode}


def _reasons(flags: pl.DataFrame, max_fen: int | None) -> pl.DataFrame:
    amount_messages = {p.value: p.message(max_fen=max_fen) for p in AmountProblem}

    def reason(code: Reason, condition: pl.Expr, detail: pl.Expr | None) -> tuple[pl.Expr, pl.Expr]:
        label = pl.lit(code.label)
        message = label if detail is None else pl.concat_str([label, pl.lit("："), detail])
        return pl.when(condition).then(pl.lit(code.value)), pl.when(condition).then(message)

    parts = [
        reason(
            Reason.INVALID_ID,
            pl.col("id_error").is_not_null(),
            pl.col("id_error").replace_strict(_ID_MESSAGES, default=None, return_dtype=pl.String),
        ),
        reason(Reason.NOT_IN_POPULATION, pl.col("not_in_population"), None),
        reason(Reason.NAME_MISMATCH, pl.col("name_mismatch"), None),
        reason(Reason.DECEASED, pl.col("deceased"), None),
        reason(Reason.IMPRISONED, pl.col("imprisoned"), None),
        reason(Reason.NO_CARD_ACCOUNT, pl.col("no_card_account"), None),
        reason(
            Reason.DUPLICATE_IN_BATCH,
            pl.col("duplicate"),
            pl.format("与第 {} 行为同一人", pl.col("first_row")),
        ),
        reason(Reason.ALREADY_PAID, pl.col("already_paid"), None),
        reason(
            Reason.AMOUNT_INVALID,
            pl.col("amount_problem").is_not_null(),
            pl.col("amount_problem").replace_strict(
                amount_messages, default=None, return_dtype=pl.String
            ),
        ),
    ]
    codes = pl.concat_str([c for c, _ in parts], separator=REASON_SEPARATOR, ignore_nulls=True)
    messages = pl.concat_str([m for _, m in parts], separator="；", ignore_nulls=True)
    return flags.select(
        pl.col("row"),
        pl.col("id_number"),
        pl.col("name"),
        pl.col("amount_fen"),
        (codes == "").alias("payable"),
        codes.alias("reasons"),
        messages.alias("messages"),
        pl.col("id_error"),
        pl.col("amount_problem"),
        pl.col("first_row"),
    )
