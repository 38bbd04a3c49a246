"""Benchmark the synthetic generator: generate N persons (with households, employers,
enrollments, benefits, prisoners, students), write the department CSV files, and validate
every ID number with the DuckDB macros.

    uv run python bench/bench_generate.py --persons 1000000

Prints wall times, rows per second and peak memory; never prints personal data.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb

from shebao.geo.data import division_table
from shebao.identity.duckdb_sql import register_identity_macros
from shebao.synthetic import DEFAULT_AS_OF, Village, dataset_generate, write_department_files


def villages_of(city: str, per_town: int) -> list[Village]:
    """Committees under the real towns of a city, numbered as `villages_generate` does."""
    rows = {r.code: r for r in division_table().rows}
    city_prefix = city[:4] if city.endswith("00") else city
    out: list[Village] = []
    towns = [r for r in rows.values() if r.level == 4 and r.code.startswith(city_prefix)]
    for town in towns:
        rural = town.name.endswith(("镇", "乡"))
        county = rows.get(town.code[:6])
        for i in range(per_town):
            code = f"{town.code}{(201 if rural else 1) + i:03d}"
            name = f"第{i + 1}村村委会" if rural else f"第{i + 1}社区居民委员会"
            out.append(
                Village(
                    code=code,
                    name=name,
                    town_code=town.code,
                    county_code=town.code[:6],
                    town_name=town.name,
                    county_name=county.name if county else "",
                    full_name=town.full_name + name,
                )
            )
    return out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--city", default="420700", help="city whose towns get the villages")
    parser.add_argument("--villages-per-town", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "synthetic")
    parser.add_argument("--no-write", action="store_true", help="skip writing the CSV files")
    args = parser.parse_args()

    villages = villages_of(args.city, args.villages_per_town)
    # Non-hukou residents come from the other counties of the province.
    origins = sorted(
        r.code
        for r in division_table().rows
        if r.level == 3 and r.code[:2] == args.city[:2] and not r.code.startswith(args.city[:4])
    )
    print(f"persons {args.persons:,}  villages {len(villages):,}  seed {args.seed}")

    started = time.perf_counter()
    ds = dataset_generate(
        villages=villages,
        persons=args.persons,
        seed=args.seed,
        as_of=DEFAULT_AS_OF,
        origin_counties=origins,
        city_name="",
    )
    generate_s = time.perf_counter() - started
    frames = {
        "households": ds.households.height,
        "persons": ds.persons.height,
        "employers": ds.employers.height,
        "enrollments": ds.enrollments.height,
        "benefits": ds.benefits.height,
        "prisoners": ds.prisoners.height,
        "students": ds.students.height,
    }
    total_rows = sum(frames.values())
    print(f"generate        {generate_s:8.2f} s  {args.persons / generate_s:12,.0f} persons/s"
          f"  {total_rows / generate_s:12,.0f} rows/s (all frames)")  # fmt: skip
    for name, rows in frames.items():
        print(f"  {name:12s} {rows:>12,} rows")
    print(f"  peak memory  {peak_mb():>12,.0f} MB")

    if not args.no_write:
        if args.out.exists():
            shutil.rmtree(args.out)
        started = time.perf_counter()
        paths = write_department_files(ds, args.out)
        write_s = time.perf_counter() - started
        lines = sum(sum(1 for _ in p.open("rb")) - 1 for p in paths.values())
        size = sum(p.stat().st_size for p in paths.values()) / 1024**2
        print(f"write CSV       {write_s:8.2f} s  {lines / write_s:12,.0f} rows/s"
              f"  {lines:,} rows, {size:,.0f} MB in {args.out}")  # fmt: skip

    con = duckdb.connect()
    started = time.perf_counter()
    register_identity_macros(con)
    register_s = time.perf_counter() - started
    con.register("persons", ds.persons.select("id_number").to_arrow())
    as_of: date = ds.as_of
    started = time.perf_counter()
    con.execute("SELECT count(*) FROM persons WHERE id_number = ''").fetchone()
    plain_s = time.perf_counter() - started
    started = time.perf_counter()
    row = con.execute(
        "SELECT count(*) FILTER (WHERE shebao_id_error(id_number, $as_of) IS NOT NULL), count(*) "
        "FROM persons",
        {"as_of": as_of},
    ).fetchone()
    validate_s = time.perf_counter() - started
    invalid, checked = row if row is not None else (-1, 0)
    started = time.perf_counter()
    con.execute(
        "SELECT count(*) FROM (SELECT 1 AS x) WHERE shebao_id_error('x', $as_of) IS NOT NULL",
        {"as_of": as_of},
    ).fetchone()
    overhead_s = time.perf_counter() - started
    print(f"duckdb macros   {validate_s:8.2f} s  {checked / validate_s:12,.0f} ids/s"
          f"  ({checked:,} checked, {invalid} invalid; registering {register_s:.2f} s,"
          f" same query on 1 row {overhead_s:.2f} s, plain scan {plain_s:.2f} s)")  # fmt: skip
    print(f"peak memory     {peak_mb():8,.0f} MB")


if __name__ == "__main__":
    main()
