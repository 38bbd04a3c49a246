"""The check of a batch against the database: the same rule set as `shebao payments check`.

The database is turned into the frames `payments.domain.check.check_batch` takes (population,
cards, prison, earlier payments), cut down to the batch's people by the database itself, and
the verdicts come back from that one function: the file contract and the application cannot
disagree on a reason. What the database holds, as the check reads it:

- population: the registry's persons (life status 死亡 with its date as the death date);
- cards: every card of the batch's people, 正常 for 正常 (activated), 挂失 for a temporary or
  formal loss, the card's own status label otherwise; 已开户 when the person holds an account
  at the card's bank (the account the bank opened for that card);
- prison: the current 服刑人员 department data (the intake's snapshot chain), when the
  programme stops in prison;
- earlier payments: the payable rows of this programme's approved (or later) batches for the
  same period, except a row this batch pays again after its payment failed (`repays`).

The snapshot frozen at approval is read here too: for each payable row, the card and account
the money goes to (an activated card first, then the newest card, then the newest account).
"""

# ruff: noqa: S608 - SQL is built from Django's quoted table names; values are bound.
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import polars as pl
from django.db import connection

from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card
from shebao.intake.formats.increments import effective_parts
from shebao.intake.formats.kinds import SourceKind
from shebao.intake.selectors import import_batch_chain, import_batches_current
from shebao.intake.storage import intake_path
from shebao.payments.domain.batch_lifecycle import FROZEN
from shebao.payments.domain.check import ACCOUNT_OPEN, check_batch
from shebao.payments.domain.programme import PaymentKind, Period, PeriodForm, parse_period
from shebao.payments.domain.programme import PaymentProgramme as ProgrammeRules
from shebao.payments.models import PaymentBatch, PaymentProgramme, PaymentRow
from shebao.payments.services._bulk import frame_from_query, quoted
from shebao.registry.choices import LifeStatus
from shebao.registry.models import BankAccount, Person

__all__ = [
    "VERDICT_COLUMNS",
    "BatchVerdicts",
    "batch_period",
    "batch_verdicts",
    "check_inputs_digest",
    "current_department_frame",
    "freeze_payment_targets",
    "parse_batch_period",
    "payment_targets",
    "programme_rules",
]

# The card statuses the contract calls 正常 and 挂失; any other is given by its own label.
_CARD_FILE_WORD: Final[dict[str, str]] = {
    CardStatus.ACTIVE.value: "正常",
    CardStatus.TEMPORARY_LOSS.value: "挂失",
    CardStatus.LOST.value: "挂失",
}
_PAYABLE_CARD_STATUSES: Final[tuple[str, ...]] = tuple(_CARD_FILE_WORD)


def programme_rules(programme: PaymentProgramme) -> ProgrammeRules:
    """The pure rule set of a configured programme."""
    try:
        kind = PaymentKind(programme.kind)
    except ValueError:
        kind = PaymentKind.EMPLOYMENT_SUBSIDY
    return ProgrammeRules(
        name=programme.name,
        paying_office=programme.paying_office.name if programme.paying_office_id else "",
        kind=kind,
        stops_in_prison=programme.stops_in_prison,
        max_amount_fen=programme.max_amount_fen,
        period_form=PeriodForm(programme.period_form),
    )


def batch_period(batch: PaymentBatch) -> Period:
    return Period(batch.period_start.year, batch.period_start.month)


def parse_batch_period(programme: PaymentProgramme, text: str) -> tuple[str, date]:
    """The stored period text and its first day: `YYYY-MM` for monthly and one-off
    programmes, `YYYY-Qn` for quarterly ones (the quarter's first month is accepted too)."""
    form = PeriodForm(programme.period_form)
    period = parse_period(text, form)
    if form is PeriodForm.QUARTER:
        return f"{period.year:04d}-Q{(period.month - 1) // 3 + 1}", period.first_day
    return str(period), period.first_day


