"""Probabilistic record linkage (PROBABLE_MATCH): for each row whose ID number is invalid or
absent from the population base, the population person it most probably is.

    link_candidates(candidates, population, threshold=0.9) -> pa.Table (MATCH_COLUMNS)
    probable_match_findings(matches) -> pa.Table (FINDINGS_COLUMNS)

Both inputs are Arrow tables, as every engine gives them (`ComparisonEngine.linkage_candidates`
and `linkage_population`); the linkage itself always runs here, with Splink on an embedded
DuckDB, so every engine gets the same matches from the same inputs.

The model is a Fellegi-Sunter model with fixed m and u probabilities (`MODEL`), not trained on
the data: the same inputs give the same probabilities, and a probability means the same thing
in every run. It compares

    ID number   the 17-digit body (the check character is what a typo breaks): equal; equal as
                the 15-digit old number (the century or check character differs); one edit
                apart (a mistyped digit, two adjacent digits swapped: Damerau-Levenshtein;
                also a digit changed with the check character recomputed); two digits of
                the birth day and sequence apart, the rest equal, with names of the same
                pinyin (`day_seq`); two edits apart; otherwise
    name        normalised (traditional -> simplified, spaces, dots): equal; tone-less pinyin
                equal (a homophone); pinyin Jaro-Winkler >= 0.92; otherwise
    birth date, gender (both from the ID number)
    county      equal; different with each record in the county its own number names (the
                look-alike: the same name and birth date in another county); otherwise

The population may hold the wrong number itself: `linkage_population` gives the invalid
numbers population rows hold too (`number_status` "invalid"), and marks the valid numbers no
department row has ("unused"). A row linked to such a record says so in its finding
(`correct`: "population"), so the clerk corrects the population side. Every finding lists the
digits and characters that differ (`differences`).

Candidate pairs come from blocking rules keyed with the pinyin of the surname (which
homophones and traditional forms leave unchanged) and most of the ID number: the number
without one window of it (positions 0-5, 5-9, 9-13, 13-16 of the 17-digit body), since a
mistyped digit or two swapped adjacent digits lie inside one window (`_PIECE_KEYS`); plus
the birth date, and the 15-digit form (a century lost in the upgrade); and the address and
birth month with the name's pinyin (two digits of the day and sequence). Numbers with no
17-digit body at all (a digit dropped or added) are blocked on the name's pinyin within the
county. Where it cannot lose a match at the threshold (`blocking_rules`), the birth-date
rule also asks for the same pinyin of the whole name: on 10 million persons it yielded most
of the pairs, none of which could reach the threshold without it. The population is first
cut down to the persons who share a key with some candidate (semi-joins on the cheap
features: ID pieces and the surname's pinyin), and only those get the pinyin of the whole
name, so that ~100k candidates against 10M persons stay small; Splink then gets only the
persons of some blocked pair.

Pure: no Django.
"""

# ruff: noqa: S608 - SQL is built here from this module's constants; data are bound as tables.
from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import duckdb
import polars as pl
import pyarrow as pa

from shebao.comparison.domain import DEFAULT_THRESHOLD, FINDINGS_COLUMNS, Category
from shebao.identity._text import INVISIBLE_CHARS
from shebao.identity.duckdb_sql import register_identity_macros
from shebao.identity.id_number import is_valid_id_number, normalize_id_number
from shebao.identity.names import normalize_name

__all__ = [
    "CANDIDATE_COLUMNS",
    "MATCH_COLUMNS",
    "MODEL",
    "POPULATION_COLUMNS",
    "Level",
    "LinkageModel",
    "level_label",
    "link_candidates",
    "name_features",
    "probability_text",
    "probable_match_findings",
    "surname_pinyin",
]

CANDIDATE_COLUMNS: Final[tuple[str, ...]] = (
    "source",
    "row",
    "id_number",
    "name",
    "birth_date",
    "gender",
    "region",
)
# As the engines' `linkage_population` gives them; an optional `number_status` column says
# which numbers the population side may hold wrong ("invalid": a population row's number
# that fails validation, as read; "unused": valid, but no department row has it).
POPULATION_COLUMNS: Final[tuple[str, ...]] = ("id_number", "name", "birth_date", "gender", "region")
# One row per matched candidate. The *_level columns are the comparison levels the pair
# reached (a `Level.key`, or "null" where a side had no value).
MATCH_COLUMNS: Final[tuple[str, ...]] = (
    "source",
    "row",
    "id_number",
    "name",
    "matched_id_number",
    "matched_name",
    "match_probability",
    "id_level",
    "name_level",
    "birth_level",
    "gender_level",
    "region_level",
    # The population's number: null, "invalid" (the population row's number fails the
    # check) or "unused" (valid, but no department row has it).
    "matched_number_status",
)
# Probabilities are kept to 4 decimal places and never shown as certain.
PROBABILITY_DECIMALS: Final[int] = 4
MAX_PROBABILITY: Final[float] = 0.9999
NAME_SIMILAR_JARO_WINKLER: Final[float] = 0.92


@dataclass(frozen=True, slots=True)
class Level:
    """One level of one comparison: its key (as in MATCH_COLUMNS), how it reads in Chinese,
    and its fixed m and u probabilities."""

    key: str
    label: str
    m: float
    u: float

    @property
    def bits(self) -> float:
        """The match weight of the level: log2 of its Bayes factor m/u."""
        return math.log2(self.m / self.u)


