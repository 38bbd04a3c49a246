"""What bench_payments_app.py and bench_payments_batches.py share: a private data dir and
database migrated, the regions, a paying office and banks, and a registry of N persons loaded
in bulk (vectorised: numpy ID numbers, one registry_bulk_load), with their cards and accounts.

Nothing here is timed: it builds the world the timed steps run in.
"""

from __future__ import annotations

import os
import resource
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

CITY, DISTRICT, TOWN, VILLAGE = "420700", "420704", "420704001", "420704001201"
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK = np.array(list("10X98765432"))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(data_dir: Path) -> None:
    """Django on the database named by DATABASE_URL (migrated), files under `data_dir`."""
    os.environ.setdefault("SHEBAO_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def ids(n: int) -> list[str]:
    """n distinct valid ID numbers (sequence numbers 000-999 over consecutive birth days)."""
    return ids_at(np.arange(n))


def ids_at(k: np.ndarray) -> list[str]:
    """The numbers `ids` gives at the positions `k` (without making the others)."""
    n = len(k)
    days = np.datetime64("1950-01-01") + (k // 1000).astype("timedelta64[D]")
    ymd = np.char.replace(np.datetime_as_string(days, unit="D").astype(str), "-", "")
    seq = np.char.zfill((k % 1000).astype(str), 3)
    bodies = np.char.add(np.char.add(DISTRICT, ymd), seq)
    digits = (np.frombuffer("".join(bodies.tolist()).encode(), dtype=np.uint8) - 48).reshape(n, 17)
    checks = CHECK[(digits.astype(np.int64) @ WEIGHTS) % 11]
    return np.char.add(bodies, checks).tolist()


def regions() -> None:
    from shebao.geo.models import Region

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


def org(kind: str, code: str, name: str, region: str = CITY, parent: Any = None) -> Any:
    from shebao.accounts.services import organisation_create
    from shebao.geo.models import Region

    return organisation_create(
        actor=None,
        code=code,
        name=name,
        kind=kind,
        region=Region.objects.get(code=region),
        parent=parent,
    )


def user(username: str, role: str, organisation: Any) -> Any:
    from shebao.accounts.services import user_create

    return user_create(
        actor=None,
        username=username,
        password="Bench2026pass!",  # noqa: S106 - a throwaway benchmark database
        organisation=organisation,
        roles=[role],
    )


def registry(numbers: list[str]) -> list[int]:
    """Load one person per number (all alive, in the village) and return their keys in the
    numbers' order."""
    import polars as pl

    from shebao.registry.bulk import registry_bulk_load
    from shebao.registry.models import Person

    n = len(numbers)
    frame = pl.DataFrame({"id_number": numbers})
    persons = frame.select(
        "id_number",
        pl.lit("受益人").alias("name"),
        pl.when(pl.col("id_number").str.slice(16, 1).cast(pl.Int64) % 2 == 1)
        .then(pl.lit("M"))
        .otherwise(pl.lit("F"))
        .alias("gender"),
        pl.col("id_number").str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d").alias("birth_date"),
        pl.lit("汉族").alias("ethnicity"),
        pl.lit(VILLAGE).alias("hukou_region_code"),
        pl.lit(VILLAGE).alias("residence_region_code"),
        pl.lit(None, dtype=pl.String).alias("household_number"),
        pl.lit("").alias("relation_to_head"),
        pl.lit("hukou").alias("hukou_type"),
        pl.lit("alive").alias("life_status"),
        pl.lit(None, dtype=pl.Date).alias("status_date"),
        pl.lit("").alias("phone"),
    )
    assert persons.height == n  # noqa: S101 - a benchmark's own sanity check
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
    return [pk for (pk,) in Person.objects.order_by("pk").values_list("pk")]


def accounts(
    person_ids: list[int], bank_ids: np.ndarray, branch_ids: list[int | None]
) -> list[str]:
    """One opened account per person at the given bank (and branch); returns the numbers."""
    import polars as pl

    from shebao.cards.services.bulk import insert_frame
    from shebao.registry.models import BankAccount

    numbers = [f"6228{i:012d}" for i in range(len(person_ids))]
    insert_frame(
        BankAccount,
        pl.DataFrame(
            {
                "person_id": person_ids,
                "bank_id": bank_ids.tolist(),
                "branch_id": branch_ids,
                "account_number": numbers,
                "opened_on": [date(2020, 1, 1)] * len(person_ids),
            },
            schema={
                "person_id": pl.Int64,
                "bank_id": pl.Int64,
                "branch_id": pl.Int64,
                "account_number": pl.String,
                "opened_on": pl.Date,
            },
        ),
    )
    return numbers


def existing_org(kind: str, code: str, name: str, region: str = CITY, parent: Any = None) -> Any:
    """The organisation `code` when a kept world already has it, else a new one."""
    from shebao.accounts.models import Organisation

    found = Organisation.objects.filter(code=code).first()
    return found if found is not None else org(kind, code, name, region, parent)


def existing_user(username: str, role: str, organisation: Any) -> Any:
    from shebao.accounts.models import User

    found = User.objects.filter(username=username).first()
    return found if found is not None else user(username, role, organisation)


def population_world(population: int, bank_ids: list[int]) -> None:
    """A registry of `population` persons (numbers `ids(population)`), each with an activated
    card and an opened account at bank_ids[pk % len(bank_ids)], built with COPY and set-based
    SQL the first time and kept: a database that already holds exactly this world is reused
    (a 10,000,000-person world takes minutes to build)."""
    import polars as pl
    from django.db import connection

    from shebao.cards.models import Card
    from shebao.cards.services.bulk import insert_frame
    from shebao.registry.models import BankAccount, Person

    have = Person.objects.count()
    if have == population == Card.objects.count() == BankAccount.objects.count():
        print(f"population world of {population:,} persons kept from an earlier run")
        return
    if have:
        raise SystemExit(
            f"the database holds {have:,} persons (or their cards and accounts are incomplete), "
            f"not a world of {population:,}: use an empty database"
        )
    started = time.perf_counter()
    registry(ids(population))
    print(f"  registry loaded: {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {connection.ops.quote_name(Person._meta.db_table)}")  # noqa: S608 - a quoted table name
        pks = pl.DataFrame(cursor.fetchall(), schema={"person_id": pl.Int64}, orient="row")
    pks = pks.sort("person_id").with_columns(
        pl.col("person_id")
        .mod(len(bank_ids))
        .replace_strict(dict(enumerate(bank_ids)), return_dtype=pl.Int64)
        .alias("bank_id"),
        pl.int_range(pl.len()).alias("k"),
    )
    insert_frame(
        Card,
        pks.select(
            pl.format("B{}", pl.col("k").cast(pl.String).str.zfill(8)).alias("card_number"),
            pl.format("BENCH{}", pl.col("k").cast(pl.String).str.zfill(27)).alias("card_id_code"),
            "person_id",
            pl.lit("active").alias("status"),
            pl.lit(CITY).alias("issuing_region_id"),
            "bank_id",
        ),
    )
    print(f"  cards loaded: {time.perf_counter() - started:.0f} s")
    insert_frame(
        BankAccount,
        pks.select(
            "person_id",
            "bank_id",
            pl.lit(None, dtype=pl.Int64).alias("branch_id"),
            pl.format("6228{}", pl.col("k").cast(pl.String).str.zfill(12)).alias("account_number"),
            pl.lit(date(2020, 1, 1)).alias("opened_on"),
        ),
    )
    analyze(Person, Card, BankAccount)
    print(f"population world built: {time.perf_counter() - started:.0f} s (not timed)")


def analyze(*models: Any) -> None:
    """As autovacuum would after a bulk load (PostgreSQL; nothing on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    return int(row[0]) if row else None


def backend_peak_mb() -> float | None:
    """Peak resident memory of this connection's PostgreSQL backend (VmHWM; None when the
    server is not on this machine or the database is SQLite)."""
    pid = _backend_pid()
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and by its PostgreSQL backend (read from
    /proc: the server runs on this machine in the bench setups). On a loaded machine wall
    time says more about the neighbours than about the code; this does not."""
    import time

    from django.db import connection

    used = time.process_time()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            row = cursor.fetchone()
        try:
            fields = Path(f"/proc/{row[0]}/stat").read_text().rsplit(")", 1)[1].split()
            used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError, TypeError):
            pass  # the server is elsewhere: the client's CPU only
    return used