@dataclass(frozen=True, slots=True)
class BatchVerdicts:
    """One row per checked (not dropped) row: pk, row, person_id (null when the number is
    not in the registry), id_number (normalised when valid), amount_fen, payable, reasons,
    and the same as stored before the check (`was_…`)."""

    frame: pl.DataFrame

    def changed(self) -> pl.DataFrame:
        """The rows whose verdict differs from the stored one (nulls compared as values)."""
        differs = pl.lit(False)
        for column in VERDICT_COLUMNS:
            differs = differs | pl.col(column).ne_missing(pl.col(f"was_{column}"))
        return self.frame.filter(differs)


VERDICT_COLUMNS: Final[tuple[str, ...]] = (
    "person_id",
    "id_number",
    "amount_fen",
    "payable",
    "reasons",
)


def _rows_frame(batch: PaymentBatch) -> pl.DataFrame:
    table = quoted(PaymentRow._meta.db_table)
    return frame_from_query(
        f"SELECT id, row_number, id_number, name, amount_text, person_id, amount_fen, payable, "
        f"reasons FROM {table} WHERE batch_id = %s AND NOT dropped ORDER BY row_number",
        [batch.pk],
        {
            "pk": pl.Int64,
            "row": pl.Int64,
            "id_number": pl.String,
            "name": pl.String,
            "amount": pl.String,
            "was_person_id": pl.Int64,
            "was_amount_fen": pl.Int64,
            "was_payable": pl.Boolean,
            "was_reasons": pl.String,
        },
    )


def _batch_ids_sql() -> str:
    table = quoted(PaymentRow._meta.db_table)
    return f"SELECT id_number FROM {table} WHERE batch_id = %s AND NOT dropped"


def _population_frame(batch: PaymentBatch) -> pl.DataFrame:
    person = quoted(Person._meta.db_table)
    frame = frame_from_query(
        f"SELECT id, id_number, name, life_status, status_date FROM {person} "
        f"WHERE id_number IN ({_batch_ids_sql()})",
        [batch.pk],
        {
            "person_id": pl.Int64,
            "id_number": pl.String,
            "name": pl.String,
            "status": pl.String,
            "status_date": pl.Date,
        },
    )
    return frame.with_columns(
        pl.when(pl.col("status") == LifeStatus.DECEASED.value)
        .then(pl.col("status_date"))
        .otherwise(None)
        .alias("death_date")
    )


def _cards_frame(batch: PaymentBatch) -> pl.DataFrame:
    card = quoted(Card._meta.db_table)
    person = quoted(Person._meta.db_table)
    account = quoted(BankAccount._meta.db_table)
    # Joins, not a correlated EXISTS per card: on a million rows the planner must be free to
    # hash (a per-row subplan over the bank index is quadratic when statistics are stale).
    frame = frame_from_query(
        f"""WITH ppl AS (SELECT id, id_number FROM {person}
                         WHERE id_number IN ({_batch_ids_sql()})),
                 opened AS (SELECT DISTINCT person_id, bank_id FROM {account}
                            WHERE person_id IN (SELECT id FROM ppl))
            SELECT ppl.id_number, c.status, o.person_id IS NOT NULL
            FROM {card} c JOIN ppl ON ppl.id = c.person_id
            LEFT JOIN opened o ON o.person_id = c.person_id AND o.bank_id = c.bank_id""",
        [batch.pk],
        {"id_number": pl.String, "card_status": pl.String, "opened": pl.Boolean},
    )
    labels = {s.value: s.label for s in CardStatus} | _CARD_FILE_WORD
    return frame.select(
        "id_number",
        pl.col("card_status")
        .replace_strict(labels, default="", return_dtype=pl.String)
        .alias("status"),
        pl.when(pl.col("opened"))
        .then(pl.lit(ACCOUNT_OPEN))
        .otherwise(pl.lit("未开户"))
        .alias("account_status"),
    )


