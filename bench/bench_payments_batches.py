"""Benchmark a payment batch's preparation in the application (issue #12 §1): the import of
the office's N-row CSV, the row-by-row check against the database (population, cards and
accounts, earlier payments), the submission and the approval (which checks every row again
only if the data the check read changed since, and freezes each payable row's card and
account snapshot), with the exact total.

The registry (P persons, each with an activated card and an opened account at one of two
banks) is loaded in bulk first, in a process of its own, and not timed; it is kept in the
database, so a later run with the same --population reuses it (the batches of earlier runs
are deleted first). The batch pays every (P/N)-th person. A few rows carry planted problems
(a wrong check digit, a duplicate, a bad amount), dropped before submission as a clerk would.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench_batches \\
        uv run python bench/bench_payments_batches.py --rows 1000000 --population 10000000

The database named by DATABASE_URL must exist and hold nothing you want (or this bench's
world of the same population): it is migrated and filled. Each step prints its wall time,
the CPU seconds of this process and of its PostgreSQL backend, and the peak resident memory
of both. Prints counts, timings and peak memory only; never personal data. The bank side
(export, results, reconciliation) is bench/bench_payments_app.py.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _payments_world import (
    backend_peak_mb,
    cpu_seconds,
    existing_org,
    existing_user,
    ids_at,
    peak_mb,
    population_world,
    regions,
    setup,
)


def _world(population: int) -> tuple[Any, Any, Any]:
    """The paying office's two clerks and the pension programme (building the world when the
    database does not hold it yet)."""
    from shebao.accounts.choices import OrganisationKind, Role
    from shebao.payments.models import PaymentProgramme
    from shebao.payments.services.programmes import payment_programmes_ensure

    regions()
    office = existing_org(OrganisationKind.PAYING_OFFICE, "BB-PO", "鄂州市社会保险事业局")
    banks = [existing_org(OrganisationKind.BANK, f"BB-B{i}", f"合作银行{i}") for i in (1, 2)]
    maker, checker = (
        existing_user(f"bench_{key}", Role.PAYING_OFFICE_CLERK, office)
        for key in ("maker", "checker")
    )
    payment_programmes_ensure(offices={}, default=office)
    programme = PaymentProgramme.objects.get(code="PENSION_170")
    population_world(population, [b.pk for b in banks])
    return programme, maker, checker


def _forget_earlier_runs(programme: Any) -> None:
    """Delete the batches an earlier run left (the same file would otherwise be the same
    batch, and an approved one would make every row ALREADY_PAID)."""
    from django.db import transaction

    from shebao.payments.models import PaymentBatch, PaymentBatchHistory, PaymentRow

    with transaction.atomic():
        batches = PaymentBatch.objects.filter(programme=programme)
        PaymentBatchHistory.objects.filter(batch__in=batches).delete()
        PaymentRow.objects.filter(batch__in=batches).delete()
        batches.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--population", type=int, default=0, help="persons in the registry (default: --rows)"
    )
    parser.add_argument("--world-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = args.rows
    population = max(args.population or n, n)
    tmp = Path(tempfile.mkdtemp(prefix="bench-batches-"))
    if not args.world_only:
        # The world is built (or found) by a process of its own, so that the peak memory
        # printed below is the timed steps' and not the 10-million-person load's.
        subprocess.run(  # noqa: S603 - this very script, with our own arguments
            [sys.executable, __file__, "--world-only", "--population", str(population),
             "--rows", str(n)],
            check=True,
        )  # fmt: skip
    setup(tmp)
    from django.db import connection

    from shebao.payments.services.batches import (
        payment_batch_approve,
        payment_batch_check,
        payment_batch_drop_problem_rows,
        payment_batch_import,
        payment_batch_submit,
    )

    programme, maker, checker = _world(population)
    if args.world_only:
        return
    _forget_earlier_runs(programme)
    print(f"database: {connection.vendor}; rows: {n:,}; population: {population:,}")
    chosen = ids_at(np.arange(n) * (population // n))

    rng = np.random.default_rng(7)
    fen = rng.integers(10_000, 500_000, n)
    path = tmp / "发放名单.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["鄂州市城乡居民基本养老保险待遇发放名单（2026年11月）"])
        writer.writerow(["社会保障号码", "姓名", "金额"])
        for i, (number, amount) in enumerate(zip(chosen, fen.tolist(), strict=True)):
            if i % 100_000 == 1:
                number = number[:17] + ("0" if number[17] != "0" else "1")  # wrong check digit
            text = "abc" if i % 100_000 == 2 else f"{amount // 100}.{amount % 100:02d}"
            writer.writerow([number, "受益人", text])
        writer.writerow([chosen[0], "受益人", "100.00"])  # a duplicate of the first row
    del chosen
    planted = 2 * ((n - 1) // 100_000 + 1) + 1
    print(f"office file written: {path.stat().st_size / 1e6:.1f} MB, {n + 1:,} rows")

    figures: list[tuple[str, float, float]] = []

    def timed(label: str, run):  # type: ignore[no-untyped-def]
        started, cpu = time.perf_counter(), cpu_seconds()
        result = run()
        wall, used = time.perf_counter() - started, cpu_seconds() - cpu
        figures.append((label, wall, used))
        backend = backend_peak_mb()
        print(
            f"{label}: {wall:.1f} s wall, CPU {used:.1f} s (client + database backend); "
            f"peak RSS so far: client {peak_mb():.0f} MB"
            + (f", backend {backend:.0f} MB" if backend is not None else "")
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
    main_steps = [f for f in figures if f[0].split(" ")[0] in {"import", "check", "approve"}]
    backend = backend_peak_mb()
    print(
        f"import + check + approve: {sum(f[1] for f in main_steps):.1f} s wall, "
        f"CPU {sum(f[2] for f in main_steps):.1f} s; all steps: "
        f"{sum(f[1] for f in figures):.1f} s wall, CPU {sum(f[2] for f in figures):.1f} s; "
        f"peak RSS client {peak_mb():.0f} MB"
        + (f", backend {backend:.0f} MB" if backend is not None else "")
        + f"; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
