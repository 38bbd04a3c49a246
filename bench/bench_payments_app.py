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
import resource
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

CITY, DISTRICT, TOWN, VILLAGE = "420700", "420704", "420704001", "420704001201"
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK = np.array(list("10X98765432"))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _setup(data_dir: Path) -> None:
    os.environ.setdefault("SHEBAO_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _ids(n: int) -> list[str]:
    """n distinct valid ID numbers (sequence numbers 000-999 over consecutive birth days)."""
    k = np.arange(n)
    days = np.datetime64("1950-01-01") + (k // 1000).astype("timedelta64[D]")
    ymd = np.char.replace(np.datetime_as_string(days, unit="D").astype(str), "-", "")
    seq = np.char.zfill((k % 1000).astype(str), 3)
    bodies = np.char.add(np.char.add(DISTRICT, ymd), seq)
    digits = (np.frombuffer("".join(bodies.tolist()).encode(), dtype=np.uint8) - 48).reshape(n, 17)
    checks = CHECK[(digits.astype(np.int64) @ WEIGHTS) % 11]
    return np.char.add(bodies, checks).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    n = args.rows
    tmp = Path(tempfile.mkdtemp(prefix="bench-payments-"))
    _setup(tmp)

    import polars as pl
    from django.db import connection
    from django.utils import timezone

    from shebao.accounts.choices import OrganisationKind, Role
    from shebao.accounts.services import organisation_create, user_create
    from shebao.cards.services.bulk import insert_frame
    from shebao.geo.models import Region
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
    from shebao.registry.bulk import registry_bulk_load
    from shebao.registry.models import BankAccount, Person

    print(f"database: {connection.vendor}; rows: {n:,}")
    for code, name, level, parent, prefix in (
        ("420000", "湖北省", 1, None, "42"),
        (CITY, "鄂州市", 2, "420000", "4207"),
        (DISTRICT, "鄂城区", 3, CITY, DISTRICT),
        (TOWN, "凤凰街道", 4, DISTRICT, TOWN),
        (VILLAGE, "凤凰村村委会", 5, TOWN, VILLAGE),
    ):
        Region.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "level": level,
                "parent_id": parent,
                "prefix": prefix,
                "full_name": name,
            },
        )

    def org(kind: str, code: str, region: str, name: str, parent=None):  # type: ignore[no-untyped-def]
        return organisation_create(
            actor=None,
            code=code,
            name=name,
            kind=kind,
            region=Region.objects.get(code=region),
            parent=parent,
        )

    office = org(OrganisationKind.PAYING_OFFICE, "B-PO", CITY, "鄂州市社会保险事业局")
    bank_a = org(OrganisationKind.BANK, "B-ABC", CITY, "农业银行鄂州分行")
    branch = org(OrganisationKind.BANK_BRANCH, "B-ABC1", DISTRICT, "农业银行鄂城支行", bank_a)
    bank_b = org(OrganisationKind.BANK, "B-PSBC", CITY, "邮储银行鄂州分行")
    users = {
        key: user_create(
            actor=None,
            username=f"bench_{key}",
            password="Bench2026pass!",  # noqa: S106 - a throwaway benchmark database
            organisation=o,
            roles=[role],
        )
        for key, role, o in (
            ("maker", Role.PAYING_OFFICE_CLERK, office),
            ("checker", Role.PAYING_OFFICE_CLERK, office),
            ("bank_a", Role.BANK_OPERATOR, bank_a),
            ("branch", Role.BANK_OPERATOR, branch),
            ("bank_b", Role.BANK_OPERATOR, bank_b),
        )
    }

    t = time.perf_counter()
    ids = _ids(n)
    persons = pl.DataFrame(
        {
            "id_number": ids,
            "name": ["受益人"] * n,
            "gender": ["M" if int(i[16]) % 2 else "F" for i in ids],
            "birth_date": [date(int(i[6:10]), int(i[10:12]), int(i[12:14])) for i in ids],
            "ethnicity": ["汉族"] * n,
            "hukou_region_code": [VILLAGE] * n,
            "residence_region_code": [VILLAGE] * n,
            "household_number": [None] * n,
            "relation_to_head": [""] * n,
            "hukou_type": ["hukou"] * n,
            "life_status": ["alive"] * n,
            "status_date": [None] * n,
            "phone": [""] * n,
        }
    )
    registry_bulk_load(
        households=pl.DataFrame(
            schema={"household_number": pl.String, "village_code": pl.String, "address": pl.String}
        ),
        persons=persons,
        employers=pl.DataFrame(
            schema={
                "credit_code": pl.String,
                "name": pl.String,
                "kind": pl.String,
                "region_code": pl.String,
                "registered_on": pl.Date,
                "is_active": pl.Boolean,
            }
        ),
        enrollments=pl.DataFrame(
            schema={
                "id_number": pl.String,
                "scheme_code": pl.String,
                "employer_credit_code": pl.String,
                "insurance_region_code": pl.String,
                "status": pl.String,
                "start_date": pl.Date,
                "end_date": pl.Date,
            }
        ),
    )
    person_ids = [pk for (pk,) in Person.objects.order_by("pk").values_list("pk")]
    k = np.arange(len(person_ids))
    owner = k % 3  # bank A head, bank A branch, bank B
    bank_of = np.where(owner == 2, bank_b.pk, bank_a.pk)
    accounts = pl.DataFrame(
        {
            "person_id": person_ids,
            "bank_id": bank_of.tolist(),
            "branch_id": [branch.pk if o == 1 else None for o in owner.tolist()],
            "account_number": [f"6228{i:012d}" for i in range(len(person_ids))],
            "opened_on": [date(2020, 1, 1)] * len(person_ids),
        },
        schema={
            "person_id": pl.Int64,
            "bank_id": pl.Int64,
            "branch_id": pl.Int64,
            "account_number": pl.Utf8,
            "opened_on": pl.Date,
        },
    )
    insert_frame(BankAccount, accounts)
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
                "id_number": ids,
                "name": ["受益人"] * len(person_ids),
                "amount_text": [""] * len(person_ids),
                "amount_fen": amounts.tolist(),
                "payable": [True] * len(person_ids),
                "dropped": [False] * len(person_ids),
                "reasons": [""] * len(person_ids),
                "note": [""] * len(person_ids),
                "frozen_name": ["受益人"] * len(person_ids),
                "frozen_id_number": ids,
                "frozen_bank_id": bank_of.tolist(),
                "frozen_branch_id": accounts["branch_id"].to_list(),
                "frozen_account_number": accounts["account_number"].to_list(),
                "frozen_card_number": [""] * len(person_ids),
            }
        ),
    )

    t = time.perf_counter()
    files = payment_files_export(actor=users["maker"], batch_id=batch.pk)
    export_s = time.perf_counter() - t
    print(
        f"export: {len(files)} sealed files, {sum(f.record_count for f in files):,} rows, "
        f"{sum(f.total_fen for f in files):,} fen: {export_s:.1f} s; peak {_peak_mb():.0f} MB"
    )

    t = time.perf_counter()
    for record in files:
        user = (
            users["branch"]
            if record.branch_id
            else (users["bank_a"] if record.bank_id == bank_a.pk else users["bank_b"])
        )
        payment_file_download(actor=user, file_id=record.pk)
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
        user = (
            users["branch"]
            if record.branch_id
            else (users["bank_a"] if record.bank_id == bank_a.pk else users["bank_b"])
        )
        result_files.append((user, bank_results_file(record, results)))
    t = time.perf_counter()
    for answering, data in result_files:
        payment_results_import(actor=answering, data=data)
    import_s = time.perf_counter() - t
    print(f"results import ({n:,} rows): {import_s:.1f} s; peak {_peak_mb():.0f} MB")

    t = time.perf_counter()
    report = batch_reconciliation(actor=users["maker"], batch_id=batch.pk)
    reconcile_s = time.perf_counter() - t
    totals = report.totals
    print(
        f"reconciliation ({n:,} sent, {n:,} results): {reconcile_s:.1f} s; "
        f"paid {int(totals['paid_count'].sum()):,} / {int(totals['paid_fen'].sum()):,} fen, "
        f"failed {int(totals['failed_count'].sum()):,} / {int(totals['failed_fen'].sum()):,} fen, "
        f"differences {report.differences.height:,}; peak {_peak_mb():.0f} MB"
    )
    print(f"results import + reconciliation: {import_s + reconcile_s:.1f} s")


if __name__ == "__main__":
    main()