@dataclass(frozen=True, slots=True)
class LinkageModel:
    """The fixed parameters. `prior` is the probability that two records taken at random
    (one candidate, one person of the population) are the same person: about one in a
    million. With it, a pair needs a total match weight of about 23 bits for 0.9."""

    prior: float
    id_number: tuple[Level, ...]
    name: tuple[Level, ...]
    birth_date: tuple[Level, ...]
    gender: tuple[Level, ...]
    region: tuple[Level, ...]

    def comparisons(self) -> dict[str, tuple[Level, ...]]:
        return {
            "id_number": self.id_number,
            "name": self.name,
            "birth_date": self.birth_date,
            "gender": self.gender,
            "region": self.region,
        }


# Levels in decreasing specificity, as Splink evaluates them; "null" levels are separate.
# m: share of true matches at the level (the corruptions departments make); u: share of
# random pairs. The u of "exact" ID levels is about one in ten million.
MODEL: Final[LinkageModel] = LinkageModel(
    prior=1e-6,
    id_number=(
        Level("exact", "身份证号码前17位一致（仅校验位不同）", 0.10, 1e-7),
        Level("old15", "身份证号码与15位旧号码一致", 0.05, 1e-7),
        Level("one_edit", "身份证号码相差一位数字或相邻两位颠倒", 0.73, 1e-5),
        # Two digits of the birth day and sequence (positions 13-17) mistyped, the address
        # and birth month equal, and the names sounding the same (the level asks for it:
        # without it a namesake-free stranger born the same month would be as near). Among
        # random pairs this needs the same county, month, name and 3 of 5 digits.
        Level("day_seq", "身份证号码出生日和顺序码中两位不同，其余一致且姓名读音相同", 0.04, 5e-8),
        Level("two_edits", "身份证号码相差两处", 0.065, 8e-4),
        Level("different", "身份证号码差异较大", 0.015, 0.9992),
    ),
    name=(
        Level("exact", "姓名一致（已作繁简转换和规范化）", 0.80, 2e-4),
        Level("homophone", "姓名读音相同（同音字）", 0.15, 3e-4),
        # Neutral: similar-sounding names are as common among strangers as among the
        # records of one person.
        Level("similar", "姓名读音相近", 0.02, 0.02),
        Level("different", "姓名不同", 0.03, 0.9795),
    ),
    birth_date=(
        # Weak on its own: the birth date is read from the ID number, which is compared
        # already.
        Level("exact", "出生日期一致", 0.85, 0.106),
        Level("different", "出生日期不同", 0.15, 0.894),
    ),
    gender=(
        Level("exact", "性别一致", 0.9, 0.5),
        Level("different", "性别不同", 0.1, 0.5),
    ),
    region=(
        Level("exact", "所在县（市、区）一致", 0.8, 0.3),
        # Each record in the county its own number names, and the two counties differ:
        # another person of the same name and birth date in another county (a typo in the
        # address digits leaves the row in the person's own county). Strong against.
        Level(
            "other_county",
            "所在县（市、区）不同，且各自与本人身份证号码的地区码一致（疑为另一县同名同生日者）",
            0.0002,
            0.2,
        ),
        Level("different", "所在县（市、区）不同", 0.1998, 0.5),
    ),
)
_NULL_LABELS: Final[dict[str, str]] = {
    "id_number": "身份证号码为空",
    "name": "姓名为空",
    "birth_date": "出生日期无法从身份证号码读出",
    "gender": "性别无法从身份证号码读出",
    "region": "无所在地区",
}
_COMPARISON_ORDER: Final[tuple[str, ...]] = ("id_number", "name", "birth_date", "gender", "region")
_LEVEL_COLUMN: Final[dict[str, str]] = {
    "id_number": "id_level",
    "name": "name_level",
    "birth_date": "birth_level",
    "gender": "gender_level",
    "region": "region_level",
}

