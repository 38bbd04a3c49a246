"""Fuzz every importer for N seconds: the long form of tests/integration/fuzz.

    uv run python bench/fuzz_imports.py --seconds 600 [--seed 1] [--only intake.department_file]

Each importer gets an equal share of the time. It first reads the fixed corpus of hostile
files (bombs, entity expansion, XFD1048576, a million columns, 10 MB cells, encodings, open
quotes, NUL bytes, formulas, non-images), then random files until its share runs out:
random bytes, CSV text in a random encoding, XLSX with random cells, and valid files with a
few bytes flipped, cut or inserted. A case "fails" when the reader raises anything but its
own refusal, or refuses without a machine code or without a Chinese message naming the file
as the user named it. Prints, per importer, cases tried, accepted, refused by code, failures
(with the first few labels), the CPU seconds of the slowest case and the process's peak
memory. Exits 1 if anything failed. CPU time (not wall time) is reported: the machine is
shared.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")

import django

django.setup()

from tests.integration.fuzz import corpus  # noqa: E402
from tests.integration.fuzz.importers import IMPORTERS, assert_proper_refusal, run  # noqa: E402

HEADERS = {
    "intake.department_file": corpus.INTAKE_HEADER,
    "cards.applications": corpus.APPLICATION_HEADER,
}
NO_XLSX = {"payments.bank_results", "usage.upload"}
CELLS = [
    *("=1+1", "=cmd|' /C calc'!A0", "@SUM(A1)", "\ufeff", "\x00", '"', "\r\n", "张三"),
    *("110101199003077777", "2024-13-45", "-1", "１２３", "", " ", "430100", "x" * 40),
]


def _text(rng: random.Random, header: str) -> str:
    sep = rng.choice([",", "\t", ";", "|"])
    lines = [header.replace(",", sep)] if rng.random() < 0.8 else []
    for _ in range(rng.randint(0, 12)):
        lines.append(sep.join(rng.choice(CELLS) for _ in range(rng.randint(0, 8))))
    return rng.choice(["\n", "\r\n", "\r"]).join(lines)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not out:
            break
        where = rng.randrange(len(out))
        kind = rng.randrange(3)
        if kind == 0:
            out[where] = rng.randrange(256)
        elif kind == 1:
            del out[where:]
        else:
            out[where:where] = bytes([rng.randrange(256)])
    return bytes(out)


def _random_case(rng: random.Random, importer: str) -> tuple[str, str, bytes]:
    header = HEADERS.get(importer, corpus.TARGETS_HEADER)
    if importer == "cards.photo_zip":
        base = corpus.photo_zip_cases()[rng.choice([2, 3, 4])].make()
        if rng.random() < 0.3:
            return "random-bytes", ".zip", rng.randbytes(rng.randint(0, 4096))
        return "mutated-zip", ".zip", _mutate(rng, base)
    choice = rng.randrange(4 if importer not in NO_XLSX else 2)
    if choice == 0:
        return (
            "random-bytes",
            rng.choice([".csv", ".xlsx", ".txt"]),
            rng.randbytes(rng.randint(0, 4096)),
        )
    if choice == 1:
        encoding = rng.choice(["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le"])
        raw = _text(rng, header).encode(encoding, errors="replace")
        return (
            f"csv-{encoding}",
            ".csv",
            raw[: rng.randint(0, len(raw))] if rng.random() < 0.2 else raw,
        )
    rows = [header.split(",")] + [
        [rng.choice(CELLS) for _ in range(rng.randint(0, 8))] for _ in range(rng.randint(0, 8))
    ]
    xlsx = corpus.xlsx_file(corpus.sheet_xml(rows, formula=True))
    if choice == 2:
        return "xlsx-random-cells", ".xlsx", xlsx
    return "xlsx-mutated", ".xlsx", _mutate(rng, xlsx)


def _fixed(importer: str) -> list[corpus.Case]:
    if importer == "cards.photo_zip":
        return corpus.photo_zip_cases()
    header = HEADERS.get(importer, corpus.TARGETS_HEADER)
    cases = corpus.csv_cases(header)
    return cases if importer in NO_XLSX else cases + corpus.xlsx_cases(header)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", action="append", choices=sorted(IMPORTERS))
    args = parser.parse_args()
    importers = args.only or list(IMPORTERS)
    share = args.seconds / len(importers)
    rng = random.Random(args.seed)
    failed = 0
    print(f"{'importer':26} {'tried':>7} {'accepted':>8} {'failures':>8}  "
          "slowest-cpu-s  refusals by code")  # fmt: skip
    for importer in importers:
        tried, accepted, failures, slowest = 0, 0, [], 0.0
        codes: Counter[str] = Counter()
        start = time.monotonic()
        fixed = iter(_fixed(importer))
        while True:
            case = next(fixed, None)
            if case is None and time.monotonic() - start >= share:
                break
            if case is not None:
                label, suffix, data = case.label, case.suffix, case.make()
            else:
                label, suffix, data = _random_case(rng, importer)
            name = f"用户 {label}（{tried}）{suffix}"
            cpu = time.process_time()
            try:
                outcome = run(importer, data, name)
                assert_proper_refusal(importer, outcome, name)
            except BaseException as error:
                if isinstance(error, KeyboardInterrupt):
                    raise
                failures.append(f"{label}: {type(error).__name__}: {str(error)[:120]}")
            else:
                if outcome.accepted:
                    accepted += 1
                else:
                    codes[outcome.code] += 1
            slowest = max(slowest, time.process_time() - cpu)
            tried += 1
        failed += len(failures)
        refusals = ", ".join(f"{code} {n}" for code, n in codes.most_common())
        print(f"{importer:26} {tried:>7} {accepted:>8} {len(failures):>8}  "
              f"{slowest:13.2f}  {refusals}", flush=True)  # fmt: skip
        for failure in failures[:5]:
            print(f"    FAILED {failure}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:,.0f} MB; failures: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
