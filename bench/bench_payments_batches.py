"""Benchmark a payment batch's preparation in the application (issue #12 §1): the import of
the office's N-row CSV, the row-by-row check against the database (population, cards and
accounts, earlier payments), the submission and the approval (which checks every row again
only if the data the check read changed since, and freezes each payable row's card and
account snapshot), with the exact total.

The registry (N persons, each with an activated card and an opened account at one of two
banks) is loaded in bulk first and not timed. A few rows carry planted problems (a wrong
check digit, a duplicate, a bad amount), dropped before submission as a clerk would.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench_batches \\
        uv run python bench/bench_payments_batches.py --rows 1000000

The database named by DATABASE_URL must exist and hold nothing you want: it is migrated and
filled. Prints counts, timings and peak memory only; never personal data. The bank side
(export, results, reconciliation) is bench/bench_payments_app.py.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _payments_world import (
    CITY,
    accounts,
    analyze,
    cpu_seconds,
    ids,
    org,
    peak_mb,
    regions,
    registry,
    setup,
    user,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    n = args.rows
    tmp = Path(tempfile.mkdtemp(prefix="bench-batches-"))
    setup(tmp)

    import polars as pl
    from django.db import connection

    from shebao.accounts.choices import OrganisationKind, Role
    from shebao.cards.models import Card
    from shebao.cards.services.bulk import insert_frame
    from shebao.payments.models import PaymentProgramme
    from shebao.payments.services.batches import (
        payment_batch_approve,
        payment_batch_check,
        payment_batch_drop_problem_rows,
        payment_batch_import,
        payment_batch_submit,
    )
    from shebao.payments.services.programmes import payment_programmes_ensure
    from shebao.registry.models import BankAccount, Person

    print(f"database: {connection.vendor}; rows: {n:,}")
    regions()
    office = org(OrganisationKind.PAYING_OFFICE, "BB-PO", "鄂州市社会保险事业局")
    banks = [org(OrganisationKind.BANK, f"BB-B{i}", f"合作银行{i}") for i in (1, 2)]
    maker, checker = (
        user(f"bench_{key}", Role.PAYING_OFFICE_CLERK, office) for key in ("maker", "checker")
    )
    payment_programmes_ensure(offices={}, default=office)
    programme = PaymentProgramme.objects.get(code="PENSION_170")

    t = time.perf_counter()
    numbers = ids(n)
    person_ids = registry(numbers)
    bank_of = np.array([banks[i % 2].pk for i in range(len(person_ids))])
    insert_frame(
        Card,
        pl.DataFrame(
            {
                "card_number": [f"B{i:08d}" for i in range(len(person_ids))],
                "card_id_code": [f"BENCH{i:027d}" for i in range(len(person_ids))],
                "person_id": person_ids,
                "status": ["active"] * len(person_ids),
                "issuing_region_id": [CITY] * len(person_ids),
                "bank_id": bank_of.tolist(),
            }
        ),
    )
    accounts(person_ids, bank_of, [None] * len(person_ids))
    analyze(Person, Card, BankAccount)
    print(f"registry, cards and accounts loaded: {time.perf_counter() - t:.1f} s (not timed)")

    rng = np.random.default_rng(7)
    fen = rng.integers(10_000, 500_000, n)
    path = tmp / "发放名单.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["鄂州市城乡居民基本养老保险待遇发放名单（2026年11月）"])
        writer.writerow(["社会保障号码", "姓名", "金额"])
        for i, (number, amount) in enumerate(zip(numbers, fen.tolist(), strict=True)):
            if i % 100_000 == 1:
                number = number[:17] + ("0" if number[17] != "0" else "1")  # wrong check digit
            text = "abc" if i % 100_000 == 2 else f"{amount // 100}.{amount % 100:02d}"
            writer.writerow([number, "受益人", text])
        writer.writerow([numbers[0], "受益人", "100.00"])  # a duplicate of the first row
    planted = 2 * ((n - 1) // 100_000 + 1) + 1
    print(f"office file written: {path.stat().st_size / 1e6:.1f} MB, {n + 1:,} rows")

    figures: list[tuple[str, float]] = []
    cpu_figures: list[tuple[str, float]] = []

    def timed(label: str, run):  # type: ignore[no-untyped-def]
        started, cpu = time.perf_counter(), cpu_seconds()
        result = run()
        figures.append((label, time.perf_counter() - started))
        used = cpu_seconds() - cpu
        cpu_figures.append((label, used))
        print(
            f"{label}: {figures[-1][1]:.1f} s (CPU {used:.1f} s, client + database); "
            f"peak memory so far {peak_mb():.0f} MB"
        )
        return result

    batch = timed(
        "import (read, normalise IDs, insert rows)",
        lambda: payment_batch_import(
            actor=maker, programme_id=programme.pk, period="2026-11", path=path, check=False
        ),
    )
    batch = timed("check every row", lambda: payment_batch_check(actor=maker, batch_id=batch.pk))
    print(f"  problems found: {batch.problem_count:,} (planted {planted:,})")
    timed(
        "drop the problem rows",
        lambda: payment_batch_drop_problem_rows(actor=maker, batch_id=batch.pk, note="bench"),
    )
    batch = timed("check again", lambda: payment_batch_check(actor=maker, batch_id=batch.pk))
    timed("submit", lambda: payment_batch_submit(actor=maker, batch_id=batch.pk))
    batch = timed(
        "approve (checked again only if the data changed; freeze the snapshot)",
        lambda: payment_batch_approve(actor=checker, batch_id=batch.pk),
    )
    expected = int(sum(fen[i] for i in range(n) if i % 100_000 not in (1, 2)))
    print(
        f"approved: {batch.payable_count:,} rows, {batch.payable_fen:,} fen "
        f"(expected {expected:,}: {'exact' if expected == batch.payable_fen else 'DIFFERS'})"
    )
    main_path = sum(
        s for label, s in figures if label.split(" ")[0] in {"import", "check", "approve"}
    )
    main_cpu = sum(
        s for label, s in cpu_figures if label.split(" ")[0] in {"import", "check", "approve"}
    )
    print(
        f"import + check + approve: {main_path:.1f} s (CPU {main_cpu:.1f} s); "
        f"peak memory {peak_mb():.0f} MB; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