# Blocking on the 17-digit body (positions 0-16: address 0-5, birth date 6-13, sequence
# 14-16) with the surname's pinyin. Each key is the body without one window of it; a mistyped
# digit or two swapped adjacent digits lie inside one of the windows 0-5, 5-9, 9-13, 13-16,
# so the key without that window still agrees. Keys keep most of the number, so blocks are
# small even where millions share a county (at worst county, birth date to ten days and
# surname). Plus the birth date (two typos in address and sequence) and the 15-digit form.
_PIECE_KEYS: Final[tuple[tuple[str, ...], ...]] = (
    ("surname_py", "id_k1"),  # without 0-5
    ("surname_py", "id_k2"),  # without 5-9 (also a century lost in the upgrade)
    ("surname_py", "id_k3"),  # without 9-13
    ("surname_py", "id_k4"),  # without 13-16
    ("surname_py", "id_birth"),  # the birth date
    ("id15",),  # the 15-digit form
)
# Numbers with no 17-digit body (a digit dropped or added, letters), not empty: the name's
# pinyin in the county. Persons always have a body, so `id_k1 IS NULL` picks the candidate.
_DAMAGED_RULE: Final[str] = (
    "l.surname_py = r.surname_py AND l.name_py = r.name_py AND l.region = r.region "
    "AND (l.id_k1 IS NULL OR r.id_k1 IS NULL) AND l.id_body IS NOT NULL "
    "AND r.id_body IS NOT NULL"
)
# Two digits mistyped in the birth day and sequence (positions 12-16) can fall in two
# windows (k3 and k4 both lose) and change the birth date (the birth-date rule loses): the
# number's address and birth month (positions 0-11) with the whole name's pinyin, which the
# `day_seq` level asks for anyway. The persons are first cut down with the pinyin of the
# name's first and last characters (cheap on millions of names; the whole name's pinyin is
# only computed for the persons kept).
_DAY_SEQ_KEYS: Final[tuple[str, ...]] = ("surname_py", "final_py", "id_ym")
_DAY_SEQ_RULE: Final[str] = (
    "l.surname_py = r.surname_py AND l.id_ym = r.id_ym AND l.name_py = r.name_py"
)
_BLOCKING_RULES: Final[tuple[str, ...]] = (
    *(" AND ".join(f"l.{k} = r.{k}" for k in keys) for keys in _PIECE_KEYS),
    _DAY_SEQ_RULE,
    _DAMAGED_RULE,
)
_BIRTH_RULE: Final[int] = _PIECE_KEYS.index(("surname_py", "id_birth"))
# A pair at an ID level above `two_edits` (equal body, equal 15-digit form, one edit apart)
# or at a name level above `similar` (equal normalised names, equal pinyin): the pairs that
# can reach the threshold where `blocking_rules` narrows the rules.
_ONE_EDIT: Final[str] = "damerau_levenshtein(l.id_body, r.id_body) <= 1"
_ONE_EDIT_BOUND: Final[str] = "hamming(l.id_body, r.id_body) <= 2"  # bodies: 17 digits
_REACHABLE: Final[str] = (
    f"(l.name_py = r.name_py OR l.name_norm = r.name_norm OR l.id_body = r.id_body"
    f" OR l.id15 = r.id15 OR {_ONE_EDIT})"
)
# The birth-date rule with the whole name's pinyin as well: a subset of its pairs.
_BIRTH_RULE_TIGHT: Final[str] = (
    "l.surname_py = r.surname_py AND l.name_py = r.name_py AND l.id_birth = r.id_birth"
)


def _logit_bits(probability: float) -> float:
    return math.log2(probability / (1 - probability))


def blocking_rules(threshold: float, model: LinkageModel = MODEL) -> tuple[str, ...]:
    """The blocking rules for `threshold`: `_BLOCKING_RULES`, with the birth-date rule
    narrowed to pairs whose names sound the same wherever that cannot lose a match.

    On 10 million persons the birth-date rule (surname and birth date) yields most of the
    pairs, and scoring them was most of the linkage. A pair only that rule finds has ID
    numbers that differ in two windows (the other rules find any pair one edit apart, equal
    bodies and equal 15-digit forms), so its ID level is `two_edits` or `different`. Without
    the same pinyin its name level is `similar`, `different` or null; its best possible
    weight adds the best of the remaining levels. When even that stays below the threshold,
    the pairs the narrowed rule drops could never be emitted: the matches are the same.
    """
    # `day_seq` asks for the same pinyin: out of reach of the pairs the narrowing drops.
    ranked = ("exact", "old15", "one_edit", "day_seq")
    best_bits = (
        max([0.0, *(lv.bits for lv in model.id_number if lv.key not in ranked)])
        + max([0.0, *(lv.bits for lv in model.name if lv.key not in ("exact", "homophone"))])
        + sum(
            max([0.0, *(lv.bits for lv in levels)])
            for levels in (model.birth_date, model.gender, model.region)
        )
    )
    floor = max(threshold - 0.5 * 10**-PROBABILITY_DECIMALS, 1e-12)
    if best_bits + _logit_bits(model.prior) >= _logit_bits(floor):
        return _BLOCKING_RULES
    rules = list(_BLOCKING_RULES)
    rules[_BIRTH_RULE] = _BIRTH_RULE_TIGHT
    # The same bound holds for any pair: the ID-piece rules keep only the pairs whose
    # numbers are at most one edit apart or whose names sound the same. On 10 million
    # persons the rules without the sequence or the birth day (the same surname, county and
    # birth date) gave 1.7 million pairs, nearly all of strangers.
    for index, keys in enumerate(_PIECE_KEYS):
        if index != _BIRTH_RULE and "surname_py" in keys:
            rules[index] = f"{rules[index]} AND {_REACHABLE}"
    return tuple(rules)


# --- names ---------------------------------------------------------------------------------


@cache
def _pinyin_of(char: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(char, style=Style.NORMAL, errors="default")).lower()


def _char_maps(names: pl.Series) -> tuple[dict[str, str], dict[str, str]]:
    """Per distinct character: its normalised form ('' for spaces and dots, simplified for
    traditional) and its tone-less pinyin (of the normalised form). Names share a few
    thousand characters, so the per-character work in Python is small whatever the number of
    names."""
    distinct = names.drop_nulls().unique()
    chars = distinct.str.split("").explode().drop_nulls().unique().sort().to_list()
    norm = {c: normalize_name(c) for c in chars if c}
    pinyin = {c: "".join(_pinyin_of(n) for n in norm[c]) for c in norm}
    return norm, pinyin


@cache
def _ignorable() -> str:
    """The characters normalisation removes (spaces, dots, zero-width)."""
    return "".join(c for c in INVISIBLE_CHARS + _DOTS if not normalize_name(c))


