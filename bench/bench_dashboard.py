"""Benchmark: the leader's dashboard JSON (/reports/dashboard/data.json) for a province of
60 million people.

Generates, with numpy, a province (430000) with 14 prefectures and ~100 counties whose
residents add up to 60 million, and for one year the figures every county reports upward:
12 months (and the December before) × 8 metrics, three banks' received/opened counts per
county and month, and annual plus monthly targets — the rows `shebao figures import` and
`shebao targets import` would have loaded. Then it times the JSON view through Django's test
client (in process, session and all) for the province, a prefecture and a county, and the
XLSX export, and prints the number of SQL queries.

    uv run python bench/bench_dashboard.py                     # a fresh SQLite database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench_dashboard \\
        uv run python bench/bench_dashboard.py                 # an empty PostgreSQL database

The database named by DATABASE_URL must exist (`createdb -h 127.0.0.1 -U postgres
shebao_bench_dashboard`); it is migrated and filled: do not point it at real data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

YEAR = 2026
PROVINCE = "430000"
METRICS = (
    ("registered", 0.93, 0.97),
    ("submitted", 0.70, 0.92),
    ("received", 0.68, 0.90),
    ("opened", 0.62, 0.85),
    ("produced", 0.58, 0.82),
    ("distributed", 0.54, 0.78),
    ("activated", 0.42, 0.65),
    ("ecard", 0.30, 0.55),
)
BANKS = (("农业银行", 0.45), ("邮储银行", 0.20), ("农信社联社", 0.35))


def _setup(data_dir: Path) -> None:
    os.environ.setdefault("SHEBAO_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _regions(prefectures: int, counties: int) -> tuple[list[str], list[str]]:
    from shebao.geo.models import Region

    Region.objects.filter(code__startswith=PROVINCE[:2]).delete()
    rows = [Region(code=PROVINCE, name="演示省", level=1, prefix=PROVINCE[:2], full_name="演示省")]
    prefecture_codes = [f"{PROVINCE[:2]}{i + 1:02d}00" for i in range(prefectures)]
    county_codes: list[str] = []
    per = -(-counties // prefectures)
    for p in prefecture_codes:
        rows.append(Region(code=p, name=f"第{p[2:4]}市", level=2, parent_id=PROVINCE, prefix=p[:4]))
        for j in range(per):
            if len(county_codes) == counties:
                break
            c = f"{p[:4]}{j + 1:02d}"
            county_codes.append(c)
            rows.append(
                Region(code=c, name=f"第{c[2:4]}市{j + 1}县", level=3, parent_id=p, prefix=c)
            )
    Region.objects.bulk_create(rows, batch_size=1000)
    return prefecture_codes, county_codes


def _fill(counties: list[str], people_total: int, seed: int) -> dict[str, int]:
    from shebao.reports.models import ReportedFigure, Target

    rng = np.random.default_rng(seed)
    people = np.floor(rng.dirichlet(np.full(len(counties), 3.0)) * people_total).astype(np.int64)
    people[0] += people_total - int(people.sum())
    rhythm = np.full(12, 1 / 12)
    pace = np.clip(rng.normal(1.0, 0.12, len(counties)), 0.6, 1.35)
    figures: list[ReportedFigure] = []
    targets: list[Target] = []
    received = np.zeros((13, len(counties)), dtype=np.int64)
    for metric, start, goal in METRICS:
        base = people * start
        annual = np.round(people * goal).astype(np.int64)
        gain = annual - base
        done = np.cumsum(
            rhythm * pace[:, None] * np.clip(rng.normal(1, 0.15, (len(counties), 12)), 0.5, 1.5),
            axis=1,
        )
        done = np.concatenate([np.zeros((len(counties), 1)), done], axis=1)
        for i, code in enumerate(counties):
            targets.append(
                Target(year=YEAR, month=None, region_id=code, metric=metric, value=annual[i])
            )
            for m in range(1, 13):
                value = int(np.rint(base[i] + gain[i] * m / 12))
                targets.append(
                    Target(year=YEAR, month=m, region_id=code, metric=metric, value=value)
                )
        values = np.round(base[:, None] + gain[:, None] * np.minimum(done, 1.6)).astype(np.int64)
        for m in range(13):
            year, month = (YEAR - 1, 12) if m == 0 else (YEAR, m)
            for i, code in enumerate(counties):
                figures.append(
                    ReportedFigure(
                        year=year, month=month, region_id=code, metric=metric, value=values[i, m]
                    )
                )
            if metric == "received":
                received[m] = values[:, m]
    for m in range(1, 13):
        for i, code in enumerate(counties):
            for bank, share in BANKS:
                got = int(received[m, i] * share)
                figures.append(
                    ReportedFigure(
                        year=YEAR, month=m, region_id=code, bank=bank, metric="received", value=got
                    )
                )
                figures.append(
                    ReportedFigure(
                        year=YEAR,
                        month=m,
                        region_id=code,
                        bank=bank,
                        metric="opened",
                        value=int(got * 0.86),
                    )
                )
    ReportedFigure.objects.bulk_create(figures, batch_size=2000)
    Target.objects.bulk_create(targets, batch_size=2000)
    return {"figures": len(figures), "targets": len(targets), "people": int(people.sum())}


def _live(counties: list[str], towns: int, villages: int, seed: int) -> int:
    """Live figures as `shebao figures refresh` keeps them when the whole province runs on
    shebao: cards made, issued and activated at every level down to the villages (`--live`)."""
    from shebao.geo.models import Region
    from shebao.reports.models import LiveFigure

    rng = np.random.default_rng(seed + 1)
    regions: list[Region] = []
    leaves: list[str] = []
    for county in counties:
        for t in range(towns):
            town = f"{county}{t + 1:03d}"
            regions.append(
                Region(code=town, name=f"{town}镇", level=4, parent_id=county, prefix=town)
            )
            for v in range(villages):
                village = f"{town}{v + 201:03d}"
                regions.append(
                    Region(
                        code=village, name=f"{village}村", level=5, parent_id=town, prefix=village
                    )
                )
                leaves.append(village)
    Region.objects.bulk_create(regions, batch_size=5000)
    rows: list[LiveFigure] = []
    for metric, scale in (("produced", 900), ("distributed", 800), ("activated", 600)):
        monthly = rng.integers(0, scale // 6, (len(leaves), 13)).cumsum(axis=1)
        totals: dict[tuple[str, int], int] = {}
        for i, village in enumerate(leaves):
            chain = (village, village[:9], village[:6], village[:4] + "00", PROVINCE)
            for m in range(13):
                for code in chain:
                    totals[(code, m)] = totals.get((code, m), 0) + int(monthly[i, m])
        for (code, m), value in totals.items():
            year, month = (YEAR - 1, 12) if m == 0 else (YEAR, m)
            rows.append(
                LiveFigure(year=year, month=month, region_id=code, metric=metric, value=value)
            )
    LiveFigure.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def _time(client: object, url: str, runs: int) -> tuple[float, float, float, int]:
    from django.db import connection

    get = client.get  # type: ignore[attr-defined]
    response = get(url)  # warm up (and check)
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    queries: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        get(url)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        get(url)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), min(timings), max(timings), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counties", type=int, default=100)
    parser.add_argument("--prefectures", type=int, default=14)
    parser.add_argument("--people", type=int, default=60_000_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="profile the province JSON")
    parser.add_argument(
        "--live",
        action="store_true",
        help="also live figures down to villages (10 towns x 20 villages per county)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shebao-bench-dashboard-") as tmp:
        _setup(Path(tmp))
        from django.db import connection, transaction
        from django.test import Client

        from shebao.accounts.models import User
        from shebao.reports.models import ReportedFigure, Target

        started = time.perf_counter()
        with transaction.atomic():
            ReportedFigure.objects.filter(region__code__startswith=PROVINCE[:2]).delete()
            Target.objects.filter(region__code__startswith=PROVINCE[:2]).delete()
            prefectures, counties = _regions(args.prefectures, args.counties)
            sizes = _fill(counties, args.people, args.seed)
            live_rows = _live(counties, 10, 20, args.seed) if args.live else 0
        print(
            f"database: {connection.vendor}; generated {len(prefectures)} prefectures, "
            f"{len(counties)} counties, {sizes['people']:,} people, {sizes['figures']:,} figure "
            f"rows, {sizes['targets']:,} target rows, {live_rows:,} live figure rows "
            f"in {time.perf_counter() - started:.1f} s"
        )
        admin, _ = User.objects.get_or_create(
            username="bench_dashboard", defaults={"is_superuser": True, "is_staff": True}
        )
        client = Client()
        client.force_login(admin)
        month = f"{YEAR}-12"
        cases = [
            ("province JSON", f"/reports/dashboard/data.json?region={PROVINCE}&month={month}"),
            (
                "prefecture JSON",
                f"/reports/dashboard/data.json?region={prefectures[0]}&month={month}",
            ),
            ("county JSON", f"/reports/dashboard/data.json?region={counties[0]}&month={month}"),
            ("province page", f"/reports/dashboard/?region={PROVINCE}&month={month}"),
            ("province XLSX", f"/reports/dashboard/export.xlsx?region={PROVINCE}&month={month}"),
            ("province bulletin page", f"/reports/bulletin/?region={PROVINCE}&month={month}"),
        ]
        if args.profile:
            import cProfile
            import pstats

            client.get(cases[0][1])  # imports and caches first
            profiler = cProfile.Profile()
            profiler.enable()
            client.get(cases[0][1])
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        for label, url in cases:
            median, low, high, queries = _time(client, url, args.runs)
            print(
                f"{label:24s} median {median * 1000:7.1f} ms  (min {low * 1000:.1f}, "
                f"max {high * 1000:.1f}; {queries} SQL queries)"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
