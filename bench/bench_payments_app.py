"""Benchmark the bank side of payments in the application (issue #12 §2): for an approved
batch of N rows, the export of the sealed bank files (one per bank and branch), their
download, the import of the banks' results (N rows, a few failed, a few short-paid) and the
reconciliation to the fen.

The registry (N persons with card-linked accounts at two banks, one with a branch) is loaded
in bulk, and the approved batch is written in bulk as approval leaves it (payable rows with
their frozen snapshot): the import, check and approval of the batch are p2's services and are
not timed here (see the report).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench_payments \\
        uv run python bench/bench_payments_app.py --rows 1000000

The database named by DATABASE_URL must exist and hold nothing you want: it is migrated and
filled. Prints counts, timings and peak memory only; never personal data.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from _payments_world import (
    DISTRICT,
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
    tmp = Path(tempfile.mkdtemp(prefix="bench-payments-"))
    setup(tmp)

    import polars as pl
    from django.db import connection
    from django.utils import timezone

    from shebao.accounts.choices import OrganisationKind, Role
    from shebao.cards.services.bulk import insert_frame
    from shebao.payments.domain.bankfile import Outcome, ResultLine
    from shebao.payments.models import (
        BankPaymentFile,
        BankPaymentLine,
        PaymentBatch,
        PaymentProgramme,
        PaymentRow,
    )
    from shebao.payments.selectors_bank import batch_reconciliation
    from shebao.payments.services.bank import (
        bank_results_file,
        payment_file_download,
        payment_files_export,
        payment_results_import,
    )
    from shebao.registry.models import BankAccount, Person

    print(f"database: {connection.vendor}; rows: {n:,}")
    regions()
    office = org(OrganisationKind.PAYING_OFFICE, "B-PO", "鄂州市社会保险事业局")
    bank_a = org(OrganisationKind.BANK, "B-ABC", "农业银行鄂州分行")
    branch = org(OrganisationKind.BANK_BRANCH, "B-ABC1", "农业银行鄂城支行", DISTRICT, bank_a)
    bank_b = org(OrganisationKind.BANK, "B-PSBC", "邮储银行鄂州分行")
    users = {
        key: user(f"bench_{key}", role, o)
        for key, role, o in (
            ("maker", Role.PAYING_OFFICE_CLERK, office),
            ("checker", Role.PAYING_OFFICE_CLERK, office),
            ("bank_a", Role.BANK_OPERATOR, bank_a),
            ("branch", Role.BANK_OPERATOR, branch),
            ("bank_b", Role.BANK_OPERATOR, bank_b),
        )
    }

    t = time.perf_counter()
    numbers = ids(n)
    person_ids = registry(numbers)
    k = np.arange(len(person_ids))
    owner = k % 3  # bank A head, bank A branch, bank B
    bank_of = np.where(owner == 2, bank_b.pk, bank_a.pk)
    branch_of = [branch.pk if o == 1 else None for o in owner.tolist()]
    account_numbers = accounts(person_ids, bank_of, branch_of)
    analyze(Person, BankAccount)
    print(
        f"registry and accounts loaded: {time.perf_counter() - t:.1f} s (not part of the figures)"
    )

    programme = PaymentProgramme.objects.create(
        code="B170",
        name="城乡居民基本养老保险待遇",
        paying_office=office,
        kind="pension",
        period_form="month",
    )
    rng = np.random.default_rng(12)
    amounts = rng.integers(10_000, 500_000, len(person_ids))
    batch = PaymentBatch.objects.create(
        code="BENCH0001",
        programme=programme,
        period="2026-11",
        period_start=date(2026, 11, 1),
        status="approved",
        source="import",
        source_digest="bench",
        row_count=n,
        payable_count=n,
        payable_fen=int(amounts.sum()),
        prepared_by=users["maker"],
        approved_by=users["checker"],
        approved_at=timezone.now(),
    )
    insert_frame(
        PaymentRow,
        pl.DataFrame(
            {
                "batch_id": [batch.pk] * len(person_ids),
                "row_number": (k + 1).tolist(),
                "person_id": person_ids,
                "id_number": numbers,
                "name": ["受益人"] * len(person_ids),
                "amount_text": [""] * len(person_ids),
                "amount_fen": amounts.tolist(),
                "payable": [True] * len(person_ids),
                "dropped": [False] * len(person_ids),
                "reasons": [""] * len(person_ids),
                "note": [""] * len(person_ids),
                "frozen_name": ["受益人"] * len(person_ids),
                "frozen_id_number": numbers,
                "frozen_bank_id": bank_of.tolist(),
                "frozen_branch_id": branch_of,
                "frozen_account_number": account_numbers,
                "frozen_card_number": [""] * len(person_ids),
            }
        ),
    )

    t, c = time.perf_counter(), cpu_seconds()
    files = payment_files_export(actor=users["maker"], batch_id=batch.pk)
    export_s = time.perf_counter() - t
    print(
        f"export: {len(files)} sealed files, {sum(f.record_count for f in files):,} rows, "
        f"{sum(f.total_fen for f in files):,} fen: {export_s:.1f} s "
        f"(CPU {cpu_seconds() - c:.1f} s, client + database); peak {peak_mb():.0f} MB"
    )

    t = time.perf_counter()
    for record in files:
        operator = (
            users["branch"]
            if record.branch_id
            else (users["bank_a"] if record.bank_id == bank_a.pk else users["bank_b"])
        )
        payment_file_download(actor=operator, file_id=record.pk)
    print(f"download of every file (SM3 verified): {time.perf_counter() - t:.1f} s")

    # The banks' answers: 1% failed, 0.1% paid 1 fen short, built outside the timing.
    result_files: list[tuple[Any, bytes]] = []
    for record in BankPaymentFile.objects.filter(batch=batch).select_related("bank"):
        lines = list(
            BankPaymentLine.objects.filter(file=record)
            .order_by("pk")
            .values_list(
                "reference", "row__frozen_id_number", "row__frozen_account_number", "amount_fen"
            )
        )
        results = [
            ResultLine(
                i + 1,
                ref,
                idn,
                acc,
                amount - (1 if i % 1000 == 7 else 0),
                Outcome.FAILED if i % 100 == 3 else Outcome.SUCCEEDED,
                None,
                "账户冻结" if i % 100 == 3 else "",
            )
            for i, (ref, idn, acc, amount) in enumerate(lines)
        ]
        operator = (
            users["branch"]
            if record.branch_id
            else (users["bank_a"] if record.bank_id == bank_a.pk else users["bank_b"])
        )
        result_files.append((operator, bank_results_file(record, results)))
    t, c = time.perf_counter(), cpu_seconds()
    for answering, data in result_files:
        payment_results_import(actor=answering, data=data)
    import_s, import_cpu = time.perf_counter() - t, cpu_seconds() - c
    print(
        f"results import ({n:,} rows): {import_s:.1f} s (CPU {import_cpu:.1f} s); "
        f"peak {peak_mb():.0f} MB"
    )

    t, c = time.perf_counter(), cpu_seconds()
    report = batch_reconciliation(actor=users["maker"], batch_id=batch.pk)
    reconcile_s, reconcile_cpu = time.perf_counter() - t, cpu_seconds() - c
    totals = report.totals
    print(
        f"reconciliation ({n:,} sent, {n:,} results): {reconcile_s:.1f} s; "
        f"paid {int(totals['paid_count'].sum()):,} / {int(totals['paid_fen'].sum()):,} fen, "
        f"failed {int(totals['failed_count'].sum()):,} / {int(totals['failed_fen'].sum()):,} fen, "
        f"differences {report.differences.height:,}; peak {peak_mb():.0f} MB"
    )
    print(
        f"results import + reconciliation: {import_s + reconcile_s:.1f} s "
        f"(CPU {import_cpu + reconcile_cpu:.1f} s); load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