_DOTS: Final[str] = ".·•‧・･·⋅∙．"


def surname_pinyin(names: pl.Series) -> pl.Series:
    """The tone-less pinyin of each name's first character (after spaces and dots), as
    normalised: the blocking key homophones and traditional forms leave unchanged. Cheap on
    millions of names: only the distinct first characters go through Python."""
    first = names.cast(pl.String).str.strip_chars_start(_ignorable()).str.slice(0, 1)
    return _sound_of(first, "surname_py")


def final_pinyin(names: pl.Series) -> pl.Series:
    """The same for each name's last character (before spaces and dots): with the surname's,
    a key that keeps few persons per county and birth month."""
    last = names.cast(pl.String).str.strip_chars_end(_ignorable()).str.slice(-1, 1)
    return _sound_of(last, "final_py")


def _sound_of(chars: pl.Series, alias: str) -> pl.Series:
    table = {c: "".join(_pinyin_of(n) for n in normalize_name(c)) for c in
             chars.drop_nulls().unique().to_list()}  # fmt: skip
    sound = chars.replace_strict(table, default=None, return_dtype=pl.String)
    return (
        pl.DataFrame({"s": sound})
        .select(pl.when(pl.col("s") != "").then(pl.col("s")).alias(alias))
        .to_series()
    )


def name_features(names: pl.Series) -> pl.DataFrame:
    """name_norm, name_py, surname_py for each name (null where nothing is left),
    vectorised: every character is replaced through tables built from the distinct
    characters. Character by character conversion to simplified is what names need
    (OpenCC's phrases are for running text)."""
    norm, sounds = _char_maps(names)
    chars = list(norm)
    text = pl.col("name")
    frame = pl.DataFrame({"name": names.cast(pl.String)}).select(
        text.str.replace_many(chars, [norm[c] for c in chars]).alias("name_norm"),
        text.str.replace_many(chars, [sounds[c] for c in chars]).alias("name_py"),
    )
    return frame.select(
        pl.when(pl.col("name_norm") != "").then(pl.col("name_norm")).alias("name_norm"),
        pl.when(pl.col("name_py") != "").then(pl.col("name_py")).alias("name_py"),
    ).with_columns(surname_pinyin(names))


# --- the linkage ---------------------------------------------------------------------------


def _features_sql(table: str, *, normalise: str, extra: str) -> str:
    """ID-number pieces of `table` (unique_id, id_number, name, birth_date, gender, region),
    in the normalised form where the raw number allows it, on the rows where the SQL
    condition `normalise` holds (the population's valid numbers are normalised already);
    `extra` columns pass through."""
    n = (
        f"CASE WHEN {normalise} THEN shebao_normalize_id(coalesce(id_number, '')) "
        "ELSE coalesce(id_number, '') END"
    )
    ok = f"CASE WHEN {normalise} THEN regexp_full_match(id_body, '[0-9]{{17}}') ELSE true END"
    return f"""
        WITH t AS (SELECT *, {n} AS n FROM {table}),
        b AS (SELECT *,
                CASE WHEN n = '' THEN NULL WHEN length(n) = 18 THEN substr(n, 1, 17)
                     ELSE n END AS id_body,
                CASE WHEN length(n) = 18 THEN substr(n, 1, 6) || substr(n, 9, 9) END AS id15
              FROM t),
        c AS (SELECT *, {ok} AS ok FROM b)
        SELECT unique_id, id_number, name, id_body, id15,
               CASE WHEN ok THEN substr(id_body, 7, 11) END AS id_k1,
               CASE WHEN ok THEN substr(id_body, 1, 5) || substr(id_body, 11, 7) END AS id_k2,
               CASE WHEN ok THEN substr(id_body, 1, 9) || substr(id_body, 15, 3) END AS id_k3,
               CASE WHEN ok THEN substr(id_body, 1, 13) END AS id_k4,
               CASE WHEN ok THEN substr(id_body, 7, 8) END AS id_birth,
               CASE WHEN ok THEN substr(id_body, 1, 12) END AS id_ym,
               -- As given, else read from the number where it can be.
               coalesce(CAST(birth_date AS DATE), CASE WHEN ok
                   THEN try_strptime(substr(id_body, 7, 8), '%Y%m%d')::DATE END)
                   AS birth_date,
               coalesce(CAST(gender AS VARCHAR), CASE WHEN ok
                   THEN CAST(2 - CAST(substr(id_body, 17, 1) AS INTEGER) % 2 AS VARCHAR) END)
                   AS gender,
               CAST(substr(region, 1, 6) AS VARCHAR) AS region, {extra}
        FROM c"""


def _indexed(table: pa.Table, columns: Sequence[str]) -> pl.DataFrame:
    return (
        pl.DataFrame(table.select(list(columns)))
        .with_columns(pl.col("name").cast(pl.String), pl.col("id_number").cast(pl.String))
        .with_row_index("unique_id")
    )


# The columns Splink sees, in one order for both tables.
_LINK_COLUMNS: Final[str] = (
    "unique_id, id_number, name, id_body, id15, id_k1, id_k2, id_k3, id_k4, id_birth, id_ym, "
    "birth_date, gender, region, name_norm, name_py, surname_py, final_py, number_status"
)


