"""The probabilistic linkage (PROBABLE_MATCH) on planted corruptions: each kind a department
makes is caught and matched to its person; strangers, including one with a similar name and a
nearby number, are not; the result is the same for the same inputs whatever their order."""

from __future__ import annotations

import datetime as dt
import json
import random

import polars as pl
import pyarrow as pa
import pytest

from shebao.comparison.domain import FINDINGS_COLUMNS
from shebao.comparison.linkage import (
    MATCH_COLUMNS,
    MODEL,
    link_candidates,
    name_features,
    probable_match_findings,
)
from shebao.identity.id_number import id_number_check_char, is_valid_id_number

pytestmark = pytest.mark.unit

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"


def make_id(county: str, birth: dt.date, seq: int) -> str:
    body = f"{county}{birth:%Y%m%d}{seq:03d}"
    return body + id_number_check_char(body)


def person(id_number: str, name: str) -> dict[str, object]:
    birth = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    return {
        "id_number": id_number,
        "name": name,
        "birth_date": birth,
        "gender": "1" if int(id_number[16]) % 2 else "2",
        "region": id_number[:6],
    }


def population_table(people: list[dict[str, object]]) -> pa.Table:
    return pa.table(
        {
            "id_number": pa.array([p["id_number"] for p in people], pa.string()),
            "name": pa.array([p["name"] for p in people], pa.string()),
            "birth_date": pa.array([p["birth_date"] for p in people], pa.date32()),
            "gender": pa.array([p["gender"] for p in people], pa.string()),
            "region": pa.array([p["region"] for p in people], pa.string()),
        }
    )


def candidate_table(rows: list[tuple[str, str, str | None]]) -> pa.Table:
    """(id_number as read, name as read, region or None); birth date and gender from the
    number where it reads as one, as the engines give them."""
    births: list[dt.date | None] = []
    genders: list[str | None] = []
    for raw, _, _ in rows:
        try:
            births.append(dt.datetime.strptime(raw[6:14], "%Y%m%d").date())  # noqa: DTZ007
        except ValueError:
            births.append(None)
        genders.append(("1" if int(raw[16]) % 2 else "2") if len(raw) == 18 else None)
    return pa.table(
        {
            "source": pa.array(["enrollment.csv"] * len(rows), pa.string()),
            "row": pa.array(range(1, len(rows) + 1), pa.int64()),
            "id_number": pa.array([r[0] for r in rows], pa.string()),
            "name": pa.array([r[1] for r in rows], pa.string()),
            "birth_date": pa.array(births, pa.date32()),
            "gender": pa.array(genders, pa.string()),
            "region": pa.array([r[2] for r in rows], pa.string()),
        }
    )


@pytest.fixture(scope="module")
def crowd() -> list[dict[str, object]]:
    """3,000 people of two counties, many sharing surnames and birth years (seeded)."""
    rng = random.Random(7)
    people: list[dict[str, object]] = []
    seen = set()
    while len(people) < 3000:
        county = rng.choice(["420702", "420704"])
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 60))
        id_number = make_id(county, birth, rng.randrange(1, 999))
        if id_number in seen:
            continue
        seen.add(id_number)
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice([1, 2])))
        people.append(person(id_number, name))
    return people


# The planted persons: each will be written with one corruption.
TYPO = person(make_id("420702", dt.date(1980, 5, 17), 11), "张伟")
SWAP = person(make_id("420704", dt.date(1965, 3, 2), 22), "李娜")
HOMOPHONE = person(make_id("420702", dt.date(1975, 11, 11), 35), "王静")
TRADITIONAL = person(make_id("420704", dt.date(1961, 10, 27), 44), "刘德华")
OLD15 = person(make_id("420702", dt.date(2003, 4, 5), 57), "陈晨")
OLD15_TYPO = person(make_id("420704", dt.date(1958, 8, 8), 63), "赵军")
BIRTH_TYPO = person(make_id("420702", dt.date(1990, 1, 23), 71), "孙丽")
DAY_SEQ = person(make_id("420704", dt.date(1984, 6, 19), 163), "吴刚")
DAY_SEQ_HOMOPHONE = person(make_id("420702", dt.date(1979, 8, 28), 377), "郭志明")
RECHECK = person(make_id("420702", dt.date(1971, 9, 22), 165), "郭敏")
PLANTED = [TYPO, SWAP, HOMOPHONE, TRADITIONAL, OLD15, OLD15_TYPO, BIRTH_TYPO, DAY_SEQ,
           DAY_SEQ_HOMOPHONE, RECHECK]  # fmt: skip


