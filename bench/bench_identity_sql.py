"""Benchmark: validating ID numbers with the `shebao_*` DuckDB SQL macros.

Generates N ID-number strings (default 1,000,000) with numpy — about 80 % valid, the rest
with wrong check characters, impossible or future birth dates, bad provinces, letters, wrong
lengths — plus 15-digit, full-width, lower-case-x and space-padded variants, then times the
macros over all of them and, for scale, the Python validator over a sample.

    uv run python bench/bench_identity_sql.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shebao.identity._text import FULL_WIDTH_DIGITS
from shebao.identity.address_codes import known_address_codes
from shebao.identity.duckdb_sql import register_identity_macros
from shebao.identity.id_number import ID_CHECK_CHARS, ID_WEIGHTS, validate_id_number

AS_OF = date(2025, 6, 30)
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]


def _check_chars(first17: IntArray) -> StrArray:
    total = np.zeros_like(first17)
    for i, weight in enumerate(ID_WEIGHTS):
        total += weight * ((first17 // 10 ** (16 - i)) % 10)
    return np.array(list(ID_CHECK_CHARS))[total % 11]


def generate(rows: int, seed: int) -> StrArray:
    rng = np.random.default_rng(seed)
    codes = np.array(sorted(known_address_codes()), dtype=np.int64)
    address = codes[rng.integers(0, len(codes), rows)]
    days = rng.integers(0, (AS_OF - date(1900, 1, 1)).days + 1, rows)
    births = np.datetime64("1900-01-01") + days.astype("timedelta64[D]")
    ymd = np.char.replace(np.datetime_as_string(births, unit="D"), "-", "").astype(np.int64)
    sequence = rng.integers(0, 1000, rows)

    kind = rng.integers(0, 100, rows)
    # Integer-level mutations, before the check character is computed from the result.
    ymd = np.where(kind == 60, ymd // 10000 * 10000 + 1301, ymd)  # month 13
    ymd = np.where(kind == 61, ymd // 10000 * 10000 + 230, ymd)  # 30 February
    ymd = np.where(kind == 62, 20991231, ymd)  # in the future
    ymd = np.where(kind == 63, 18991231, ymd)  # before 1900
    address = np.where(kind == 64, 910000 + address % 10000, address)  # no province 91
    first17 = address * 10**11 + ymd * 10**3 + sequence

    check = _check_chars(first17)
    wrong = np.array(list(ID_CHECK_CHARS))[(np.char.find(ID_CHECK_CHARS, check) + 1) % 11]
    check = np.where((kind >= 65) & (kind < 75), wrong, check)

    body = np.char.zfill(first17.astype(np.str_), 17)
    ids: StrArray = np.char.add(body, check)
    old15 = np.char.add(np.char.add(np.strings.slice(body, 0, 6), np.strings.slice(body, 8, 14)),
                        np.strings.slice(body, 14, 17))  # fmt: skip
    ids = np.where(kind == 75, old15, ids)
    ids = np.where(kind == 76, np.char.lower(ids), ids)
    full_width = ids
    for ascii_char, wide_char in zip("0123456789X", FULL_WIDTH_DIGITS + "Ｘ", strict=True):
        full_width = np.strings.replace(full_width, ascii_char, wide_char)
    ids = np.where(kind == 77, full_width, ids)
    ids = np.where(kind == 78, np.char.add(np.char.add(" ", ids), "\u3000"), ids)
    ids = np.where(kind == 79, np.char.add("T", np.strings.slice(ids, 1, None)), ids)
    ids = np.where(kind == 80, np.strings.slice(ids, 0, 17), ids)
    ids = np.where(kind == 81, np.char.add(ids, "0"), ids)
    return ids


def _timed(
    con: duckdb.DuckDBPyConnection, sql: str, repeat: int = 3
) -> tuple[float, float, list[tuple[object, ...]]]:
    """Best wall-clock and process-CPU seconds over `repeat` runs, and the result."""
    best_wall = best_cpu = float("inf")
    result: list[tuple[object, ...]] = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = con.execute(sql, {"as_of": AS_OF}).fetchall()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, result


QUERIES = {
    "(a) shebao_id_error": """SELECT coalesce(e, 'OK') AS e, count(*) FROM
        (SELECT shebao_id_error(s, $as_of) AS e FROM ids) GROUP BY ALL ORDER BY 1""",
    "(b) the four macros": """SELECT count(n), count(e), count(b), count(g) FROM (SELECT
        shebao_normalize_id(s) AS n, shebao_id_error(s, $as_of) AS e,
        shebao_id_birth_date(s, $as_of) AS b, shebao_id_gender(s, $as_of) AS g FROM ids)""",
    "(c) shebao_id_check": """SELECT count(c.normalized), count(c.error), count(c.birth_date)
        FROM (SELECT shebao_id_check(s, $as_of) AS c FROM ids)""",
    "(d) in a WHERE clause": """SELECT count(*) FROM ids
        WHERE shebao_id_error(s, $as_of) IS NOT NULL""",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20250630)
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: default)")
    parser.add_argument("--python-sample", type=int, default=100_000)
    args = parser.parse_args()

    start = time.perf_counter()
    ids = generate(args.rows, args.seed)
    generation = time.perf_counter() - start

    con = duckdb.connect()
    if args.threads:
        con.execute("SELECT set_config('threads', $t)", {"t": str(args.threads)})
    threads = con.execute("SELECT current_setting('threads')").fetchone()
    register_identity_macros(con)
    con.register("ids_arrow", pa.table({"s": pa.array(ids.tolist(), pa.string())}))
    con.execute("CREATE TABLE ids AS SELECT s FROM ids_arrow")
    con.unregister("ids_arrow")

    rows = args.rows
    print(f"rows: {rows:,} (numpy generation {generation:.1f} s); DuckDB threads: {threads}")
    print(f"load average before timing: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for label, sql in QUERIES.items():
        plan_start = time.perf_counter()
        con.execute("EXPLAIN " + sql, {"as_of": AS_OF}).fetchall()
        plan = time.perf_counter() - plan_start
        wall, cpu, result = _timed(con, sql)
        print(
            f"{label:<24} {wall:6.2f} s wall = {rows / wall:>10,.0f} rows/s"
            f"   ({cpu / rows * 1e9:,.0f} ns CPU per row; planning {plan:.2f} s)"
        )
        if label.startswith("(a)"):
            print("    outcomes: " + ", ".join(f"{code} {n:,}" for code, n in result))

    sample = ids[: args.python_sample].tolist()
    start = time.perf_counter()
    for raw in sample:
        validate_id_number(raw, as_of=AS_OF)
    python = time.perf_counter() - start
    print(
        f"{'Python validate_id_number':<24} {python:6.2f} s wall = "
        f"{len(sample) / python:>10,.0f} rows/s   (on the first {len(sample):,} rows, one thread)"
    )


if __name__ == "__main__":
    main()
