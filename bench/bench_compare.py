"""Benchmark `shebao compare-files` end to end on DuckDB, beside the floor.

Generates N persons with `shebao.synthetic` (population, enrollment, benefit, death, prison,
student and employer files, as CSV), corrupts a small share of the rows as departments do
(a mistyped digit in an ID number, a 15-digit number, a traditional-character or different
name, a row given twice), runs `shebao compare-files` in a child process, and then measures
the floor on the same files: the time DuckDB takes to read them, validate the ID numbers and
do the bare joins and anti-joins the categories need.

    uv run python bench/bench_compare.py --persons 1000000

Prints wall times, rows per second, peak memory (this process and its children) and the
findings per category; never prints personal data.
"""

# ruff: noqa: S608 - the SQL below is built from this script's constants and its own paths
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from shebao.geo.data import division_table
from shebao.identity.duckdb_sql import register_identity_macros
from shebao.identity.id_number import ID_WEIGHTS
from shebao.synthetic import (
    DEFAULT_AS_OF,
    Village,
    dataset_generate,
    department_frames,
)

PERSON_KINDS = ("population", "enrollment", "benefit", "death", "prison", "student")


def villages_of(city: str, per_town: int) -> list[Village]:
    """Committees under the real towns of a city (as the demo numbers them)."""
    rows = {r.code: r for r in division_table().rows}
    out: list[Village] = []
    for town in (r for r in rows.values() if r.level == 4 and r.code.startswith(city[:4])):
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


def corrupt(frame: pl.DataFrame, share: float, rng: np.random.Generator) -> pl.DataFrame:
    """Mistype one digit of the ID number in `share` of the rows, write another `share` as
    the old 15-digit number, give another `share` a different name, another `share` the
    traditional form of a common character (a trap: no finding), and repeat `share` / 10 of
    the rows (duplicates). Vectorised: masks and string expressions, no loop over rows."""
    n = frame.height
    if n == 0 or share <= 0:
        return frame
    pick = rng.random(n)
    typo = pl.Series(pick < share)
    old15 = pl.Series((pick >= share) & (pick < 2 * share))
    rename = pl.Series((pick >= 2 * share) & (pick < 3 * share))
    traditional = pl.Series((pick >= 3 * share) & (pick < 4 * share))
    digit = pl.Series(rng.integers(0, 10, n).astype(str))
    position = pl.Series(rng.integers(6, 17, n))
    id_col, name_col = "公民身份号码", "姓名"
    ids = pl.col(id_col)
    typed = ids.str.slice(0, position) + pl.lit(digit) + ids.str.slice(position + 1)
    frame = frame.with_columns(
        pl.when(typo)
        .then(typed)
        .when(old15 & ids.str.slice(6, 2).eq("19"))
        .then(ids.str.slice(0, 6) + ids.str.slice(8, 9))
        .otherwise(ids)
        .alias(id_col),
        pl.when(rename)
        .then(pl.col(name_col).str.slice(0, 1) + pl.lit("某"))
        .when(traditional)
        .then(pl.col(name_col).str.replace_many(["张", "陈", "刘", "杨"], ["張", "陳", "劉", "楊"]))
        .otherwise(pl.col(name_col))
        .alias(name_col),
    )
    repeats = frame.filter(pl.Series(rng.random(n) < share / 10))
    return pl.concat([frame, repeats])


def peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def floor(files: dict[str, Path], as_of: date, threads: int) -> dict[str, float]:
    """What any implementation must at least do: read every file, validate the ID numbers
    (the project's macros on the distinct numbers, as the engine does; and, for scale, the
    bare check-digit arithmetic), and the joins and anti-joins of the categories."""
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}").fetchall()
    con.execute("SET preserve_insertion_order = false").fetchall()
    register_identity_macros(con)
    times: dict[str, float] = {}

    def step(name: str, sql: str) -> None:
        started = time.perf_counter()
        con.execute(sql).fetchall()
        times[name] = time.perf_counter() - started

    def read(kind: str, columns: str) -> str:
        return (
            f"CREATE TABLE {kind} AS SELECT {columns} FROM read_csv('{files[kind]}', "
            "all_varchar = true, header = true)"
        )

    started = time.perf_counter()
    con.execute(read("population", "公民身份号码 AS id, 姓名 AS name, 人员状态 AS status, "
                     "户籍地区划代码 AS region")).fetchall()  # fmt: skip
    con.execute(read("enrollment", "公民身份号码 AS id, 姓名 AS name, 险种代码 AS scheme, "
                     "参保状态 AS status, 参保地区划代码 AS region")).fetchall()  # fmt: skip
    con.execute(read("benefit", "公民身份号码 AS id, 姓名 AS name, 险种代码 AS scheme, "
                     "待遇状态 AS status")).fetchall()  # fmt: skip
    for kind in ("death", "prison", "student"):
        con.execute(read(kind, "公民身份号码 AS id, 姓名 AS name")).fetchall()
    times["read CSV"] = time.perf_counter() - started
    union = " UNION ALL ".join(f"SELECT id, name FROM {k}" for k in PERSON_KINDS)
    step("validate IDs (macro, distinct)",
         f"CREATE TABLE ids AS SELECT id, shebao_id_error(id, DATE '{as_of}') AS e "
         f"FROM (SELECT DISTINCT id FROM ({union}))")  # fmt: skip
    weighted = " + ".join(f"{w} * ((v // {10 ** (16 - i)}) % 10)" for i, w in enumerate(ID_WEIGHTS))
    step("check digits only (all rows)",
         f"SELECT count(*) FILTER (WHERE substr('10X98765432', "
         f"CAST(1 + ({weighted}) % 11 AS INTEGER), 1) = substr(id, 18, 1)) FROM "
         f"(SELECT id, TRY_CAST(substr(id, 1, 17) AS BIGINT) AS v FROM ({union}))")  # fmt: skip
    others = " UNION ALL ".join(f"SELECT id, name FROM {k}" for k in PERSON_KINDS[1:])
    step("anti-join: not in population",
         f"SELECT count(*) FROM ({others}) o WHERE NOT EXISTS "
         f"(SELECT 1 FROM population p WHERE p.id = o.id)")  # fmt: skip
    step("join: names against population",
         f"SELECT count(*) FROM ({others}) o JOIN population p ON p.id = o.id "
         f"WHERE o.name <> p.name")  # fmt: skip
    step("group: duplicates per file",
         "SELECT count(*) FROM (SELECT id, scheme FROM enrollment GROUP BY ALL "
         "HAVING count(*) > 1)")  # fmt: skip
    step("anti-joins: uninsured",
         "SELECT count(*) FILTER (WHERE e.id IS NULL), count(*) FROM population p "
         "LEFT JOIN (SELECT DISTINCT id FROM enrollment WHERE status IN ('参保缴费', '暂停缴费') "
         "AND scheme IN ('110', '120', '170')) e ON e.id = p.id "
         "WHERE NOT EXISTS (SELECT 1 FROM student s WHERE s.id = p.id)")  # fmt: skip
    step("semi-joins: deceased, prison",
         "SELECT count(*) FROM (SELECT id FROM death UNION SELECT id FROM population "
         "WHERE status = '死亡') d WHERE d.id IN (SELECT id FROM enrollment WHERE status = "
         "'参保缴费') OR d.id IN (SELECT id FROM prison)")  # fmt: skip
    con.close()
    return times


def generate(args: argparse.Namespace, files: dict[str, Path]) -> None:
    villages = villages_of(args.city, args.villages_per_town)
    origins = sorted(
        r.code for r in division_table().rows
        if r.level == 3 and r.code[:2] == args.city[:2] and not r.code.startswith(args.city[:4])
    )  # fmt: skip
    started = time.perf_counter()
    dataset = dataset_generate(
        villages=villages, persons=args.persons, seed=args.seed, as_of=DEFAULT_AS_OF,
        origin_counties=origins,
    )  # fmt: skip
    rng = np.random.default_rng(args.seed)
    for kind, frame in department_frames(dataset).items():
        if kind in ("enrollment", "benefit", "student"):
            frame = corrupt(frame, args.corrupt, rng)
        frame.write_csv(files[kind], date_format="%Y-%m-%d")
    print(f"generate + write CSV  {time.perf_counter() - started:8.1f} s", flush=True)