def retyped(id_number: str, position: int) -> str:
    digit = "7" if id_number[position] != "7" else "3"
    return id_number[:position] + digit + id_number[position + 1 :]


def swapped(id_number: str, position: int) -> str:
    chars = list(id_number)
    chars[position], chars[position + 1] = chars[position + 1], chars[position]
    assert chars != list(id_number)
    return "".join(chars)


def two_retyped(id_number: str, first: int, second: int) -> str:
    """Two digits mistyped; the check character left as it was."""
    return retyped(retyped(id_number, first), second)


def rechecked(id_number: str, position: int) -> str:
    """One digit changed and the check character recomputed: valid, and nobody's."""
    body = retyped(id_number, position)[:17]
    return body + id_number_check_char(body)


def to_15(id_number: str) -> str:
    return id_number[:6] + id_number[8:17]


# (row as read, the person it is, what was done to it)
CORRUPTED: list[tuple[tuple[str, str, str | None], str | None, str]] = [
    ((retyped(str(TYPO["id_number"]), 15), "张伟", "420702"), str(TYPO["id_number"]), "typo"),
    ((swapped(str(SWAP["id_number"]), 8), "李娜", None), str(SWAP["id_number"]), "swap"),
    (
        (retyped(str(HOMOPHONE["id_number"]), 3), "王晶", "420702"),
        str(HOMOPHONE["id_number"]),
        "homophone",
    ),
    (
        (retyped(str(TRADITIONAL["id_number"]), 14), "劉德華", None),
        str(TRADITIONAL["id_number"]),
        "traditional",
    ),
    ((to_15(str(OLD15["id_number"])), "陈晨", None), str(OLD15["id_number"]), "15 digits"),
    (
        (retyped(to_15(str(OLD15_TYPO["id_number"])), 12), "赵军", "420704"),
        str(OLD15_TYPO["id_number"]),
        "15 digits with a typo",
    ),
    (
        (retyped(str(BIRTH_TYPO["id_number"]), 13), "孙 丽", None),
        str(BIRTH_TYPO["id_number"]),
        "birth-date typo",
    ),
    (
        (two_retyped(str(DAY_SEQ["id_number"]), 13, 15), "吴刚", "420704"),
        str(DAY_SEQ["id_number"]),
        "two digits of the day and sequence",
    ),
    (
        (two_retyped(str(DAY_SEQ_HOMOPHONE["id_number"]), 12, 16), "郭志名", None),
        str(DAY_SEQ_HOMOPHONE["id_number"]),
        "two digits of the day and sequence, and a homophone",
    ),
    (
        (rechecked(str(RECHECK["id_number"]), 9), "郭敏", "420702"),
        str(RECHECK["id_number"]),
        "one digit with the check character recomputed",
    ),
]
# Nobody: a different person born the same day in the same county as 张伟, one digit away,
# with a similar-sounding longer name; the same name as 李娜 with an unrelated number; a
# stranger; an empty number.
TRAPS: list[tuple[str, str, str | None]] = [
    (make_id("420702", dt.date(1980, 5, 17), 13), "张伟明", "420702"),
    (make_id("420702", dt.date(1991, 11, 11), 161), "李娜", "420702"),
    (make_id("420704", dt.date(1948, 8, 8), 117), "欧阳外来", "420704"),
    ("", "王静", "420702"),
    # Look-alikes: 张伟, born the same day, of another county of the city (enrolled there;
    # the same sequence, so the numbers are one digit apart), and of another province.
    (make_id("420704", dt.date(1980, 5, 17), 11), "张伟", "420704"),
    (make_id("110101", dt.date(1980, 5, 17), 11), "张伟", "110101"),
    # 吴刚's name and county, born the same month, two digits of the day and sequence
    # away, but another name: a stranger.
    (two_retyped(str(DAY_SEQ["id_number"]), 13, 15), "吴钢铁", "420704"),
]


@pytest.fixture(scope="module")
def population(crowd: list[dict[str, object]]) -> pa.Table:
    taken = {p["id_number"] for p in PLANTED}
    return population_table([p for p in crowd if p["id_number"] not in taken] + PLANTED)


@pytest.fixture(scope="module")
def matches(population: pa.Table) -> pa.Table:
    rows = [row for row, _, _ in CORRUPTED] + TRAPS
    return link_candidates(candidate_table(rows), population)