def _splink_settings(model: LinkageModel, threshold: float) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator
    from splink.blocking_rule_library import CustomRule

    def levels(name: str, specific: list[Any]) -> list[Any]:
        chosen = model.comparisons()[name]
        out: list[Any] = [cll.NullLevel(_NULL_COLUMN[name]).configure(label_for_charts="null")]
        for creator, level in zip([*specific, cll.ElseLevel()], chosen, strict=True):
            out.append(
                creator.configure(
                    m_probability=level.m, u_probability=level.u, label_for_charts=level.key
                )
            )
        return out

    comparisons: list[Any] = [
        cl.CustomComparison(
            output_column_name="id_number",
            comparison_levels=levels(
                "id_number",
                [
                    cll.ExactMatchLevel("id_body"),
                    cll.ExactMatchLevel("id15"),
                    cll.DamerauLevenshteinLevel("id_body", 1),
                    cll.CustomLevel(_DAY_SEQ_LEVEL),
                    cll.DamerauLevenshteinLevel("id_body", 2),
                ],
            ),
        ),
        cl.CustomComparison(
            output_column_name="name",
            comparison_levels=levels(
                "name",
                [
                    cll.ExactMatchLevel("name_norm"),
                    cll.ExactMatchLevel("name_py"),
                    cll.JaroWinklerLevel("name_py", NAME_SIMILAR_JARO_WINKLER),
                ],
            ),
        ),
        cl.CustomComparison(
            output_column_name="birth_date",
            comparison_levels=levels("birth_date", [cll.ExactMatchLevel("birth_date")]),
        ),
        cl.CustomComparison(
            output_column_name="gender",
            comparison_levels=levels("gender", [cll.ExactMatchLevel("gender")]),
        ),
        cl.CustomComparison(
            output_column_name="region",
            comparison_levels=levels(
                "region", [cll.ExactMatchLevel("region"), cll.CustomLevel(_OTHER_COUNTY_LEVEL)]
            ),
        ),
    ]
    return SettingsCreator(
        link_type="link_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[
            CustomRule(rule) for rule in blocking_rules(threshold, model)
        ],
        probability_two_random_records_match=model.prior,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        linker_uid="shebao_probable_match",
    )


# Hamming distance needs equal lengths; the bodies of damaged numbers are not 17 digits.
_DAY_SEQ_LEVEL: Final[str] = (
    "substr(id_body_l, 1, 12) = substr(id_body_r, 1, 12) AND name_py_l = name_py_r "
    "AND (CASE WHEN length(id_body_l) = 17 AND length(id_body_r) = 17 "
    "THEN hamming(id_body_l, id_body_r) END) = 2"
)
_OTHER_COUNTY_LEVEL: Final[str] = (
    "region_l <> region_r AND region_l = substr(id_body_l, 1, 6) "
    "AND region_r = substr(id_body_r, 1, 6)"
)
_NULL_COLUMN: Final[dict[str, str]] = {
    "id_number": "id_body",
    "name": "name_py",
    "birth_date": "birth_date",
    "gender": "gender",
    "region": "region",
}


def _empty_matches() -> pa.Table:
    schema = pa.schema(
        [
            ("source", pa.string()),
            ("row", pa.int64()),
            ("id_number", pa.string()),
            ("name", pa.string()),
            ("matched_id_number", pa.string()),
            ("matched_name", pa.string()),
            ("match_probability", pa.float64()),
            *((column, pa.string()) for column in MATCH_COLUMNS[7:]),
        ]
    )
    return schema.empty_table()


class _Clock:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[stage] = now - self.last
        self.last = now

    def count(self, name: str, value: int) -> None:
        if self.timings is not None:
            self.timings[name] = value


def link_candidates(
    candidates: pa.Table,
    population: pa.Table,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    model: LinkageModel = MODEL,
    threads: int | None = None,
    timings: dict[str, float] | None = None,
) -> pa.Table:
    """For each candidate (CANDIDATE_COLUMNS), the population person (POPULATION_COLUMNS)
    it most probably is, where the probability, rounded to 4 places, reaches `threshold`.
    One match per candidate: the most probable, ties to the smaller ID number. Ordered by
    source and row. Deterministic: fixed parameters, no sampling, a total order.

    `timings`, if given, receives the seconds of each stage (features, blocking keys shared
    with candidates, names, pairs scored, best match) and the counts of persons kept and
    pairs scored."""
    if candidates.num_rows == 0 or population.num_rows == 0:
        return _empty_matches()
    # Splink reports its timings at INFO; the pipeline reports its own progress.
    logging.getLogger("splink").setLevel(logging.WARNING)
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}").fetchall()
        con.execute("SET enable_progress_bar = false").fetchall()
        register_identity_macros(con)
        return _link(con, candidates, population, threshold, model, _Clock(timings))
    finally:
        con.close()


