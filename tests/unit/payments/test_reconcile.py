"""Reconciliation to the fen: per batch and bank, counts and exact amounts sent / paid /
failed / pending, and every difference (a result for a row never sent, a paid amount that
differs, conflicting answers, no result after N working days on the official calendar)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from shebao.payments.domain.reconcile import (
    RESULTS_SCHEMA,
    SENT_SCHEMA,
    DifferenceKind,
    add_workdays,
    reconcile,
)

pytestmark = pytest.mark.unit

SENT_ON = date(2026, 9, 28)  # Monday before the National Day holiday


def _sent(rows: list[tuple[int, int, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(b, k, r, a, SENT_ON) for b, k, r, a in rows], schema=SENT_SCHEMA, orient="row"
    )


def _results(rows: list[tuple[int, int, str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(i, *row) for i, row in enumerate(rows, start=1)], schema=RESULTS_SCHEMA, orient="row"
    )


def test_working_days_skip_the_national_day_holiday() -> None:
    # 9-29, 9-30 work; 10-1..10-7 holiday; Saturday 10-10 is an adjusted working day (调休).
    assert add_workdays(SENT_ON, 2) == date(2026, 9, 30)
    assert add_workdays(SENT_ON, 3) == date(2026, 10, 8)
    assert add_workdays(SENT_ON, 5) == date(2026, 10, 10)


def test_totals_to_the_fen_and_every_difference() -> None:
    sent = _sent(
        [
            (1, 10, "A1", 300_000),
            (1, 10, "A2", 150_050),
            (1, 10, "A3", 1),
            (1, 10, "A4", 99_999),
            (1, 20, "B1", 200_000),
            (1, 20, "B2", 200_001),
        ]
    )
    results = _results(
        [
            (1, 10, "A1", "succeeded", 300_000),
            (1, 10, "A2", "succeeded", 150_000),  # paid 50 fen short
            (1, 10, "A3", "failed", 0),
            (1, 10, "X9", "succeeded", 5_000),  # never sent
            (1, 20, "B1", "failed", 0),
            (1, 20, "B1", "succeeded", 200_000),  # answered again, differently
        ]
    )
    outcome = reconcile(sent, results, as_of=date(2026, 10, 30), overdue_after_workdays=5)
    totals = {(r["batch_id"], r["bank_id"]): r for r in outcome.totals.iter_rows(named=True)}
    a = totals[(1, 10)]
    assert (a["sent_count"], a["sent_fen"]) == (4, 550_050)
    assert (a["paid_count"], a["paid_fen"]) == (2, 450_000)
    assert (a["failed_count"], a["failed_fen"]) == (1, 1)
    assert (a["pending_count"], a["pending_fen"], a["overdue_count"]) == (1, 99_999, 1)
    b = totals[(1, 20)]
    # B1's first answer (failed) counts; the later success is a conflict for a clerk.
    assert (b["paid_count"], b["paid_fen"], b["failed_count"], b["failed_fen"]) == (
        0,
        0,
        1,
        200_000,
    )
    kinds = {(r["kind"], r["reference"]) for r in outcome.differences.iter_rows(named=True)}
    assert kinds == {
        ("not_sent", "X9"),
        ("amount_differs", "A2"),
        ("no_result", "A4"),
        ("conflicting_results", "B1"),
        ("no_result", "B2"),
    }
    short = outcome.differences_of(DifferenceKind.AMOUNT_DIFFERS).row(0, named=True)
    assert (short["sent_fen"], short["reported_fen"]) == (150_050, 150_000)
    assert a["difference_count"] == 3


def test_a_row_without_result_is_overdue_only_after_n_working_days() -> None:
    sent = _sent([(1, 10, "A1", 100)])
    empty = _results([])
    due = add_workdays(SENT_ON, 5)
    before = reconcile(sent, empty, as_of=date(2026, 10, 9), overdue_after_workdays=5)
    assert before.differences.height == 0
    assert before.totals["pending_count"].to_list() == [1]
    on_due = reconcile(sent, empty, as_of=due, overdue_after_workdays=5)
    assert on_due.differences["kind"].to_list() == ["no_result"]


def test_results_only_for_unsent_rows_still_show_their_bank() -> None:
    outcome = reconcile(
        _sent([]),
        _results([(2, 30, "Z1", "succeeded", 10)]),
        as_of=SENT_ON,
        overdue_after_workdays=5,
    )
    row = outcome.totals.row(0, named=True)
    assert (row["batch_id"], row["bank_id"], row["sent_count"], row["difference_count"]) == (
        2,
        30,
        0,
        1,
    )


def test_a_large_reconciliation_is_exact() -> None:
    n = 200_000
    refs = [f"R{i:07d}" for i in range(n)]
    amounts = [(i * 7919) % 500_000 + 1 for i in range(n)]
    sent = pl.DataFrame(
        {
            "batch_id": [1] * n,
            "bank_id": [i % 3 for i in range(n)],
            "reference": refs,
            "amount_fen": amounts,
            "sent_on": [SENT_ON] * n,
        },
        schema=SENT_SCHEMA,
    )
    results = pl.DataFrame(
        {
            "result_id": list(range(n)),
            "batch_id": [1] * n,
            "bank_id": [i % 3 for i in range(n)],
            "reference": refs,
            "outcome": ["failed" if i % 10 == 0 else "succeeded" for i in range(n)],
            "amount_fen": amounts,
        },
        schema=RESULTS_SCHEMA,
    )
    outcome = reconcile(sent, results, as_of=SENT_ON, overdue_after_workdays=5)
    assert outcome.differences.height == 0
    assert int(outcome.totals["sent_fen"].sum()) == sum(amounts)
    paid_and_failed = outcome.totals["paid_fen"] + outcome.totals["failed_fen"]
    assert int(paid_and_failed.sum()) == sum(amounts)
    assert int(outcome.totals["failed_count"].sum()) == n // 10