def test_the_corruptions_are_really_not_exact_matches(population: pa.Table) -> None:
    known = set(population.column("id_number").to_pylist())
    for (raw, _, _), _, kind in CORRUPTED:
        normalised = raw if len(raw) == 18 else raw[:6] + "19" + raw[6:]
        if len(normalised) == 17:
            normalised += id_number_check_char(normalised)
        assert normalised not in known, kind
    # Some of them still pass the check (a valid number of nobody), some do not.
    assert {is_valid_id_number(r[0]) for r, _, _ in CORRUPTED} == {True, False}


@pytest.mark.parametrize(("index", "kind"), [(i, k) for i, (_, _, k) in enumerate(CORRUPTED)])
def test_each_kind_of_corruption_is_matched_to_its_person(
    matches: pa.Table, index: int, kind: str
) -> None:
    by_row = {m["row"]: m for m in matches.to_pylist()}
    match = by_row.get(index + 1)
    assert match is not None, f"{kind} not matched"
    assert match["matched_id_number"] == CORRUPTED[index][1]
    assert 0.9 <= match["match_probability"] <= 0.9999


def test_the_levels_say_what_agreed(matches: pa.Table) -> None:
    by_row = {m["row"]: m for m in matches.to_pylist()}
    assert by_row[1]["id_level"] == "one_edit"  # one digit
    assert by_row[2]["id_level"] == "one_edit"  # two digits swapped
    assert by_row[3]["name_level"] == "homophone"
    assert by_row[4]["name_level"] == "exact"  # traditional, normalised
    assert by_row[5]["id_level"] == "old15"
    assert by_row[7]["birth_level"] == "different"
    assert by_row[8]["id_level"] == by_row[9]["id_level"] == "day_seq"
    assert by_row[9]["name_level"] == "homophone"
    assert by_row[10]["id_level"] == "one_edit"


def test_a_look_alike_of_another_county_is_held_back_by_the_county() -> None:
    """The same name and birth date, numbers one digit apart in the address: where the row
    says it lives in the county its number names, it is another person."""
    lenient = link_candidates(
        candidate_table([TRAPS[4]]), population_table([TYPO]), threshold=0.01
    ).to_pylist()
    assert [(m["id_level"], m["region_level"]) for m in lenient] == [("one_edit", "other_county")]
    assert lenient[0]["match_probability"] < 0.9


def test_the_population_record_holding_the_wrong_number_is_linked_and_named_to_correct() -> None:
    """The department has the right number; the population row a mistyped one (its check
    fails): the row is linked to that record, and the finding says to correct it."""
    right = make_id("420702", dt.date(1978, 2, 2), 167)
    wrong = retyped(right, 10)
    assert not is_valid_id_number(wrong)
    crowd_of_one = population_table([person(right, "罗平")])
    population = crowd_of_one.set_column(0, "id_number", pa.array([wrong])).append_column(
        "number_status", pa.array(["invalid"])
    )
    (match,) = link_candidates(candidate_table([(right, "罗平", "420702")]), population).to_pylist()
    assert (match["matched_id_number"], match["matched_number_status"]) == (wrong, "invalid")
    (finding,) = probable_match_findings(pa.Table.from_pylist([match])).to_pylist()
    detail = json.loads(finding["detail"])
    assert detail["correct"] == "population"
    assert "更正人口库" in detail["reason"]
    assert detail["differences"]["id_number"][0] == {
        "position": 11, "row": right[10], "population": wrong[10]
    }  # fmt: skip
    # A population row is never linked to itself (its invalid number is a candidate too).
    assert link_candidates(candidate_table([(wrong, "罗平", "420702")]), population).num_rows == 0


def test_traps_match_nobody(matches: pa.Table) -> None:
    trap_rows = set(range(len(CORRUPTED) + 1, len(CORRUPTED) + len(TRAPS) + 1))
    assert not trap_rows & set(matches.column("row").to_pylist())


def test_a_different_person_with_a_similar_name_stays_below_the_threshold(
    population: pa.Table,
) -> None:
    """Scored at all (the pair is blocked together), but well short of 0.9."""
    lenient = link_candidates(candidate_table(TRAPS[:1]), population, threshold=0.01)
    (pair,) = lenient.to_pylist()
    assert pair["matched_id_number"] == TYPO["id_number"]
    assert pair["match_probability"] < 0.9
    assert (pair["id_level"], pair["name_level"]) == ("one_edit", "similar")


