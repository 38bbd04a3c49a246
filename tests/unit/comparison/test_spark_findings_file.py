"""findings.csv as the Spark engine writes it (`sql_common.write_findings_csv`, shared with the
DuckDB engine's order): category order, then file and row, persons by ID number, and the
detail breaking the last tie, whatever order the findings arrive in."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa

from shebao.comparison.domain import FINDINGS_COLUMNS
from shebao.comparison.sql_common import FINDINGS_SCHEMA, write_findings_csv


def _finding(category: str, source: str | None, row: int | None, id_number: str, detail: str,
             probability: float | None = None) -> dict[str, object]:  # fmt: skip
    return {
        "category": category, "source": source, "row": row, "id_number": id_number,
        "name": "张三", "matched_id_number": None, "match_probability": probability,
        "detail": detail,
    }  # fmt: skip


def test_findings_are_ordered_by_category_file_row_person_and_detail(tmp_path: Path) -> None:
    shuffled = [
        _finding("DUPLICATE_ENROLLMENT", None, None, "B", '{"group":"pension"}'),
        _finding("PROBABLE_MATCH", "b.csv", 2, "X", "{}", 0.9731),
        _finding("INVALID_ID", "b.csv", 1, "x1", "{}"),
        _finding("DUPLICATE_ENROLLMENT", None, None, "B", '{"group":"medical"}'),
        _finding("INVALID_ID", "a.csv", 7, "x2", "{}"),
        _finding("DUPLICATE_ENROLLMENT", None, None, "A", '{"group":"pension"}'),
        _finding("INVALID_ID", "a.csv", 3, "x3", "{}"),
    ]
    path = tmp_path / "findings.csv"
    table = pa.Table.from_pylist(shuffled, schema=FINDINGS_SCHEMA)
    assert write_findings_csv(table, ["a.csv", "b.csv"], path) == len(shuffled)
    with path.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == list(FINDINGS_COLUMNS)
    assert [(c, s, r, i, d) for c, s, r, i, _, _, _, d in lines[1:]] == [
        ("INVALID_ID", "a.csv", "3", "x3", "{}"),
        ("INVALID_ID", "a.csv", "7", "x2", "{}"),
        ("INVALID_ID", "b.csv", "1", "x1", "{}"),
        ("DUPLICATE_ENROLLMENT", "", "", "A", '{"group":"pension"}'),
        ("DUPLICATE_ENROLLMENT", "", "", "B", '{"group":"medical"}'),
        ("DUPLICATE_ENROLLMENT", "", "", "B", '{"group":"pension"}'),
        ("PROBABLE_MATCH", "b.csv", "2", "X", "{}"),
    ]
    assert lines[-1][6] == "0.9731"


def test_no_findings_is_a_header_alone(tmp_path: Path) -> None:
    path = tmp_path / "findings.csv"
    assert write_findings_csv(FINDINGS_SCHEMA.empty_table(), [], path) == 0
    assert path.read_text(encoding="utf-8").splitlines() == [",".join(FINDINGS_COLUMNS)]
