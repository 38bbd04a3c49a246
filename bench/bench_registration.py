"""Benchmark registration in the application: import the demo city's department files as
batches (jobs), compare them as a run, load the findings in bulk (COPY on PostgreSQL) and
refresh every person's registration status, all through the services the pages use.

    uv run python bench/bench_registration.py --persons 200000          # a fresh SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench_registration \\
        uv run python bench/bench_registration.py --persons 200000      # an empty PostgreSQL

The database named by DATABASE_URL must exist and is migrated and filled: do not point it
at real data. Prints wall times, rows per second and peak memory; never personal data.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def _setup(data_dir: Path) -> None:
    os.environ.setdefault("SHEBAO_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--city",
        default="420600",
        help="prefecture of the demo city (420700 adds the reports demo)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shebao-bench-registration-") as tmp:
        _setup(Path(tmp))
        from django.conf import settings
        from django.db import connection

        from shebao.demo.services import DEMO_AS_OF, demo_build
        from shebao.intake.models import ImportBatch
        from shebao.registration.demo import registration_demo_seed
        from shebao.registration.models import PersonRegistration

        database = connection.vendor
        started = time.perf_counter()
        summary = demo_build(people=args.persons, seed=args.seed, city_code=args.city)
        print(f"database: {database}; data dir: {settings.DATA_DIR}")
        print(f"demo city built: {args.persons:,} persons in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        seeded = registration_demo_seed(
            department_files=summary.department_files,
            as_of=DEMO_AS_OF,
            region_code=summary.city_code,
        )
        total = time.perf_counter() - started
        rows = 0
        for batch in ImportBatch.objects.order_by("id"):
            seconds = (batch.finished_at - batch.created_at).total_seconds()  # type: ignore[operator]
            rows += batch.rows_read
            print(
                f"  import {batch.kind:<11} {batch.rows_read:>10,} rows "
                f"({batch.rows_rejected:,} rejected) {seconds:6.2f} s "
                f"{batch.rows_read / max(seconds, 1e-9):>12,.0f} rows/s"
            )
        run = seeded.run
        if run is None:
            print("no comparison run (no population batch)", file=sys.stderr)
            sys.exit(1)
        timings = run.timings
        load = timings.get("findings_load", 0.0)
        refresh = timings.get("registration_refresh", 0.0)
        persons = PersonRegistration.objects.count()
        print(f"  compare (engine {run.engine}): {run.duration_seconds:.2f} s in all")
        print(
            f"  findings loaded: {run.findings_loaded:,} in {load:.2f} s "
            f"({run.findings_loaded / max(load, 1e-9):,.0f} rows/s)"
        )
        print(
            f"  registration status: {persons:,} persons in {refresh:.2f} s "
            f"({persons / max(refresh, 1e-9):,.0f} persons/s)"
        )
        print(f"imports + comparison + load: {total:.1f} s for {rows:,} department rows")
        print(f"peak memory (this process): {_peak_mb():,.0f} MB")
        for category, count in sorted(run.counts.items()):
            print(f"    {category:<22} {count:>10,}")


if __name__ == "__main__":
    main()
