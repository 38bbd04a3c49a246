"""Benchmark `shebao compare-files` on both engines, DuckDB and Spark (local mode), on the same
generated files, and check that they agree byte for byte.

Generates N persons as bench_compare.py does (its generator and corruption, same seed), then
runs `compare-files --engine duckdb` and `--engine spark` in child processes and prints, for
each, the wall time, rows per second, the peak memory of the whole process tree (sampled from
/proc: for Spark the JVM is a child of the Python process) and the phases; then whether
findings.csv and coverage.csv are identical and the counts equal.

    uv run python bench/bench_compare_spark.py --persons 200000
    SHEBAO_SPARK_DRIVER_MEMORY=4g uv run python bench/bench_compare_spark.py --persons 1000000

Never prints personal data.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from shebao.synthetic import DEFAULT_AS_OF

sys.path.insert(0, str(Path(__file__).parent))
from bench_compare import PERSON_KINDS  # a sibling script, not a package

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _tree_rss_mb(root: int) -> float:
    """RSS of `root` and all its descendants, in MB, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text().split()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(statm[1]) * PAGE_KB
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(p, 0) for p in tree) / 1024


def run_sampled(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a child to its end; its wall time and the peak RSS of its process tree in MB."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env)  # noqa: S603 - our own interpreter
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_mb(child.pid))
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = child.wait()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"{command[3:7]} failed with exit code {code}")
    return wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--corrupt", type=float, default=0.002, help="share of rows corrupted")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "spark")
    parser.add_argument("--reuse", action="store_true", help="reuse the CSV files in --out")
    parser.add_argument("--engines", default="duckdb,spark")
    args = parser.parse_args()

    data = args.out / "csv"
    files = {kind: data / f"{kind}.csv" for kind in (*PERSON_KINDS, "employer")}
    if not (args.reuse and all(p.exists() for p in files.values())):
        if args.out.exists():
            shutil.rmtree(args.out)
        data.mkdir(parents=True)
        generator = Path(__file__).parent / "bench_compare.py"
        subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, str(generator), "--persons", str(args.persons), "--seed",
             str(args.seed), "--corrupt", str(args.corrupt), "--out", str(args.out),
             "--generate-only"],
            check=True,
        )  # fmt: skip
    rows = {kind: sum(1 for _ in path.open("rb")) - 1 for kind, path in files.items()}
    total_rows = sum(rows.values())
    print(f"persons {args.persons:,}; input rows {total_rows:,}: "
          + ", ".join(f"{k} {n:,}" for k, n in rows.items()))  # fmt: skip

    engines = args.engines.split(",")
    summaries = {}
    for engine in engines:
        result = args.out / f"result-{engine}"
        cli = [
            sys.executable, "-m", "shebao", "compare-files", "--engine", engine,
            "--out", str(result), "--as-of", DEFAULT_AS_OF.isoformat(),
            *(f"{kind}={path}" for kind, path in files.items()),
        ]  # fmt: skip
        wall, peak = run_sampled(cli, {**os.environ})
        summary = json.loads((result / "summary.json").read_text(encoding="utf-8"))
        summaries[engine] = summary
        t = summary["timings"]
        intake = sum(t["intake"].values())
        categories = sum(v for k, v in t.items() if k.startswith("category."))
        print(f"\n{engine:7s} wall {wall:7.1f} s   {total_rows / wall:10,.0f} rows/s   "
              f"peak RSS (process tree) {peak:,.0f} MB")  # fmt: skip
        written = t["write_findings"] + t["coverage"]
        print(
            f"  intake {intake:6.1f} s   load {t['load']:6.1f} s   "
            f"categories {categories:6.1f} s   findings.csv + coverage {written:5.1f} s"
        )
        for category, count in summary["counts"].items():
            print(f"    {category:22s} {count:>9,}  {t[f'category.{category}']:6.1f} s")

    if len(engines) == 2:
        left, right = (args.out / f"result-{e}" for e in engines)
        for name in ("findings.csv", "coverage.csv"):
            same = (left / name).read_bytes() == (right / name).read_bytes()
            print(f"\n{name}: {'identical' if same else 'DIFFERENT'}", end="")
        equal = summaries[engines[0]]["counts"] == summaries[engines[1]]["counts"]
        print(f"\ncounts in summary.json: {'equal' if equal else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
