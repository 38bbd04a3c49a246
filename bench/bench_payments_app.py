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
filled. The registry and accounts are built once and kept; a later run with the same --rows
finds them and replaces only the payments (all payments tables are emptied: use a database
of its own). Set SHEBAO_DATA_DIR to keep the files in a known place. Prints counts, timings
and peak memory only; never personal data.
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

_STEPS: dict[str, list[float]] = {}


def _instrument() -> None:
    """Wrap the inner steps of the export and the results import so that each one's CPU
    seconds (this process and its PostgreSQL backend) and wall seconds add up in _STEPS."""
    import shebao.payments.services.bank as bank

    def wrap(name: str) -> None:
        inner = getattr(bank, name)

        def timed(*a: Any, **kw: Any) -> Any:
            t, c = time.perf_counter(), cpu_seconds()
            try:
                return inner(*a, **kw)
            finally:
                got = _STEPS.setdefault(name, [0.0, 0.0, 0])
                got[0] += cpu_seconds() - c
                got[1] += time.perf_counter() - t
                got[2] += 1

        setattr(bank, name, timed)

    for name in (
        "bank_files_sweep_orphans",
        "_payable_rows",
        "_frame_csv",
        "seal_and_store",
        "insert_frame",
        "analyse",
        "_record_batch",
        "audit_record",
        "open_exchange_file",
        "read_results_frame",
        "_check_against_sent",
        "_apply_results",
        "_queue_failures",
        "_mark_repaid",
        "_refresh_file",
        "_reconcile_batch_if_answered",
        "payment_recoveries_sweep",
    ):
        wrap(name)


def _print_steps(stage: str) -> None:
    for name, (cpu, wall, calls) in sorted(_STEPS.items(), key=lambda kv: -kv[1][0]):
        print(f"  {stage} step {name}: CPU {cpu:.2f} s, wall {wall:.2f} s, {calls} call(s)")
    _STEPS.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--detail",
        action="store_true",
        help="also print the CPU seconds (client + database) of each inner step",
    )
    args = parser.parse_args()
    n = args.rows
    tmp = Path(os.environ.get("SHEBAO_DATA_DIR") or tempfile.mkdtemp(prefix="bench-payments-"))
    os.environ["SHEBAO_DATA_DIR"] = str(tmp)
    setup(tmp)

    import polars as pl
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from shebao.accounts.choices import OrganisationKind, Role
    from shebao.accounts.models import Organisation, User

    if args.detail:
        _instrument()
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
    # The world (registry, accounts, organisations, users) is built once and kept: a second
    # run on the same database finds it and only replaces the payments (PostgreSQL).
    kept = (
        connection.vendor == "postgresql"
        and Organisation.objects.filter(code="B-PO").exists()
        and Person.objects.count() == n
    )
    if kept:
        with connection.cursor() as cursor:
            cursor.execute(
                f"TRUNCATE {connection.ops.quote_name(PaymentBatch._meta.db_table)}, "
                f"{connection.ops.quote_name(PaymentProgramme._meta.db_table)} CASCADE"
            )
        for path in (Path(settings.MEDIA_ROOT) / "payments" / "bank").glob("*.dat"):
            path.unlink()
        office, bank_a, branch, bank_b = (
            Organisation.objects.get(code=c) for c in ("B-PO", "B-ABC", "B-ABC1", "B-PSBC")
        )
        users = {
            key: User.objects.get(username=f"bench_{key}")
            for key in ("maker", "checker", "bank_a", "branch", "bank_b")
        }
    else:
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
    if kept:
        person_ids = [pk for (pk,) in Person.objects.order_by("pk").values_list("pk")]
    else:
        person_ids = registry(numbers)
    k = np.arange(len(person_ids))
    owner = k % 3  # bank A head, bank A branch, bank B
    bank_of = np.where(owner == 2, bank_b.pk, bank_a.pk)
    branch_of = [branch.pk if o == 1 else None for o in owner.tolist()]
    if kept:
        account_numbers = [f"6228{i:012d}" for i in range(len(person_ids))]
    else:
        account_numbers = accounts(person_ids, bank_of, branch_of)
        analyze(Person, BankAccount)
    print(
        f"registry and accounts {'kept from an earlier run' if kept else 'loaded'}: "
        f"{time.perf_counter() - t:.1f} s (not part of the figures)"
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
    _print_steps("export")

    t, c = time.perf_counter(), cpu_seconds()
    for record in files:
        operator = (
            users["branch"]
            if record.branch_id
            else (users["bank_a"] if record.bank_id == bank_a.pk else users["bank_b"])
        )
        payment_file_download(actor=operator, file_id=record.pk)
    print(
        f"download of every file (SM3 verified): {time.perf_counter() - t:.1f} s "
        f"(CPU {cpu_seconds() - c:.1f} s)"
    )
    _STEPS.clear()

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

    _print_steps("results import")
    t, c = time.perf_counter(), cpu_seconds()
    report = batch_reconciliation(actor=users["maker"], batch_id=batch.pk)
    reconcile_s, reconcile_cpu = time.perf_counter() - t, cpu_seconds() - c
    totals = report.totals
    print(
        f"reconciliation ({n:,} sent, {n:,} results): {reconcile_s:.1f} s "
        f"(CPU {reconcile_cpu:.1f} s); "
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