def _link(
    con: duckdb.DuckDBPyConnection,
    candidates: pa.Table,
    population: pa.Table,
    threshold: float,
    model: LinkageModel,
    clock: _Clock,
) -> pa.Table:
    from splink import DuckDBAPI, Linker

    # The candidates are few: every feature at once. The persons are many: first the
    # blocking keys (ID pieces, the surname's pinyin), then the rest of the name's features
    # only for those who share a key with some candidate.
    cand_frame = _indexed(candidates, CANDIDATE_COLUMNS)
    cand_in = pl.concat(
        [cand_frame, name_features(cand_frame["name"])], how="horizontal"
    ).with_columns(final_pinyin(cand_frame["name"]))
    status = ("number_status",) if "number_status" in population.column_names else ()
    pop_frame = _indexed(population, (*POPULATION_COLUMNS, *status))
    if not status:
        pop_frame = pop_frame.with_columns(pl.lit(None, pl.String).alias("number_status"))
    pop_in = pop_frame.with_columns(
        surname_pinyin(pop_frame["name"]), final_pinyin(pop_frame["name"])
    )
    del pop_frame
    con.register("shebao_cand_in", cand_in.to_arrow())
    con.register("shebao_pop_in", pop_in.to_arrow())
    con.execute(
        f"""CREATE TABLE cand AS SELECT {_LINK_COLUMNS} FROM ({
            _features_sql(
                "shebao_cand_in",
                normalise="true",
                extra="name_norm, name_py, surname_py, final_py, NULL::VARCHAR AS number_status",
            )
        }) ORDER BY unique_id"""
    ).fetchall()
    # Only the blocking keys of all the persons are kept, the ID pieces as integers (digits
    # of a fixed length: equal as numbers exactly when equal as text): a table of every
    # feature of 10M persons took 3 GB. The other features are computed for the persons
    # kept only.
    numeric = ("id_k1", "id_k2", "id_k3", "id_k4", "id_birth", "id15", "id_ym")
    # The persons' numbers are valid (but those a population row holds invalid, which are
    # normalised first): every piece is arithmetic on the 17-digit body v (digit positions
    # 0-16), half the cost of cutting and casting five substrings.
    con.execute(
        f"""CREATE TABLE pop_all AS
            SELECT unique_id, surname_py, final_py,
                   CAST(substr(region, 1, 6) AS VARCHAR) AS region,
                   v % {10**11} AS id_k1,  -- 6-16
                   (v // {10**12}) * {10**7} + v % {10**7} AS id_k2,  -- 0-4, 10-16
                   (v // {10**8}) * 1000 + v % 1000 AS id_k3,  -- 0-8, 14-16
                   v // 10000 AS id_k4,  -- 0-12
                   (v // 1000) % {10**8} AS id_birth,  -- 6-13
                   (v // {10**11}) * {10**9} + v % {10**9} AS id15,  -- 0-5, 8-16
                   v // {10**5} AS id_ym  -- 0-11
            FROM (SELECT unique_id, surname_py, final_py, region,
                         TRY_CAST(substr(CASE WHEN number_status = 'invalid'
                             THEN shebao_normalize_id(coalesce(id_number, ''))
                             ELSE id_number END, 1, 17) AS BIGINT) AS v
                  FROM shebao_pop_in)"""
    ).fetchall()
    clock.lap("features")

    def same(key: str) -> str:
        return f"p.{key} = TRY_CAST(c.{key} AS BIGINT)" if key in numeric else f"p.{key} = c.{key}"

    kept = " UNION ".join(
        [
            "SELECT p.unique_id FROM pop_all p SEMI JOIN cand c ON "
            + " AND ".join(same(k) for k in keys)
            for keys in (*_PIECE_KEYS, _DAY_SEQ_KEYS)
        ]
        + [
            """SELECT p.unique_id FROM pop_all p SEMI JOIN
                   (SELECT * FROM cand WHERE id_k1 IS NULL AND id_body IS NOT NULL) c
               ON p.surname_py = c.surname_py AND p.region = c.region"""
        ]
    )
    kept_names = con.sql(
        f"""SELECT unique_id, name FROM shebao_pop_in WHERE unique_id IN ({kept})
            ORDER BY unique_id"""
    ).to_arrow_table()
    con.execute("DROP TABLE pop_all").fetchall()
    clock.lap("blocking_keys")
    clock.count("persons_kept", kept_names.num_rows)
    if kept_names.num_rows == 0:
        con.unregister("shebao_pop_in")
        return _empty_matches()
    kept_features = name_features(pl.Series(kept_names.column("name")))
    names_of_kept = pa.table(
        {
            "unique_id": kept_names.column("unique_id"),
            "name_norm": kept_features["name_norm"].to_arrow(),
            "name_py": kept_features["name_py"].to_arrow(),
        }
    )
    con.register("shebao_pop_names", names_of_kept)
    kept_persons = _features_sql(
        "(SELECT * FROM shebao_pop_in WHERE unique_id IN (SELECT unique_id FROM shebao_pop_names))",
        normalise="number_status = 'invalid'",
        extra="surname_py, final_py, number_status",
    )
    con.execute(
        f"""CREATE TABLE pop_named AS SELECT {_LINK_COLUMNS} FROM (
                SELECT p.*, k.name_norm, k.name_py
                FROM ({kept_persons}) p JOIN shebao_pop_names k USING (unique_id))"""
    ).fetchall()
    con.unregister("shebao_pop_names")
    con.unregister("shebao_pop_in")
    del pop_in
    # Splink is given only the persons of some blocked pair: with fixed parameters the
    # others change nothing, and the birth-date rule, narrowed by the name (see
    # `blocking_rules`), leaves most of the persons kept for it without a pair.
    # A superset of the rules' pairs is enough here (Splink applies the rules themselves):
    # Hamming distance 2 bounds one edit between numbers of 17 digits and costs far less.
    in_pairs = " UNION ".join(
        f"SELECT r.unique_id FROM pop_named r SEMI JOIN cand l ON {rule}"
        for rule in (
            rule.replace(_ONE_EDIT, _ONE_EDIT_BOUND) for rule in blocking_rules(threshold, model)
        )
    )
    con.execute(
        f"""CREATE TABLE pop AS SELECT * FROM pop_named WHERE unique_id IN ({in_pairs})
            ORDER BY unique_id"""
    ).fetchall()
    con.execute("DROP TABLE pop_named").fetchall()
    paired = int(con.execute("SELECT count(*) FROM pop").fetchall()[0][0])
    clock.lap("names")
    clock.count("persons_paired", paired)
    if paired == 0:
        return _empty_matches()

    db_api = DuckDBAPI(connection=con)
    left = db_api.register("cand", table_name="shebao_candidates")
    right = db_api.register("pop", table_name="shebao_population")
    linker = Linker([left, right], _splink_settings(model, threshold), log_level=None)
    floor = max(threshold - 0.5 * 10**-PROBABILITY_DECIMALS, 0.0)
    predictions = linker.inference.predict(threshold_match_probability=floor, warning_mode="never")
    gammas = ", ".join(f"gamma_{name}" for name in _COMPARISON_ORDER)
    pairs = con.sql(
        f"""SELECT source_dataset_l, unique_id_l, source_dataset_r, unique_id_r,
                   match_probability, {gammas}
            FROM {predictions.physical_name}"""
    ).to_arrow_table()
    clock.lap("pairs_scored")
    clock.count("pairs_above_threshold", pairs.num_rows)
    con.register("shebao_pairs", pairs)
    level_cases = ", ".join(
        f"{_level_case(name, model)} AS {_LEVEL_COLUMN[name]}" for name in _COMPARISON_ORDER
    )
    # Splink may put either table on the left: orient every pair as (candidate, person).
    result = con.sql(
        f"""WITH oriented AS (
                SELECT CASE WHEN source_dataset_l = 'shebao_candidates' THEN unique_id_l
                            ELSE unique_id_r END AS cand_id,
                       CASE WHEN source_dataset_l = 'shebao_candidates' THEN unique_id_r
                            ELSE unique_id_l END AS pop_id,
                       least(round(match_probability, {PROBABILITY_DECIMALS}),
                             {MAX_PROBABILITY}) AS p,
                       match_probability AS raw_p, {gammas}
                FROM shebao_pairs),
            ranked AS (
                SELECT o.*, p.id_number AS matched_id_number, p.name AS matched_name,
                       p.number_status AS matched_number_status,
                       row_number() OVER (PARTITION BY o.cand_id
                           ORDER BY o.raw_p DESC, p.id_number, p.name NULLS LAST, p.unique_id)
                           AS rank
                FROM oriented o JOIN pop p ON p.unique_id = o.pop_id
                JOIN cand c ON c.unique_id = o.cand_id
                WHERE o.p >= {float(threshold)!r}
                  -- A population row's invalid number is a candidate too: not itself, nor
                  -- another row repeating the same wrong number (the same error, no link).
                  AND NOT coalesce(p.number_status = 'invalid' AND p.id_body = c.id_body,
                                   false))
            SELECT i.source, CAST(i.row AS BIGINT) AS row, i.id_number, i.name,
                   r.matched_id_number, r.matched_name, r.p AS match_probability,
                   {level_cases}, r.matched_number_status
            FROM ranked r JOIN shebao_cand_in i ON i.unique_id = r.cand_id
            WHERE r.rank = 1
            ORDER BY i.source, i.row, i.unique_id"""
    ).to_arrow_table()
    con.unregister("shebao_pairs")
    con.unregister("shebao_cand_in")
    clock.lap("best_match")
    return result.cast(_empty_matches().schema)