def _paid_frame(batch: PaymentBatch, rules: ProgrammeRules) -> pl.DataFrame:
    row_t = quoted(PaymentRow._meta.db_table)
    batch_t = quoted(PaymentBatch._meta.db_table)
    frozen = sorted(s.value for s in FROZEN)
    marks = ", ".join(["%s"] * len(frozen))
    frame = frame_from_query(
        f"""SELECT r.id_number FROM {row_t} r JOIN {batch_t} b ON b.id = r.batch_id
            WHERE b.programme_id = %s AND b.period_start = %s AND b.id <> %s
              AND b.status IN ({marks}) AND r.payable
              AND r.id_number IN ({_batch_ids_sql()})
              AND r.id NOT IN (SELECT repays_id FROM {row_t}
                               WHERE batch_id = %s AND repays_id IS NOT NULL)""",
        [batch.programme_id, batch.period_start, batch.pk, *frozen, batch.pk, batch.pk],
        {"id_number": pl.String},
    )
    return frame.with_columns(
        pl.lit(rules.name).alias("programme"), pl.lit(str(batch_period(batch))).alias("period")
    )


def current_department_frame(kind: SourceKind, columns: list[str]) -> pl.DataFrame | None:
    """The rows in force of the current department data of `kind` (its full snapshot with
    the increments applied on it), `columns` only; None when no such data was imported."""
    current = import_batches_current(kinds=[kind])
    if not current:
        return None
    chain = import_batch_chain(current[0])
    snapshots = [
        (intake_path(b.snapshot_path), b.rows_accepted)
        for b in chain
        if b.snapshot_path and intake_path(b.snapshot_path).exists()
    ]
    if not snapshots:
        return None
    with tempfile.TemporaryDirectory(prefix="shebao-payments-") as tmp:
        parts = effective_parts(kind, snapshots, Path(tmp))
        return pl.concat(
            [pl.read_parquet(part.path, columns=columns) for part in parts], how="vertical_relaxed"
        )


def batch_verdicts(batch: PaymentBatch, *, as_of: date) -> BatchVerdicts:
    """Check every row of `batch` that is not dropped against the database (see the module's
    docstring) with the rules of `payments.domain.check`."""
    programme = batch.programme
    rules = programme_rules(programme)
    rows = _rows_frame(batch)
    population = _population_frame(batch)
    prison = (
        current_department_frame(SourceKind.PRISON, ["id_number", "sentence_start", "sentence_end"])
        if rules.stops_in_prison
        else None
    )
    result = check_batch(
        rows.select("row", "id_number", "name", "amount"),
        population.select("id_number", "name", "status", "death_date"),
        _cards_frame(batch),
        programme=rules,
        period=batch_period(batch),
        as_of=as_of,
        prison=prison,
        paid=_paid_frame(batch, rules),
    )
    persons = population.select("id_number", "person_id").unique("id_number")
    stored = rows.select(
        "row",
        "pk",
        "was_person_id",
        pl.col("id_number").alias("was_id_number"),
        "was_amount_fen",
        "was_payable",
        "was_reasons",
    )
    verdicts = (
        result.frame.select("row", "id_number", "amount_fen", "payable", "reasons")
        .join(stored, on="row", how="left")
        .join(persons, on="id_number", how="left")
        .select("pk", "row", *VERDICT_COLUMNS, *(f"was_{c}" for c in VERDICT_COLUMNS))
    )
    return BatchVerdicts(verdicts)


