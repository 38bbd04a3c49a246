"""Benchmark: the card photo check alone (`check_zip_photos`) on a ZIP of photos.

By default it uses the ZIP `bench/bench_eligibility.py` writes (run that first, or pass
`--zip`); `--executor both` compares worker processes with threads on the same photos (the default,
`auto`, lets `check_zip_photos` choose).
Prints photos/s, wall and CPU time (this process and its workers) and the load average — on a
shared machine the wall time depends on the neighbours, the CPU time much less.

    uv run python bench/bench_eligibility.py --rows 100000      # writes the inputs
    uv run python bench/bench_photos.py --executor both
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections import Counter
from pathlib import Path

from shebao.cards.domain.photos import PhotoSpec, PoolKind, check_zip_photos, photo_index


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--zip", type=Path, default=Path("bench/out/eligibility/input/photos.zip"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--executor", choices=("auto", "process", "thread", "both"), default="auto")
    parser.add_argument("--limit", type=int, default=0, help="check only the first N photos")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if not args.zip.is_file():
        raise SystemExit(f"{args.zip} not found: run bench/bench_eligibility.py first")

    started = time.perf_counter()
    names = list(photo_index(args.zip).by_stem.values())
    if args.limit:
        names = names[: args.limit]
    print(
        f"{len(names):,} photos, {args.zip.stat().st_size / 1e6:,.0f} MB; "
        f"index read in {time.perf_counter() - started:.1f} s"
    )
    executors: tuple[PoolKind | None, ...] = (
        ("process", "thread")
        if args.executor == "both"
        else (None,)
        if args.executor == "auto"
        else (args.executor,)
    )
    for _ in range(args.repeat):
        for executor in executors:
            cpu = _cpu()
            started = time.perf_counter()
            verdicts = check_zip_photos(
                args.zip, names, PhotoSpec(), workers=args.workers, executor=executor
            )
            wall = time.perf_counter() - started
            cpu = _cpu() - cpu
            problems = Counter(p.code.value for v in verdicts.values() for p in v.problems)
            print(
                f"{executor or 'auto':>7}: {wall:.1f} s wall = {len(names) / wall:,.0f} photos/s; "
                f"CPU {cpu:.1f} s = {cpu / max(1, len(names)) * 1e6:.0f} µs/photo; "
                f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
                f"problems {dict(sorted(problems.items()))}"
            )


if __name__ == "__main__":
    main()