def _level_case(name: str, model: LinkageModel) -> str:
    """gamma -> level key: Splink numbers the levels -1 (null), then from the else level
    (0) up to the most specific."""
    chosen = model.comparisons()[name]
    whens = " ".join(
        f"WHEN {len(chosen) - 1 - i} THEN '{level.key}'" for i, level in enumerate(chosen)
    )
    return f"CASE gamma_{name} WHEN -1 THEN 'null' {whens} END"


# --- findings ------------------------------------------------------------------------------


def probability_text(probability: float) -> str:
    """How findings.csv shows a match probability: always 4 decimal places."""
    return f"{probability:.{PROBABILITY_DECIMALS}f}"


def level_label(comparison: str, key: str, model: LinkageModel = MODEL) -> str:
    if key == "null":
        return _NULL_LABELS[comparison]
    return next(level.label for level in model.comparisons()[comparison] if level.key == key)


def id_differences(raw: str | None, matched: str) -> list[dict[str, Any]]:
    """The digits that differ between the number as the row has it and the matched person's,
    position by position (1-based, in the row's number: a 15-digit number is compared with
    the person's 15-digit form). Empty where the lengths differ (a digit dropped or added)."""
    text = normalize_id_number(raw or "")
    theirs = normalize_id_number(matched or "")
    if len(text) == 15 and len(theirs) == 18:
        text = (raw or "").translate(_ASCII_DIGITS).strip().upper()
        theirs = theirs[:6] + theirs[8:17]
    if len(text) != len(theirs):
        return []
    return [
        {"position": i + 1, "row": a, "population": b}
        for i, (a, b) in enumerate(zip(text, theirs, strict=True))
        if a != b
    ]


