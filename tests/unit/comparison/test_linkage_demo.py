"""The demo's planted probable matches: rows of the enrollment file rewritten as departments
mistype them, each one still linked to its person; planting twice changes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from shebao.comparison.demo import probable_match_demo_plant
from shebao.comparison.linkage import link_candidates
from shebao.identity.id_number import id_number_check_char, normalize_id_number

pytestmark = pytest.mark.unit

NAMES = ["张静", "李伟", "王明", "刘华", "陈军", "杨丽", "赵芳", "黄红", "周英", "吴平"]


def make_id(seq: int, year: int) -> str:
    body = f"420702{year}0{1 + seq % 9}1{seq % 10}{seq:03d}"
    return body + id_number_check_char(body)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, list[str]]:
    ids = [make_id(i, 1950 + i if i % 3 else 2000 + i % 10) for i in range(1, 41)]
    names = [NAMES[i % len(NAMES)] for i in range(40)]
    path = tmp_path / "enrollment.csv"
    pl.DataFrame(
        {
            "公民身份号码": ids,
            "姓名": names,
            "险种代码": ["110"] * 40,
            "参保状态": ["参保缴费"] * 40,
            "参保地区划代码": ["420702"] * 40,
        }
    ).write_csv(path)
    return path, ids


def test_planted_rows_are_mistyped_and_still_found(files: tuple[Path, list[str]]) -> None:
    path, ids = files
    assert probable_match_demo_plant(path, count=10) == 10
    planted = pl.read_csv(path, infer_schema=False)
    changed = [i for i, raw in enumerate(planted["公民身份号码"]) if raw != ids[i]]
    assert len(changed) == 10
    assert all(normalize_id_number(planted["公民身份号码"][i]) != ids[i] for i in changed)
    assert planted["险种代码"].to_list() == ["110"] * 40  # only numbers and names change

    population = pa.table(
        {
            "id_number": ids,
            "name": [NAMES[i % len(NAMES)] for i in range(40)],
            "birth_date": pa.array(
                [dt.datetime.strptime(i[6:14], "%Y%m%d").date() for i in ids],  # noqa: DTZ007
                pa.date32(),
            ),
            "gender": ["1" if int(i[16]) % 2 else "2" for i in ids],
            "region": ["420702"] * 40,
        }
    )
    rows = [planted.row(i, named=True) for i in changed]
    candidates = pa.table(
        {
            "source": ["enrollment.csv"] * len(rows),
            "row": pa.array([i + 1 for i in changed], pa.int64()),
            "id_number": [r["公民身份号码"] for r in rows],
            "name": [r["姓名"] for r in rows],
            "birth_date": pa.array([None] * len(rows), pa.date32()),
            "gender": pa.array([None] * len(rows), pa.string()),
            "region": [r["参保地区划代码"] for r in rows],
        }
    )
    matches = link_candidates(candidates, population)
    found = dict(zip(matches["row"].to_pylist(), matches["matched_id_number"].to_pylist(),
                     strict=True))  # fmt: skip
    assert found == {i + 1: ids[i] for i in changed}


def test_planting_twice_changes_nothing(files: tuple[Path, list[str]]) -> None:
    path, _ = files
    probable_match_demo_plant(path, count=10)
    once = path.read_bytes()
    assert probable_match_demo_plant(path, count=10) == 0
    assert path.read_bytes() == once
