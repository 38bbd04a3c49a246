"""Benchmark the probabilistic linkage (PROBABLE_MATCH): precision, recall and time.

Generates a population with `shebao.synthetic` (fixed seed), takes a sample of its persons
and writes each of them again with the corruptions departments make, always including one that
takes the ID number out of the population base (or else the row would be an exact match and
never a candidate):

    typo          one digit of the ID number mistyped
    swap          two adjacent digits swapped
    homophone     a character of the given name replaced by one of the same pinyin, and a typo
    traditional   the name in traditional characters, and a typo or swap
    old15         the 15-digit number: for the 1900s-born with a typo (the upgrade to 18
                  digits is otherwise exact), for the 2000s-born as is (its century is lost)
    day_seq       two digits of the birth day and sequence (positions 13-17) mistyped, the
                  name right or (half of them) a homophone
    recheck       one digit changed and the check character recomputed: a valid number that
                  belongs to nobody
    pop_wrong     the population record holds the mistyped number (half with the check
                  character recomputed) and the department row the right one: the row must
                  be linked to that population record

plus decoys that are nobody, each its own kind:
    stranger      persons of another population (another seed) with valid numbers absent
                  from this one, half of them given the name of a population person born the
                  same year in their county
    county        a person's name and birth date with a number of another county of the city
    province      the same with a number of a county of another province

Then links them (`link_candidates`, the default threshold) and prints precision (correct
matches / matches) and recall (correct matches / corrupted records) overall and per kind, the
decoys matched per kind, and the time.

    uv run python bench/bench_linkage.py --persons 1000000 --corrupted 20000

Targets (issue #13, section 1): precision >= 0.99, recall >= 0.97 overall and >= 0.90 for
every kind. Prints no personal data.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
from opencc import OpenCC
from pypinyin import Style, lazy_pinyin

from shebao.comparison.domain import DEFAULT_THRESHOLD
from shebao.comparison.linkage import link_candidates
from shebao.geo.data import division_table
from shebao.identity.id_number import id_number_check_char, is_valid_id_number
from shebao.synthetic import DEFAULT_AS_OF, dataset_generate

sys.path.insert(0, str(Path(__file__).parent))
from bench_compare import villages_of

KINDS = (
    "typo", "swap", "homophone", "traditional", "old15", "day_seq", "recheck", "pop_wrong",
)  # fmt: skip
DECOY_KINDS = ("stranger", "county", "province")


def population_of(persons: int, seed: int, city: str, per_town: int) -> pl.DataFrame:
    villages = villages_of(city, per_town)
    origins = sorted(
        r.code for r in division_table().rows
        if r.level == 3 and r.code[:2] == city[:2] and not r.code.startswith(city[:4])
    )  # fmt: skip
    ds = dataset_generate(
        villages=villages, persons=persons, seed=seed, as_of=DEFAULT_AS_OF,
        origin_counties=origins,
    )  # fmt: skip
    return ds.persons.select(
        pl.col("id_number"),
        pl.col("name"),
        pl.col("birth_date"),
        pl.when(pl.col("id_number").str.slice(16, 1).cast(pl.Int32) % 2 == 1)
        .then(pl.lit("1"))
        .otherwise(pl.lit("2"))
        .alias("gender"),
        pl.col("hukou_region_code").str.slice(0, 6).alias("region"),
    )


def homophones(names: list[str]) -> dict[str, list[str]]:
    """For each character of the names, other characters of the same tone-less pinyin
    (from the names' own characters and the common CJK block)."""
    chars = sorted({c for n in names for c in n} | {chr(c) for c in range(0x4E00, 0x9FA6)})
    by_sound: dict[str, list[str]] = {}
    for c in chars:
        by_sound.setdefault(lazy_pinyin(c, style=Style.NORMAL)[0], []).append(c)
    used = {c for n in names for c in n}
    return {c: [o for o in by_sound[lazy_pinyin(c, style=Style.NORMAL)[0]] if o != c]
            for c in used}  # fmt: skip


def typo(rng: np.random.Generator, number: str, last: int = 17) -> str:
    position = int(rng.integers(0, last))
    digit = str((int(number[position]) + int(rng.integers(1, 10))) % 10)
    return number[:position] + digit + number[position + 1 :]


def swap(rng: np.random.Generator, number: str) -> str:
    for _ in range(20):
        p = int(rng.integers(0, 16))
        if number[p] != number[p + 1]:
            return number[:p] + number[p + 1] + number[p] + number[p + 2 :]
    return typo(rng, number)


def with_check(number: str) -> str:
    return number[:17] + id_number_check_char(number[:17])


def homophone_of(rng: np.random.Generator, name: str, sounds: dict[str, list[str]]) -> str:
    spots = [i for i in range(1, len(name)) if sounds.get(name[i])]
    if not spots:
        return name
    i = spots[int(rng.integers(0, len(spots)))]
    options = sounds[name[i]]
    return name[:i] + options[int(rng.integers(0, len(options)))] + name[i + 1 :]


def corrupt(
    population: pl.DataFrame, count: int, rng: np.random.Generator
) -> tuple[list[dict[str, object]], list[str]]:
    """`count` corrupted rows of sampled persons: (row, the person's ID number), and kinds.
    A pop_wrong row carries `pop_number`, the number the population record is given."""
    pick = rng.choice(population.height, size=count, replace=False)
    sample = population[pick].to_dicts()
    to_traditional = OpenCC("s2t")
    sounds = homophones([str(p["name"]) for p in sample])
    rows: list[dict[str, object]] = []
    kinds: list[str] = []
    for index, person in enumerate(sample):
        kind = KINDS[index % len(KINDS)]
        number, name = str(person["id_number"]), str(person["name"])
        if kind == "typo":
            number = typo(rng, number)
        elif kind == "swap":
            number = swap(rng, number)
        elif kind == "homophone":
            number = typo(rng, number)
            name = homophone_of(rng, name, sounds)
        elif kind == "day_seq":
            first, second = sorted(int(p) for p in rng.choice(range(12, 17), 2, replace=False))
            for position in (first, second):
                digit = str((int(number[position]) + int(rng.integers(1, 10))) % 10)
                number = number[:position] + digit + number[position + 1 :]
            if index // len(KINDS) % 2:
                name = homophone_of(rng, name, sounds)
        elif kind == "recheck":
            number = with_check(typo(rng, number))
        elif kind == "pop_wrong":
            wrong = typo(rng, number)
            wrong = with_check(wrong) if index // len(KINDS) % 2 else wrong
            rows.append({**person, "raw": number, "raw_name": name, "truth": wrong,
                         "pop_number": wrong})  # fmt: skip
            kinds.append(kind)
            continue
        elif kind == "traditional":
            number = typo(rng, number) if rng.random() < 0.5 else swap(rng, number)
            name = to_traditional.convert(name)
        else:  # old15
            old = number[:6] + number[8:17]
            number = typo(rng, old, 15) if number[6:8] == "19" else old
        rows.append({**person, "raw": number, "raw_name": name, "truth": person["id_number"]})
        kinds.append(kind)
    return rows, kinds


def normalised(raw: str) -> str:
    if len(raw) == 15:
        body = raw[:6] + "19" + raw[6:]
        return body + id_number_check_char(body)
    return raw


def candidate_table(rows: list[dict[str, object]]) -> pa.Table:
    """The rows as an engine gives them: birth date and gender read from the number."""
    births: list[date | None] = []
    genders: list[str | None] = []
    for row in rows:
        number = normalised(str(row["raw"]))
        try:
            births.append(datetime.strptime(number[6:14], "%Y%m%d").date())  # noqa: DTZ007
        except ValueError:
            births.append(None)
        genders.append("1" if int(number[16]) % 2 else "2")
    return pa.table(
        {
            "source": pa.array(["bench.csv"] * len(rows), pa.string()),
            "row": pa.array(range(1, len(rows) + 1), pa.int64()),
            "id_number": pa.array([r["raw"] for r in rows], pa.string()),
            "name": pa.array([r["raw_name"] for r in rows], pa.string()),
            "birth_date": pa.array(births, pa.date32()),
            "gender": pa.array(genders, pa.string()),
            # Half the rows come from files with a region column (enrollments).
            "region": pa.array(
                [r["region"] if i % 2 else None for i, r in enumerate(rows)], pa.string()
            ),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--corrupted", type=int, default=20_000)
    parser.add_argument("--decoys", type=int, default=5_000)
    parser.add_argument("--lookalikes", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--city", default="420700")
    parser.add_argument("--villages-per-town", type=int, default=6)
    args = parser.parse_args()

    started = time.perf_counter()
    population = population_of(args.persons, args.seed, args.city, args.villages_per_town)
    others = population_of(
        max(args.decoys * 4, 1000), args.seed + 1, args.city, args.villages_per_town
    )
    print(f"generate populations       {time.perf_counter() - started:8.1f} s", flush=True)

    rng = np.random.default_rng(args.seed)
    rows, kinds = corrupt(population, args.corrupted, rng)
    known = set(population["id_number"].to_list())
    # A corruption that lands on a number of the population base is an exact match, not a
    # candidate (and would not be one for the engine either): left out. So is a population
    # record given a number another person has.
    keep = [
        (normalised(str(r["raw"])) not in known) if "pop_number" not in r
        else r["pop_number"] not in known
        for r in rows
    ]  # fmt: skip
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    kinds = [k for k, kept in zip(kinds, keep, strict=True) if kept]
    # The population records that hold a mistyped number.
    replaced = {str(r["id_number"]): str(r["pop_number"]) for r in rows if "pop_number" in r}
    population = population.with_columns(
        pl.col("id_number").replace(replaced).alias("id_number"),
        pl.when(pl.col("id_number").is_in(list(replaced)))
        .then(pl.col("id_number").replace(replaced))
        .alias("wrong"),
    )
    invalid = {w for w in replaced.values() if not is_valid_id_number(w)}
    known = set(population["id_number"].to_list())
    decoys = others.filter(~pl.col("id_number").is_in(list(known))).head(args.decoys)
    # Half the decoys take the name of a person of the population born the same year in
    # their county: the same name, a different person.
    namesakes = population.group_by(
        pl.col("region"), pl.col("birth_date").dt.year().alias("year")
    ).agg(pl.col("name").min().alias("namesake"))
    decoys = decoys.with_columns(pl.col("birth_date").dt.year().alias("year")).join(
        namesakes, on=["region", "year"], how="left", maintain_order="left"
    )
    decoy_rows = [
        {**d, "raw": d["id_number"], "truth": None,
         "raw_name": d["namesake"] if i % 2 and d["namesake"] else d["name"]}
        for i, d in enumerate(decoys.to_dicts())
    ]  # fmt: skip
    decoy_kinds = ["stranger"] * len(decoy_rows)
    # Look-alikes: a person's name and birth date, a number of another county (of the city,
    # or of another province) with any sequence: another person, never to be linked.
    counties = sorted(
        r.code for r in division_table().rows if r.level == 3 and r.code.startswith(args.city[:4])
    )
    provinces = sorted(
        r.code for r in division_table().rows if r.level == 3 and r.code[:2] != args.city[:2]
    )
    sample = population.filter(pl.col("wrong").is_null())[
        rng.choice(population.height - len(replaced), size=args.lookalikes, replace=False)
    ].to_dicts()
    for i, person in enumerate(sample):
        kind = DECOY_KINDS[1 + i % 2]
        choices = [c for c in (counties if kind == "county" else provinces)
                   if c != str(person["id_number"])[:6]]  # fmt: skip
        county = choices[int(rng.integers(0, len(choices)))]
        number = with_check(
            f"{county}{str(person['id_number'])[6:14]}{int(rng.integers(0, 1000)):03d}"
        )
        if number in known:
            continue
        decoy_rows.append({**person, "raw": number, "raw_name": person["name"], "truth": None,
                           "region": county})  # fmt: skip
        decoy_kinds.append(kind)
    everything = rows + decoy_rows
    candidates = candidate_table(everything)
    base = pa.table(
        {
            "id_number": population["id_number"].to_arrow(),
            "name": population["name"].to_arrow(),
            "birth_date": population["birth_date"].to_arrow(),
            "gender": population["gender"].to_arrow(),
            "region": population["region"].to_arrow(),
            # As the engines give it: "invalid" where the population row's number fails the
            # check (the bench knows no departments, so no number is "unused").
            "number_status": population.select(
                pl.when(pl.col("id_number").is_in(list(invalid))).then(pl.lit("invalid"))
            )
            .to_series()
            .to_arrow(),
        }
    )
    print(
        f"population {base.num_rows:,}; candidates {candidates.num_rows:,} "
        f"({len(rows):,} corrupted, {len(decoy_rows):,} decoys)",
        flush=True,
    )

    started = time.perf_counter()
    stages: dict[str, float] = {}
    matches = link_candidates(candidates, base, threshold=args.threshold, timings=stages)
    elapsed = time.perf_counter() - started
    matched = dict(
        zip(matches.column("row").to_pylist(), matches.column("matched_id_number").to_pylist(),
            strict=True)
    )  # fmt: skip
    correct = sum(1 for i, r in enumerate(rows, start=1) if matched.get(i) == r["truth"])
    decoys_matched = sum(1 for i in range(len(rows) + 1, len(everything) + 1) if i in matched)
    precision = correct / len(matched) if matched else float("nan")
    recall = correct / len(rows) if rows else float("nan")
    load = os.getloadavg()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = candidates.num_rows / elapsed
    print(
        f"\nlinkage (threshold {args.threshold})  {elapsed:8.1f} s   "
        f"{rate:,.0f} candidates/s   peak RSS {peak:,.0f} MB"
    )
    for stage, value in stages.items():
        shown = f"{value:8.1f} s" if isinstance(value, float) else f"{value:10,}"
        print(f"    {stage:24s} {shown}")
    print(f"  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"  matches {len(matched):,}   correct {correct:,}   decoys matched {decoys_matched:,}")
    print(f"  precision {precision:.4f}  (target >= 0.99)")
    print(f"  recall    {recall:.4f}  (target >= 0.97; every kind >= 0.90)")
    print(f"    {'kind':12s} {'rows':>7s} {'matched':>8s} {'correct':>8s} {'precision':>9s} "
          f"{'recall':>7s}")  # fmt: skip
    for kind in KINDS:
        of_kind = [i for i, k in enumerate(kinds, start=1) if k == kind]
        got = [i for i in of_kind if i in matched]
        hits = sum(1 for i in of_kind if matched.get(i) == rows[i - 1]["truth"])
        kind_precision = hits / len(got) if got else float("nan")
        print(f"    {kind:12s} {len(of_kind):7,} {len(got):8,} {hits:8,} "
              f"{kind_precision:9.4f} {hits / len(of_kind):7.4f}")  # fmt: skip
    for kind in DECOY_KINDS:
        of_kind = [len(rows) + 1 + i for i, k in enumerate(decoy_kinds) if k == kind]
        wrong = sum(1 for i in of_kind if i in matched)
        print(f"    decoy {kind:10s} {len(of_kind):7,} matched {wrong:,} (must be 0)")
    # Why the wrong matches matched (comparison levels only: no personal data).
    levels = ("id_level", "name_level", "birth_level", "gender_level", "region_level")
    wrong_levels: dict[tuple[str, ...], int] = {}
    for m in matches.to_pylist():
        i = m["row"]
        truth = rows[i - 1]["truth"] if i <= len(rows) else None
        if m["matched_id_number"] != truth:
            key = tuple(str(m[c]) for c in levels)
            wrong_levels[key] = wrong_levels.get(key, 0) + 1
    for key, n in sorted(wrong_levels.items(), key=lambda kv: -kv[1]):
        print(f"    wrong match {n:5,}: {' / '.join(key)}")


if __name__ == "__main__":
    main()