def name_differences(name: str | None, matched: str | None) -> list[dict[str, Any]]:
    """The characters that differ between the two names (spaces and dots left out), each
    with why they may still be the same person: 繁体 (the traditional form), 同音 (the same
    pinyin) or 不同. Where the lengths differ, the two names whole."""
    ignorable = str.maketrans("", "", _ignorable())
    mine = (name or "").translate(ignorable)
    theirs = (matched or "").translate(ignorable)
    if mine == theirs:
        return []
    if len(mine) != len(theirs):
        return [{"position": None, "row": mine, "population": theirs, "kind": "不同"}]
    out: list[dict[str, Any]] = []
    for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        if a == b:
            continue
        if normalize_name(a) == normalize_name(b):
            kind = "繁体"
        elif _pinyin_of(normalize_name(a) or a) == _pinyin_of(normalize_name(b) or b):
            kind = "同音"
        else:
            kind = "不同"
        out.append({"position": i + 1, "row": a, "population": b, "kind": kind})
    return out


_ASCII_DIGITS: Final[dict[int, int]] = {0xFF10 + d: 0x30 + d for d in range(10)}
_KIND_TEXT: Final[dict[str, str]] = {"繁体": "繁简不同", "同音": "同音字", "不同": "不同"}


def _evidence_text(digits: list[dict[str, Any]], chars: list[dict[str, Any]]) -> str:
    parts = []
    if digits:
        places = [f"第{d['position']}位（本行{d['row']}，人口库{d['population']}）" for d in digits]
        parts.append("身份证号码" + "、".join(places))
    for c in chars:
        if c["position"] is None:
            parts.append(f"姓名“{c['row']}”与人口库“{c['population']}”字数不同")
        else:
            parts.append(
                f"姓名第{c['position']}字“{c['row']}”与人口库“{c['population']}”"
                f"{_KIND_TEXT[c['kind']]}"
            )
    return "；".join(parts)


def _side_to_correct(match: dict[str, Any]) -> str:
    """Where the population side holds the wrong number: its number fails the check, or it
    is valid but no department row has it while the row's number is valid (the department
    has the number right and the population record was mistyped)."""
    status = match.get("matched_number_status")
    if status == "invalid":
        return (
            f"人口库中该人员的身份证号码 {match['matched_id_number']} 未通过校验，"
            "应核实后更正人口库一方的号码"
        )
    if status == "unused" and is_valid_id_number(match["id_number"] or ""):
        return (
            f"本行号码有效，而人口库号码 {match['matched_id_number']} 在各部门数据中均未出现，"
            "疑似人口库一方号码有误，应核实后更正人口库"
        )
    return ""


def probable_match_findings(matches: pa.Table, model: LinkageModel = MODEL) -> pa.Table:
    """PROBABLE_MATCH findings (FINDINGS_COLUMNS) from `link_candidates`' matches: source and
    row of the candidate row, its ID number as the row has it, the matched person's ID
    number, the probability, and a detail saying which fields agreed."""
    rows = matches.to_pylist()
    details = []
    for match in rows:
        agreed: list[str] = []
        differed: list[str] = []
        comparisons: dict[str, str] = {}
        for comparison in _COMPARISON_ORDER:
            key = match[_LEVEL_COLUMN[comparison]]
            label = level_label(comparison, key, model)
            comparisons[comparison] = label
            if key == "null":
                continue
            (differed if key == "different" else agreed).append(label)
        reason = (
            f"很可能是公安人口库中的 {match['matched_id_number']}（匹配概率 "
            f"{probability_text(match['match_probability'])}）：{'；'.join(agreed)}"
        )
        if differed:
            reason += f"。不一致：{'；'.join(differed)}"
        digits = id_differences(match["id_number"], match["matched_id_number"])
        chars = name_differences(match["name"], match["matched_name"])
        evidence = _evidence_text(digits, chars)
        if evidence:
            reason += f"。差异：{evidence}"
        to_correct = _side_to_correct(match)
        if to_correct:
            reason += f"。{to_correct}"
        detail: dict[str, Any] = {
            "reason": reason,
            "matched": {
                "id_number": match["matched_id_number"],
                "name": match["matched_name"],
            },
            "agreed": agreed,
            "differed": differed,
            "comparisons": comparisons,
            "differences": {"id_number": digits, "name": chars},
            "note": "疑似同一人，需人工核实确认后方可更正；确认前不影响其他比对结果",
        }
        if to_correct:
            detail["correct"] = "population"
        details.append(json.dumps(detail, ensure_ascii=False))
    return pa.table(
        {
            "category": pa.array([Category.PROBABLE_MATCH.value] * len(rows), pa.string()),
            "source": pa.array([m["source"] for m in rows], pa.string()),
            "row": pa.array([m["row"] for m in rows], pa.int64()),
            "id_number": pa.array([m["id_number"] for m in rows], pa.string()),
            "name": pa.array([m["name"] for m in rows], pa.string()),
            "matched_id_number": pa.array([m["matched_id_number"] for m in rows], pa.string()),
            "match_probability": pa.array([m["match_probability"] for m in rows], pa.float64()),
            "detail": pa.array(details, pa.string()),
        }
    ).select(list(FINDINGS_COLUMNS))
