"""Benchmark `shebao payments check` (issue #12 §4) end to end, as other systems run it.

Generates, vectorised (numpy + Polars, no loop over rows): a population of N persons (valid
GB 11643 numbers over 20 real counties, 1 % deceased), their cards (97 % hold one; some lost,
cancelled, with no account or a failed account opening), a batch of B rows with every kind of
problem planted (numbers not in the population, wrong check digits, 15-digit and full-width
numbers, different and traditional-character names, duplicates, amounts with thousands
separators and unusable amounts), a deaths file, a prison file and the earlier payments (last
month's for the whole batch, this month's for a few). Then runs

    python -m shebao payments check ... --out DIR

in a child process and prints its wall time, its peak memory (RSS) and the summary.

    uv run python bench/bench_payments_check.py --persons 10000000 --batch 1000000

Never prints personal data.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from shebao.identity.id_number import ID_CHECK_CHARS, ID_WEIGHTS

COUNTIES = [
    *("440113", "440106", "420102", "420106", "110101", "310101", "510104", "330102"),
    *("320102", "370102", "410102", "430102", "350102", "360102", "450102", "500101"),
    *("530102", "610102", "620102", "210102"),
]
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华国东红建文辉玉兰萍鹏飞斌宇浩凯")
# Simplified → traditional for the trap names (no finding expected).
TRADITIONAL = {"伟": "偉", "丽": "麗", "华": "華", "国": "國", "东": "東", "红": "紅", "兰": "蘭"}
PROGRAMME = "城乡居民基本养老保险待遇"
PERIOD = "2026-03"
DAYS = 27_000  # birth dates from 1930-01-01 on


def id_numbers(k: np.ndarray, seq_offset: int = 0) -> pl.Series:
    """A distinct valid 18-digit number for each integer k (< 20 x 27,000 x 1,000)."""
    day = k % DAYS
    county = (k // DAYS) % len(COUNTIES)
    seq = k // (DAYS * len(COUNTIES)) + seq_offset
    births = np.datetime64("1930-01-01") + day.astype("timedelta64[D]")
    ymd = pl.Series(births).dt.strftime("%Y%m%d")
    body = pl.select(
        pl.concat_str(
            [
                pl.Series(COUNTIES)[pl.Series(county)],
                ymd,
                pl.Series(seq).cast(pl.String).str.zfill(3),
            ]
        ).alias("body")
    )["body"]
    digits = np.frombuffer("".join(body.to_list()).encode(), dtype=np.uint8).reshape(-1, 17) - 48
    total = (digits.astype(np.int64) * np.array(ID_WEIGHTS, dtype=np.int64)).sum(axis=1) % 11
    check = pl.Series(list(ID_CHECK_CHARS))[pl.Series(total)]
    return body + check


def names(rng: np.random.Generator, n: int) -> pl.Series:
    surname = pl.Series(SURNAMES)[pl.Series(rng.integers(0, len(SURNAMES), n))]
    first = pl.Series(GIVEN)[pl.Series(rng.integers(0, len(GIVEN), n))]
    second = pl.Series(GIVEN)[pl.Series(rng.integers(0, len(GIVEN), n))]
    two = pl.Series(rng.random(n) < 0.6)
    return pl.select(
        pl.concat_str([surname, first, pl.when(two).then(second).otherwise(pl.lit(""))])
    ).to_series()


def choice(rng: np.random.Generator, n: int, values: list[str], p: list[float]) -> pl.Series:
    return pl.Series(values)[pl.Series(rng.choice(len(values), n, p=p))]


def dates(rng: np.random.Generator, n: int, first: str, last: str) -> pl.Series:
    span = (np.datetime64(last) - np.datetime64(first)).astype(int)
    days = np.datetime64(first) + rng.integers(0, span + 1, n).astype("timedelta64[D]")
    return pl.Series(days).dt.strftime("%Y-%m-%d")


def generate(directory: Path, persons: int, batch_rows: int, seed: int) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    order = rng.permutation(persons)  # files are not sorted by number
    ids = id_numbers(order)
    person_names = names(rng, persons)
    dead = pl.Series(rng.random(persons) < 0.01)
    population = pl.DataFrame(
        {
            "公民身份号码": ids,
            "姓名": person_names,
            "户籍地区划代码": pl.Series(COUNTIES)[pl.Series(order // DAYS % len(COUNTIES))],
            "人员状态": pl.select(
                pl.when(dead).then(pl.lit("死亡")).otherwise(pl.lit("正常"))
            ).to_series(),
            "死亡日期": pl.select(
                pl.when(dead).then(dates(rng, persons, "2015-01-01", "2026-06-30"))
            ).to_series(),
        }
    )
    paths = {"population": directory / "population.csv"}
    population.write_csv(paths["population"])

    holds = rng.random(persons) < 0.97
    card_count = int(holds.sum())
    cards = pl.DataFrame(
        {
            "社会保障号码": ids.filter(pl.Series(holds)),
            "卡号": pl.Series(np.arange(card_count)).cast(pl.String).str.zfill(9),
            "卡状态": choice(rng, card_count, ["正常", "挂失", "注销"], [0.95, 0.02, 0.03]),
            "开户状态": choice(
                rng, card_count, ["已开户", "未开户", "开户失败"], [0.97, 0.02, 0.01]
            ),
            "银行": choice(rng, card_count, ["农业银行", "邮储银行", "工商银行"], [0.5, 0.3, 0.2]),
            "银行账号": pl.Series(rng.integers(10**15, 10**16, card_count)).cast(pl.String),
        }
    )
    paths["cards"] = directory / "cards.csv"
    cards.write_csv(paths["cards"])
    del cards

    # The batch: distinct persons, then the problems planted on shares of the rows.
    unique_rows = int(batch_rows / 1.01)
    chosen = pl.Series(rng.choice(persons, unique_rows, replace=False))
    batch = population.select("公民身份号码", "姓名")[chosen]
    n = batch.height
    pick = rng.random(n)
    not_in_population = pick < 0.004
    bad_check = (pick >= 0.004) & (pick < 0.007)
    fifteen = (pick >= 0.007) & (pick < 0.012)
    full_width = (pick >= 0.012) & (pick < 0.015)
    other_name = (pick >= 0.015) & (pick < 0.019)
    traditional = (pick >= 0.019) & (pick < 0.022)
    bad_amount = (pick >= 0.022) & (pick < 0.024)
    strangers = id_numbers(rng.integers(0, DAYS * len(COUNTIES), n), seq_offset=900)
    idc = pl.col("公民身份号码")
    last = idc.str.slice(17, 1)
    batch = batch.with_columns(
        pl.when(pl.Series(not_in_population))
        .then(strangers)
        .when(pl.Series(bad_check))
        .then(idc.str.slice(0, 17) + pl.when(last == "0").then(pl.lit("1")).otherwise(pl.lit("0")))
        .when(pl.Series(fifteen))
        .then(idc.str.slice(0, 6) + idc.str.slice(8, 9))
        .when(pl.Series(full_width))
        .then(idc.str.replace_many(list("0123456789"), list("０１２３４５６７８９")))
        .otherwise(idc)
        .alias("社会保障号码"),
        pl.when(pl.Series(other_name))
        .then(names(rng, n))
        .when(pl.Series(traditional))
        .then(pl.col("姓名").str.replace_many(list(TRADITIONAL), list(TRADITIONAL.values())))
        .otherwise(pl.col("姓名"))
        .alias("姓名"),
    )
    fen = pl.Series(rng.integers(10_000, 500_000, n))
    yuan = (fen // 100).cast(pl.String) + "." + (fen % 100).cast(pl.String).str.zfill(2)
    grouped = pl.Series(rng.random(n) < 0.3)
    unusable = choice(rng, n, ["", "abc", "-5", "1.234", "20000"], [0.2] * 5)
    batch = batch.with_columns(
        pl.when(pl.Series(bad_amount))
        .then(unusable)
        .when(grouped & (fen >= 100_000))
        .then((fen // 100_000).cast(pl.String) + "," + yuan.str.slice(-6))
        .otherwise(yuan)
        .alias("金额")
    ).select("社会保障号码", "姓名", "金额")
    duplicates = batch[pl.Series(rng.choice(n, batch_rows - n, replace=False))]
    batch = pl.concat([batch, duplicates]).sample(fraction=1.0, shuffle=True, seed=seed)
    paths["batch"] = directory / "batch.csv"
    batch.write_csv(paths["batch"])

    people = population.select("公民身份号码", "姓名")[chosen]
    died = pl.Series(rng.random(n) < 0.005)
    deaths = people.filter(died).with_columns(
        dates(rng, int(died.sum()), "2026-01-01", "2026-04-30").alias("死亡日期")
    )
    paths["deaths"] = directory / "deaths.csv"
    deaths.write_csv(paths["deaths"])
    jailed = pl.Series(rng.random(n) < 0.003)
    prison = people.filter(jailed).with_columns(
        dates(rng, int(jailed.sum()), "2020-01-01", "2026-06-30").alias("服刑起始日期"),
        dates(rng, int(jailed.sum()), "2025-01-01", "2030-12-31").alias("服刑截止日期"),
    )
    paths["prison"] = directory / "prison.csv"
    prison.write_csv(paths["prison"])
    this_month = pl.Series(rng.random(n) < 0.005)
    paid = pl.concat(
        [
            people.select("公民身份号码").with_columns(pl.lit("2026-02").alias("发放期别")),
            people.filter(this_month)
            .select("公民身份号码")
            .with_columns(pl.lit(PERIOD).alias("发放期别")),
        ]
    ).select(
        pl.col("公民身份号码").alias("社会保障号码"),
        pl.lit(PROGRAMME).alias("项目"),
        "发放期别",
        pl.lit("1234.50").alias("金额"),
    )
    paths["paid"] = directory / "paid.csv"
    paid.write_csv(paths["paid"])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("var/bench/payments_check"))
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--reuse", action="store_true", help="use the files already generated")
    args = parser.parse_args()

    directory: Path = args.dir / f"{args.persons}_{args.batch}"
    started = time.perf_counter()
    if args.reuse and (directory / "paid.csv").exists():
        paths = {
            name: directory / f"{name}.csv"
            for name in ("population", "cards", "batch", "deaths", "prison", "paid")
        }
        print(f"files reused from {directory}")
    else:
        paths = generate(directory, args.persons, args.batch, args.seed)
        print(f"generated in {time.perf_counter() - started:.1f} s in {directory}")
    for name, path in paths.items():
        print(f"  {name:<10} {path.stat().st_size / 1e6:8.1f} MB")

    # What starting Python, Django and the command costs on this machine, without any work.
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "shebao", "payments", "check", "--help"],
        capture_output=True,
        check=True,
    )
    startup = time.perf_counter() - started

    out = directory / "out"
    command = [sys.executable, "-m", "shebao", "payments", "-v", "2", "check"]
    for name, path in paths.items():
        command += [f"--{name}", str(path)]
    command += ["--programme", PROGRAMME, "--period", PERIOD, "--as-of", "2026-03-15"]
    command += ["--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ)  # noqa: S603
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        print(done.stderr)
        raise SystemExit(done.returncode)
    print(done.stdout.strip())
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(
        f"payments check: {args.batch:,} rows against {args.persons:,} persons: "
        f"wall {wall:.1f} s (of which starting the command {startup:.1f} s), CPU {cpu:.1f} s, "
        f"peak RSS {after.ru_maxrss / 1024:.0f} MB (the child)"
    )
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