def test_results_are_deterministic_whatever_the_order_of_the_inputs(
    population: pa.Table, matches: pa.Table
) -> None:
    rows = [row for row, _, _ in CORRUPTED] + TRAPS
    candidates = candidate_table(rows)
    again = link_candidates(candidates, population)
    assert again.equals(matches)
    shuffled_population = population.take(pa.array(random.Random(3).sample(
        range(population.num_rows), population.num_rows)))  # fmt: skip
    reversed_candidates = candidates.take(pa.array(range(candidates.num_rows - 1, -1, -1)))
    assert link_candidates(reversed_candidates, shuffled_population).equals(matches)


def test_ties_go_to_the_smaller_id_number() -> None:
    """Two persons equally near (same name, the typo one digit from each): the smaller
    number wins, whichever comes first."""
    a = make_id("420702", dt.date(1970, 1, 1), 11)
    b = make_id("420702", dt.date(1970, 1, 1), 31)
    assert a[:14] == b[:14] and a < b
    both = [person(a, "周平"), person(b, "周平")]
    between = a[:15] + "2" + a[16:]  # sequence 021: one digit from 011 and from 031
    candidates = candidate_table([(between, "周平", "420702")])
    for people in (both, both[::-1]):
        (match,) = link_candidates(candidates, population_table(people)).to_pylist()
        assert match["matched_id_number"] == a


def test_threshold_is_applied_to_the_rounded_probability(
    population: pa.Table, matches: pa.Table
) -> None:
    rows = [row for row, _, _ in CORRUPTED] + TRAPS
    strict = link_candidates(candidate_table(rows), population, threshold=0.9999)
    assert strict.num_rows < matches.num_rows
    assert set(strict.column("match_probability").to_pylist()) == {0.9999}


def test_no_candidates_or_no_population_gives_an_empty_table(population: pa.Table) -> None:
    empty = link_candidates(candidate_table([]), population)
    assert empty.num_rows == 0
    assert tuple(empty.column_names) == MATCH_COLUMNS
    nobody = link_candidates(candidate_table(TRAPS), population.slice(0, 0))
    assert nobody.num_rows == 0


def test_name_features_fold_traditional_spaces_dots_and_tones() -> None:
    frame = name_features(pl.Series(["劉德華", " 刘 德华 ", "王静", "王晶", "买买提·艾力", None]))
    rows = frame.to_dicts()
    assert rows[0] == rows[1] == {"name_norm": "刘德华", "name_py": "liudehua",
                                  "surname_py": "liu"}  # fmt: skip
    assert rows[2]["name_py"] == rows[3]["name_py"] == "wangjing"
    assert rows[2]["name_norm"] != rows[3]["name_norm"]
    assert rows[4]["name_norm"] == "买买提艾力"
    assert rows[5] == {"name_norm": None, "name_py": None, "surname_py": None}


def test_findings_carry_the_candidate_row_the_person_and_the_reason(matches: pa.Table) -> None:
    findings = probable_match_findings(matches)
    assert tuple(findings.column_names) == FINDINGS_COLUMNS
    assert set(findings.column("category").to_pylist()) == {"PROBABLE_MATCH"}
    first = findings.to_pylist()[0]
    raw_row, person_id, _ = CORRUPTED[0]
    assert (first["source"], first["row"], first["id_number"], first["name"]) == (
        "enrollment.csv", 1, raw_row[0], "张伟",
    )  # fmt: skip
    assert first["matched_id_number"] == person_id
    detail = json.loads(first["detail"])
    assert detail["matched"] == {"id_number": person_id, "name": "张伟"}
    assert "身份证号码相差一位数字或相邻两位颠倒" in detail["agreed"]
    assert "姓名一致（已作繁简转换和规范化）" in detail["agreed"]
    assert detail["reason"].startswith(f"很可能是公安人口库中的 {person_id}（匹配概率 0.")


def test_the_model_needs_the_number_and_the_name_to_agree() -> None:
    """The arithmetic of the fixed parameters: a one-digit typo with the same name clears
    0.9 even when nothing else is known; the same with a different name does not."""
    prior_bits = -20 + 0.05  # log2(1e-6) rounded up a little
    one_edit, exact_name = MODEL.id_number[2].bits, MODEL.name[0].bits
    different_name, similar_name = MODEL.name[3].bits, MODEL.name[2].bits
    needed = 3.17 - prior_bits  # log2(0.9 / 0.1) - log2(prior)
    assert one_edit + exact_name > needed
    best_else = sum(max(level.bits for level in levels) for levels in
                    (MODEL.birth_date, MODEL.gender, MODEL.region))  # fmt: skip
    assert one_edit + different_name + best_else < needed
    assert one_edit + similar_name + best_else < needed