def payment_targets(batch: PaymentBatch) -> pl.DataFrame:
    """For each payable row: pk, the registry name, the card number, the bank, its branch and
    the account number the money goes to (the snapshot approval freezes). A row whose person
    has no usable card account is absent (the check calls it NO_CARD_ACCOUNT)."""
    row_t = quoted(PaymentRow._meta.db_table)
    card = quoted(Card._meta.db_table)
    person = quoted(Person._meta.db_table)
    account = quoted(BankAccount._meta.db_table)
    marks = ", ".join(["%s"] * len(_PAYABLE_CARD_STATUSES))
    candidates = frame_from_query(
        f"""SELECT r.id, p.name, p.id_number, c.id, c.card_number, c.status,
                   a.id, a.bank_id, a.branch_id, a.account_number
            FROM {row_t} r
            JOIN {person} p ON p.id = r.person_id
            JOIN {card} c ON c.person_id = r.person_id
            JOIN {account} a ON a.person_id = c.person_id AND a.bank_id = c.bank_id
            WHERE r.batch_id = %s AND r.payable AND c.status IN ({marks})""",
        [batch.pk, *_PAYABLE_CARD_STATUSES],
        {
            "pk": pl.Int64,
            "frozen_name": pl.String,
            "frozen_id_number": pl.String,
            "card_pk": pl.Int64,
            "frozen_card_number": pl.String,
            "card_status": pl.String,
            "account_pk": pl.Int64,
            "frozen_bank_id": pl.Int64,
            "frozen_branch_id": pl.Int64,
            "frozen_account_number": pl.String,
        },
    )
    preference = {s: i for i, s in enumerate(_PAYABLE_CARD_STATUSES)}
    return (
        candidates.with_columns(
            pl.col("card_status")
            .replace_strict(preference, default=len(preference), return_dtype=pl.Int64)
            .alias("preference")
        )
        .sort(["pk", "preference", "card_pk", "account_pk"], descending=[False, False, True, True])
        .unique("pk", keep="first", maintain_order=True)
        .select(
            "pk",
            "frozen_name",
            "frozen_id_number",
            "frozen_card_number",
            "frozen_bank_id",
            "frozen_branch_id",
            "frozen_account_number",
        )
    )


def freeze_payment_targets(batch: PaymentBatch) -> int:
    """Write into each payable row of `batch` the snapshot approval freezes (the same choice
    as `payment_targets`: an activated card first, then the newest card, then the newest
    account at the card's bank), in ONE UPDATE … FROM over a ranked join: no row leaves the
    database. Returns how many rows got their snapshot; a payable row whose person has no
    usable card account gets none (the caller compares with the payable count)."""
    row_t = quoted(PaymentRow._meta.db_table)
    card = quoted(Card._meta.db_table)
    person = quoted(Person._meta.db_table)
    account = quoted(BankAccount._meta.db_table)
    marks = ", ".join(["%s"] * len(_PAYABLE_CARD_STATUSES))
    preference = " ".join(f"WHEN %s THEN {i}" for i in range(len(_PAYABLE_CARD_STATUSES)))
    sql = f"""UPDATE {row_t} SET
                  frozen_name = substr(t.name, 1, 64),
                  frozen_id_number = t.id_number,
                  frozen_card_number = coalesce(t.card_number, ''),
                  frozen_bank_id = t.bank_id,
                  frozen_branch_id = t.branch_id,
                  frozen_account_number = coalesce(t.account_number, '')
              FROM (SELECT r.id AS row_id, p.name, p.id_number, c.card_number, a.bank_id,
                           a.branch_id, a.account_number,
                           row_number() OVER (
                               PARTITION BY r.id
                               ORDER BY CASE c.status {preference} ELSE {len(_PAYABLE_CARD_STATUSES)} END,
                                        c.id DESC, a.id DESC) AS choice
                    FROM {row_t} r
                    JOIN {person} p ON p.id = r.person_id
                    JOIN {card} c ON c.person_id = r.person_id
                    JOIN {account} a ON a.person_id = c.person_id AND a.bank_id = c.bank_id
                    WHERE r.batch_id = %s AND r.payable AND c.status IN ({marks})) t
              WHERE {row_t}.id = t.row_id AND t.choice = 1"""  # noqa: E501
    with connection.cursor() as cursor:
        cursor.execute(sql, [*_PAYABLE_CARD_STATUSES, batch.pk, *_PAYABLE_CARD_STATUSES])
        return int(cursor.rowcount)


# --- has anything the check reads changed since? ------------------------------------------

_SQLITE_HASH: Final[str] = "shebao_hash40"