class LoadSampler:
    """The 1-minute load average every few seconds while a stage runs: on a shared machine
    the wall times mean little without it."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def text(self) -> str:
        if not self.samples:
            return "load average: no sample"
        mean = sum(self.samples) / len(self.samples)
        return f"load average (1 min) mean {mean:.1f}, max {max(self.samples):.1f}"


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Run a child to its end; its wall time, its own peak RSS in MB (wait4 reports the
    child alone, where RUSAGE_CHILDREN would take the largest of all children) and its CPU
    time (user + system, all threads)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env)  # noqa: S603 - our own interpreter
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{command[2:4]} failed with exit code {child.returncode}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--city", default="420700", help="city whose towns get the villages")
    parser.add_argument("--villages-per-town", type=int, default=6)
    parser.add_argument("--corrupt", type=float, default=0.002, help="share of rows corrupted")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "compare")
    parser.add_argument("--reuse", action="store_true", help="reuse the CSV files in --out")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--memory-limit", default="5GB", help="DuckDB memory limit of the run (8 GB peak target)"
    )
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    as_of = DEFAULT_AS_OF
    data = args.out / "csv"
    files = {kind: data / f"{kind}.csv" for kind in (*PERSON_KINDS, "employer")}
    if args.generate_only:
        generate(args, files)
        return
    if not (args.reuse and all(p.exists() for p in files.values())):
        if args.out.exists():
            shutil.rmtree(args.out)
        data.mkdir(parents=True)
        # In a child, so that this process stays small: compare-files is forked from it.
        run_measured([sys.executable, __file__, *sys.argv[1:], "--generate-only"], {**os.environ})
    rows = {kind: sum(1 for _ in path.open("rb")) - 1 for kind, path in files.items()}
    total_rows = sum(rows.values())
    size = sum(p.stat().st_size for p in files.values()) / 1024**2
    print(f"persons {args.persons:,}; input rows {total_rows:,} ({size:,.0f} MB of CSV): "
          + ", ".join(f"{k} {n:,}" for k, n in rows.items()))  # fmt: skip

    result_dir = args.out / "result"
    cli = [
        sys.executable, "-m", "shebao", "compare-files", "--out", str(result_dir),
        "--as-of", as_of.isoformat(), *(f"{kind}={path}" for kind, path in files.items()),
    ]  # fmt: skip
    env = {**os.environ, "SHEBAO_DUCKDB_MEMORY_LIMIT": args.memory_limit,
           "SHEBAO_DUCKDB_THREADS": str(args.threads)}  # fmt: skip
    with LoadSampler() as run_load:
        wall, peak, cpu = run_measured(cli, env)
    summary = json.loads((result_dir / "summary.json").read_text(encoding="utf-8"))
    timings = summary["timings"]
    intake = sum(timings["intake"].values())
    categories = sum(v for k, v in timings.items() if k.startswith("category."))
    linkage = timings.get("category.PROBABLE_MATCH", 0.0)
    print(f"\ncompare-files (DuckDB)  wall {wall:8.1f} s   {total_rows / wall:12,.0f} rows/s   "
          f"peak RSS {peak:,.0f} MB   (inside: {timings['total']:.1f} s)   "
          f"CPU {cpu:,.1f} s")  # fmt: skip
    print(f"  {run_load.text()}")
    print(f"  intake (read, standardise, snapshots) {intake:8.1f} s")
    print(f"  load (rows table, ID validation)      {timings['load']:8.1f} s")
    print(f"  categories                            {categories:8.1f} s")
    print(f"  findings.csv + coverage.csv           "
          f"{timings['write_findings'] + timings['coverage']:8.1f} s")  # fmt: skip
    for category, count in summary["counts"].items():
        print(f"    {category:22s} {count:>10,}  {timings[f'category.{category}']:6.1f} s")
    for name, value in timings.items():
        if name.startswith("linkage."):
            shown = f"{value:8.1f} s" if isinstance(value, float) else f"{value:10,}"
            print(f"      {name:28s} {shown}")
    print("  peak RSS after each stage (MB): " + ", ".join(
        f"{stage} {mb:,.0f}" for stage, mb in summary.get("peak_rss_mb", {}).items()))  # fmt: skip

    started, cpu_started = time.perf_counter(), cpu_self()
    with LoadSampler() as floor_load:
        floor_times = floor(files, as_of, args.threads)
    floor_wall, floor_cpu = time.perf_counter() - started, cpu_self() - cpu_started
    print(f"\nfloor (DuckDB, same files)  wall {floor_wall:8.1f} s   CPU {floor_cpu:,.1f} s   "
          f"ratio compare-files / floor {wall / floor_wall:4.1f}")  # fmt: skip
    print(f"  {floor_load.text()}")
    for name, seconds in floor_times.items():
        print(f"  {name:34s} {seconds:8.1f} s")
    print(f"peak RSS of the floor (this process) {peak_mb(resource.RUSAGE_SELF):,.0f} MB")
    deterministic = wall - linkage
    print(f"\ndeterministic categories (wall without PROBABLE_MATCH) {deterministic:.1f} s = "
          f"{deterministic / floor_wall:4.2f} x the floor (target <= 3); whole run "
          f"{wall:.1f} s (target < 180 s); peak RSS {peak:,.0f} MB (target < 8192 MB)")  # fmt: skip


if __name__ == "__main__":
    main()
