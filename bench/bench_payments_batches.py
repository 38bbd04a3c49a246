"""Benchmark a payment batch's preparation in the application (issue #12 §1): the import of
the office's N-row CSV, the row-by-row check against the database (population, cards and
accounts, earlier payments), the submission and the approval (which checks every row again
and freezes each payable row's card and account snapshot), with the exact total.

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
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

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
    tmp = Path(tempfile.mkdtemp(prefix="bench-batches-"))
    _setup(tmp)

    import polars as pl
    from django.db import connection

    from shebao.accounts.choices import OrganisationKind, Role
    from shebao.accounts.services import organisation_create, user_create
    from shebao.cards.models import Card
    from shebao.cards.services.bulk import insert_frame
    from shebao.geo.models import Region
    from shebao.payments.models import PaymentProgramme
    from shebao.payments.services.batches import (
        payment_batch_approve,
        payment_batch_check,
        payment_batch_drop_problem_rows,
        payment_batch_import,
        payment_batch_submit,
    )
    from shebao.payments.services.programmes import payment_programmes_ensure
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
            defaults={"name": name, "level": level, "parent_id": parent, "prefix": prefix,
                      "full_name": name},
        )  # fmt: skip

    def org(kind: str, code: str, name: str):  # type: ignore[no-untyped-def]
        return organisation_create(
            actor=None, code=code, name=name, kind=kind, region=Region.objects.get(code=CITY)
        )

    office = org(OrganisationKind.PAYING_OFFICE, "BB-PO", "鄂州市社会保险事业局")
    banks = [org(OrganisationKind.BANK, f"BB-B{i}", f"合作银行{i}") for i in (1, 2)]
    maker, checker = (
        user_create(
            actor=None,
            username=f"bench_{key}",
            password="Bench2026pass!",  # noqa: S106 - a throwaway benchmark database
            organisation=office,
            roles=[Role.PAYING_OFFICE_CLERK],
        )
        for key in ("maker", "checker")
    )
    payment_programmes_ensure(offices={}, default=office)
    programme = PaymentProgramme.objects.get(code="PENSION_170")

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
    empty = pl.DataFrame
    registry_bulk_load(
        households=empty(
            schema={"household_number": pl.String, "village_code": pl.String, "address": pl.String}
        ),
        persons=persons,
        employers=empty(
            schema={
                "credit_code": pl.String,
                "name": pl.String,
                "kind": pl.String,
                "region_code": pl.String,
                "registered_on": pl.Date,
                "is_active": pl.Boolean,
            }
        ),
        enrollments=empty(
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
    bank_of = [banks[i % 2].pk for i in range(len(person_ids))]
    insert_frame(
        Card,
        pl.DataFrame(
            {
                "card_number": [f"B{i:08d}" for i in range(len(person_ids))],
                "card_id_code": [f"BENCH{i:027d}" for i in range(len(person_ids))],
                "person_id": person_ids,
                "status": ["active"] * len(person_ids),
                "issuing_region_id": [CITY] * len(person_ids),
                "bank_id": bank_of,
            }
        ),
    )
    insert_frame(
        BankAccount,
        pl.DataFrame(
            {
                "person_id": person_ids,
                "bank_id": bank_of,
                "account_number": [f"6228{i:012d}" for i in range(len(person_ids))],
                "opened_on": [date(2020, 1, 1)] * len(person_ids),
            }
        ),
    )
    with connection.cursor() as cursor:  # as autovacuum would, after a bulk load
        for model in (Person, Card, BankAccount):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    print(f"registry, cards and accounts loaded: {time.perf_counter() - t:.1f} s (not timed)")

    rng = np.random.default_rng(7)
    fen = rng.integers(10_000, 500_000, n)
    path = tmp / "发放名单.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["鄂州市城乡居民基本养老保险待遇发放名单（2026年11月）"])
        writer.writerow(["社会保障号码", "姓名", "金额"])
        for i, (number, amount) in enumerate(zip(ids, fen.tolist(), strict=True)):
            if i % 100_000 == 1:
                number = number[:17] + ("0" if number[17] != "0" else "1")  # wrong check digit
            text = "abc" if i % 100_000 == 2 else f"{amount // 100}.{amount % 100:02d}"
            writer.writerow([number, "受益人", text])
        writer.writerow([ids[0], "受益人", "100.00"])  # a duplicate of the first row
    planted = 2 * ((n - 1) // 100_000 + 1) + 1
    print(f"office file written: {path.stat().st_size / 1e6:.1f} MB, {n + 1:,} rows")

    figures: list[tuple[str, float]] = []

    def timed(label: str, run):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = run()
        figures.append((label, time.perf_counter() - started))
        print(f"{label}: {figures[-1][1]:.1f} s; peak memory so far {_peak_mb():.0f} MB")
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
        "approve (check again, freeze the snapshot)",
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
    print(f"import + check + approve: {main_path:.1f} s; peak memory {_peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