def _sqlite_hash40(text: str | None) -> int:
    # 40 bits, so that SQLite's 64-bit sum of a few million of them cannot overflow.
    digest = hashlib.blake2b((text or "").encode(), digest_size=5).digest()
    return int.from_bytes(digest, "big")


def _row_hash(*columns: str) -> str:
    """SQL hashing one row's `columns` (any type, nulls distinct from empty text) to an
    integer: PostgreSQL's hashtextextended (64 bits, summed as numeric); on SQLite a
    40-bit BLAKE2b registered on the connection."""
    text = " || '|' || ".join(f"coalesce('=' || CAST({column} AS TEXT), '~')" for column in columns)
    if connection.vendor == "postgresql":
        return f"hashtextextended({text}, 0)"
    return f"{_SQLITE_HASH}({text})"


def check_inputs_digest(batch: PaymentBatch) -> str:
    """A digest of everything `batch_verdicts` and `payment_targets` read for `batch`: its
    rows that are not dropped, the registry persons of their numbers, those persons' cards
    and accounts, every row of the programme's other batches for the period (the earlier
    payments), the programme's rules and the current prison data. Each part is a count and
    a sum of per-row hashes computed by the database (no row leaves it), so a change of
    any value read, a row added or a row removed changes the digest. Approval compares it
    with the digest taken at the check to skip a second full check when nothing changed.

    The as-of date is not part of it: a later day only turns more numbers valid (a birth
    date no longer in the future), and every row that was invalid at the check has been
    dropped or corrected before submission."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        connection.connection.create_function(_SQLITE_HASH, 1, _sqlite_hash40, deterministic=True)
    row_t = quoted(PaymentRow._meta.db_table)
    batch_t = quoted(PaymentBatch._meta.db_table)
    person = quoted(Person._meta.db_table)
    card = quoted(Card._meta.db_table)
    account = quoted(BankAccount._meta.db_table)
    people = (
        f"SELECT p.id FROM {person} p WHERE p.id_number IN "
        f"(SELECT id_number FROM {row_t} WHERE batch_id = %s AND NOT dropped)"
    )
    queries: list[tuple[str, list[Any]]] = [
        (
            f"""SELECT count(*), sum({
                _row_hash(
                    "r.id",
                    "r.id_number",
                    "r.name",
                    "r.amount_text",
                    "r.repays_id",
                    "p.id",
                    "p.name",
                    "p.life_status",
                    "p.status_date",
                )
            })
                FROM {row_t} r LEFT JOIN {person} p ON p.id_number = r.id_number
                WHERE r.batch_id = %s AND NOT r.dropped""",
            [batch.pk],
        ),
        (
            f"""SELECT count(*), sum({
                _row_hash("c.id", "c.person_id", "c.status", "c.bank_id", "c.card_number")
            })
                FROM {card} c WHERE c.person_id IN ({people})""",
            [batch.pk],
        ),
        (
            f"""SELECT count(*), sum({
                _row_hash("a.id", "a.person_id", "a.bank_id", "a.branch_id", "a.account_number")
            })
                FROM {account} a WHERE a.person_id IN ({people})""",
            [batch.pk],
        ),
        (
            f"""SELECT count(*), sum({
                _row_hash("b.id", "b.status", "r.id", "r.id_number", "r.payable")
            })
                FROM {row_t} r JOIN {batch_t} b ON b.id = r.batch_id
                WHERE b.programme_id = %s AND b.period_start = %s AND b.id <> %s""",
            [batch.programme_id, batch.period_start, batch.pk],
        ),
    ]
    digest = hashlib.sha256()
    with connection.cursor() as cursor:
        for sql, params in queries:
            cursor.execute(sql, params)
            digest.update(repr(cursor.fetchone()).encode())
    rules = programme_rules(batch.programme)
    digest.update(repr(rules).encode())
    if rules.stops_in_prison:
        current = import_batches_current(kinds=[SourceKind.PRISON])
        digest.update(repr([(b.pk, b.snapshot_path) for b in current]).encode())
    return digest.hexdigest()
