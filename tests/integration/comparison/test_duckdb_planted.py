"""The DuckDB engine on the planted population: every category exactly as planted, every trap
(15-digit numbers, full-width digits, lower-case x, traditional names, GB18030, title rows in
XLSX) silent, rejected rows kept out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from shebao.comparison.domain import FINDINGS_COLUMNS, Category, Finding, Level
from shebao.comparison.pipeline import compare_files, parse_input_argument, read_findings

from .conftest import AS_OF, Planted

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def out(planted: Planted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("out")
    compare_files(
        inputs=[parse_input_argument(a) for a in planted.inputs],
        out_dir=directory,
        as_of=AS_OF,
    )
    return directory


def findings(out: Path, category: str | None = None) -> list[Finding]:
    return [f for f in read_findings(out / "findings.csv") if category in (None, f.category)]


def found(out: Path, category: str) -> set[tuple[str, int | None, str]]:
    return {(f.source or "", f.row, f.id_number) for f in findings(out, category)}


def test_findings_file_has_the_contract_header(out: Path) -> None:
    with (out / "findings.csv").open(encoding="utf-8") as handle:
        assert handle.readline().rstrip("\r\n") == ",".join(FINDINGS_COLUMNS)


@pytest.mark.parametrize("category", [c.value for c in Category])
def test_each_category_is_exactly_what_was_planted(
    out: Path, planted: Planted, category: str
) -> None:
    assert found(out, category) == planted.expected_of(category)


def test_nothing_else_is_found(out: Path, planted: Planted) -> None:
    assert {f.category for f in findings(out)} == {c for c, *_ in planted.expected}
    assert len(findings(out)) == len(planted.expected)


def test_person_level_findings_have_no_source_and_carry_the_population_name(
    out: Path, planted: Planted
) -> None:
    for f in findings(out):
        if f.category.level is Level.PERSON:
            assert (f.source, f.row) == (None, None)
            if f.id_number in planted.names:
                assert f.name == planted.names[f.id_number]


def test_evidence_names_files_rows_and_fields(out: Path) -> None:
    by_source = {f.source: f.detail for f in findings(out, "INVALID_ID")}
    assert by_source["population.csv"]["error"] == "BAD_BIRTH_DATE"
    assert by_source["enrollment.xlsx"]["error"] == "BAD_CHECK"
    assert by_source["enrollment.xlsx"]["column"] == "身份证号码"  # as headed in the file
    assert by_source["student.csv"]["error"] == "EMPTY"

    (mismatch,) = findings(out, "NAME_MISMATCH")
    assert (mismatch.name, mismatch.detail["population_names"]) == ("张三丰", ["张三"])
    assert mismatch.detail["population"]["source"] == "population.csv"

    groups = {f.detail["group"]: f.detail for f in findings(out, "DUPLICATE_ENROLLMENT")}
    assert [
        (e["source"], e["scheme_code"], e["region_code"]) for e in groups["medical"]["enrollments"]
    ] == [("enrollment.xlsx", "390", "420702"), ("enrollment2.csv", "390", "420704")]
    assert [e["scheme_code"] for e in groups["pension"]["enrollments"]] == ["110", "170"]

    duplicates = [f.detail for f in findings(out, "DUPLICATE_RECORD")]
    assert sorted(len(d["rows"]) for d in duplicates) == [2, 2]
    assert {d["scheme_code"] for d in duplicates} == {"110", None}


def test_uninsured_evidence_lists_the_records_that_did_not_count(out: Path) -> None:
    pension = [f.detail for f in findings(out, "PENSION_UNINSURED")]
    terminated = [d for d in pension if d["records"]]
    assert len(terminated) == 1
    assert terminated[0]["county_code"] == "420704"
    records = [(r["scheme_code"], r["status"]) for r in terminated[0]["records"]]
    assert records == [("110", "终止参保")]
    # 57: 黄梅, whose population record holds a mistyped number (see PROBABLE_MATCH).
    assert sorted(d["age"] for d in pension) == [16, 34, 57, 60]


def test_deceased_and_prison_evidence(out: Path) -> None:
    dead = [f.detail for f in findings(out, "DECEASED_ACTIVE")]
    sources = sorted(sorted(d["source"] for d in x["death"]) for x in dead)
    assert sources == [["death.csv"], ["death.csv"], ["population.csv"]]
    prison = [f.detail for f in findings(out, "IMPRISONED_BENEFIT")]
    assert sorted(p["prison"][0]["end"] or "" for p in prison) == ["", AS_OF.isoformat()]


def test_probable_matches_name_the_person_with_a_probability_and_why(
    out: Path, planted: Planted
) -> None:
    matches = findings(out, "PROBABLE_MATCH")
    assert {(f.source, f.row): f.matched_id_number for f in matches} == planted.matches
    for f in matches:
        assert f.match_probability is not None
        assert 0.9 <= f.match_probability < 1
        assert f.detail["matched"]["id_number"] == f.matched_id_number
        assert f.detail["matched"]["name"] == planted.names[f.matched_id_number]
        assert f.detail["reason"].startswith(f"很可能是公安人口库中的 {f.matched_id_number}")
    detail = {f.name: f.detail for f in matches}
    assert "姓名读音相同（同音字）" in detail["王晶"]["agreed"]
    assert "姓名一致（已作繁简转换和规范化）" in detail["劉濤"]["agreed"]
    assert "身份证号码与15位旧号码一致" in detail["陈晨"]["agreed"]
    assert "身份证号码相差一位数字或相邻两位颠倒" in detail["杨帆"]["agreed"]
    assert detail["吴钢"]["comparisons"]["id_number"].startswith("身份证号码出生日和顺序码中两位")
    # The day's second digit and a sequence digit (the check character may differ as well).
    positions = [d["position"] for d in detail["吴钢"]["differences"]["id_number"]]
    assert [p for p in positions if p != 18] == [14, 16]
    assert detail["吴钢"]["differences"]["name"] == [
        {"position": 2, "row": "钢", "population": "刚", "kind": "同音"}
    ]
    # Only where the population side holds the wrong number is it the one to correct.
    corrected = {f.matched_id_number for f in matches if f.detail.get("correct") == "population"}
    assert corrected == {planted.tags["population_invalid"], planted.tags["population_unused"]}
    for f in matches:
        if f.matched_id_number in corrected:
            assert "更正人口库" in f.detail["reason"]


def test_probability_is_written_with_four_decimals_at_most(out: Path) -> None:
    with (out / "findings.csv").open(encoding="utf-8", newline="") as handle:
        written = [r["match_probability"] for r in csv.DictReader(handle)]
    probabilities = [w for w in written if w]
    assert probabilities
    assert all(len(w.partition(".")[2]) <= 4 for w in probabilities)


def test_a_higher_threshold_keeps_fewer_matches_and_nothing_else_changes(
    out: Path, planted: Planted, tmp_path: Path
) -> None:
    strict = tmp_path / "strict"
    compare_files(
        inputs=[parse_input_argument(a) for a in planted.inputs],
        out_dir=strict,
        as_of=AS_OF,
        threshold=0.9999,
    )
    kept = findings(strict, "PROBABLE_MATCH")
    assert all(f.match_probability == 0.9999 for f in kept)
    assert len(kept) < len(findings(out, "PROBABLE_MATCH"))
    others = [f for f in findings(out) if f.category != "PROBABLE_MATCH"]
    assert [f for f in findings(strict) if f.category != "PROBABLE_MATCH"] == others


def test_rejected_rows_are_reported_with_row_column_and_reason(out: Path, planted: Planted) -> None:
    with (out / "rejected.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["source"], int(r["row"]), r["column"], r["code"]) for r in rows} == planted.rejected
    assert all(r["reason"] for r in rows)


def test_summary_counts_rows_rejections_and_timings(out: Path, planted: Planted) -> None:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    expected_counts = {c.value: 0 for c in Category}
    for category, *_ in planted.expected:
        expected_counts[category] += 1
    assert summary["counts"] == expected_counts
    assert summary["skipped"] == {}
    assert summary["threshold"] == 0.9
    sizes = {file: len(rows) for file, rows in planted.rows.items()}
    assert summary["rows_per_source"] == {**sizes, "employer.csv": 1}
    assert summary["rejected_rows_per_source"] == {
        **dict.fromkeys(sizes, 0), "enrollment.xlsx": 2, "death.csv": 2, "employer.csv": 0,
    }  # fmt: skip
    kinds = {s["source"]: s["kind"] for s in summary["sources"]}
    assert (kinds["enrollment2.csv"], kinds["prison.parquet"]) == ("enrollment", "prison")
    encodings = {s["source"]: s["encoding"] for s in summary["sources"]}
    assert (encodings["benefit.csv"], encodings["population.csv"]) == ("gb18030", "utf-8")
    assert {s["source"]: s["header_line"] for s in summary["sources"]}["enrollment.xlsx"] == 4
    assert summary["timings"]["total"] > 0


def test_coverage_per_county(out: Path) -> None:
    with (out / "coverage.csv").open(encoding="utf-8", newline="") as handle:
        rows = {r["county_code"]: r for r in csv.DictReader(handle)}
    # 420704: only 黄河 (pension uninsured, medical insured).
    assert rows["420704"] == {
        "county_code": "420704",
        "county_name": "鄂城区",
        "population": "1",
        "pension_eligible": "1",
        "pension_insured": "0",
        "medical_insured": "1",
        "pension_rate": "0.0000",
        "medical_rate": "1.0000",
    }


def test_without_a_population_base_the_population_comparisons_are_skipped(
    planted: Planted, tmp_path: Path
) -> None:
    inputs = [a for a in planted.inputs if "population" not in a]
    result = compare_files(
        inputs=[parse_input_argument(a) for a in inputs], out_dir=tmp_path, as_of=AS_OF
    )
    assert {"NOT_IN_POPULATION", "NAME_MISMATCH", "PROBABLE_MATCH"} == set(
        result.summary["skipped"]
    )
    # Person-level categories that need no population base still stand, except where the
    # death was known only to the population base.
    dead_by_population = ("", None, planted.tags["dead_by_population_only"])
    assert found(tmp_path, "DECEASED_ACTIVE") == (
        planted.expected_of("DECEASED_ACTIVE") - {dead_by_population}
    )
    assert found(tmp_path, "IMPRISONED_BENEFIT") == planted.expected_of("IMPRISONED_BENEFIT")
    assert not found(tmp_path, "PENSION_UNINSURED")
