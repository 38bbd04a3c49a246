"""The comparison pipeline, the same for every engine, and the `compare-files` file contract.

    run_comparison(engine=..., sources=[SourceSnapshot, ...], as_of=..., out_dir=...)
        one engine over standardised snapshots → findings.csv, coverage.csv; counts, timings

    compare_files(inputs=[(kind or None, path), ...], out_dir=..., engine="duckdb", as_of=...)
        reads and standardises the department files (intake), writes the snapshots and
        rejected.csv, runs the comparison, writes summary.json

Pure: no Django. The management command `compare_files` only parses arguments.
"""

from __future__ import annotations

import csv
import json
import math
import os
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa

from shebao.comparison.domain import (
    COVERAGE_COLUMNS,
    DEFAULT_THRESHOLD,
    REJECTED_COLUMNS,
    Category,
    CoverageRow,
    Finding,
    category_skip_reason,
)
from shebao.comparison.ports import (
    ComparisonEngine,
    ComparisonError,
    ComparisonErrorCode,
    SourceSnapshot,
)
from shebao.comparison.sql_common import COMPARED_FIELDS
from shebao.identity.spreadsheet import safe_csv_writer
from shebao.intake.formats import (
    SourceKind,
    parse_source,
    register_intake_macros,
)

__all__ = [
    "ENGINE_NAMES",
    "CompareFilesResult",
    "ComparisonResult",
    "compare_files",
    "engine_create",
    "parse_input_argument",
    "read_findings",
    "run_comparison",
]

ENGINE_NAMES: Final[tuple[str, ...]] = ("duckdb", "spark")
FINDINGS_FILE: Final[str] = "findings.csv"
COVERAGE_FILE: Final[str] = "coverage.csv"
SUMMARY_FILE: Final[str] = "summary.json"
REJECTED_FILE: Final[str] = "rejected.csv"
SNAPSHOT_DIR: Final[str] = "snapshots"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def _peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def engine_create(name: str, **options: Any) -> ComparisonEngine:
    """The engine called `name`; refuses engines that are not available, before any work."""
    if name == "duckdb":
        from shebao.comparison.duckdb_engine import DuckDBEngine

        try:
            return DuckDBEngine(**options)
        except duckdb.Error as error:
            raise ComparisonError(
                ComparisonErrorCode.BAD_ARGUMENT, f"DuckDB 比对引擎的设置无效：{error}"
            ) from error
    if name == "spark":
        from shebao.comparison.spark_engine import SparkEngine

        return SparkEngine(**options)  # ENGINE_UNAVAILABLE (in Chinese) without Java
    raise ComparisonError(
        ComparisonErrorCode.BAD_ARGUMENT,
        f"未知的比对引擎“{name}”，可选：{'、'.join(ENGINE_NAMES)}",
    )


@dataclass
class ComparisonResult:
    counts: dict[str, int]  # category -> findings
    skipped: dict[str, str]  # category -> why it was not computed
    coverage: list[CoverageRow]
    timings: dict[str, float] = field(default_factory=dict)
    findings: int = 0
    # The process's peak memory after each stage (MB), to tell which stage sets it.
    peak_rss_mb: dict[str, float] = field(default_factory=dict)


def run_comparison(
    *,
    engine: ComparisonEngine,
    sources: Sequence[SourceSnapshot],
    as_of: date,
    out_dir: Path,
    county_names: dict[str, str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Progress = _quiet,
) -> ComparisonResult:
    """Run every category on `engine` and write findings.csv and coverage.csv to `out_dir`.

    The deterministic categories come first; then the rows they flagged INVALID_ID or
    NOT_IN_POPULATION are linked to the population base (`linkage`), and the probable
    matches reaching `threshold` become PROBABLE_MATCH findings. A probable match changes no
    other finding: those are decided on exact ID numbers only."""
    timings: dict[str, float] = {}
    kinds = frozenset(s.kind for s in sources)
    started = time.perf_counter()
    progress("读取标准化数据并校验身份证号码")
    engine.load(list(sources), as_of=as_of)
    timings["load"] = time.perf_counter() - started
    peak: dict[str, float] = {"load": _peak_rss_mb()}

    counts: dict[str, int] = {}
    skipped: dict[str, str] = {}
    for category in Category:
        reason = category_skip_reason(category, kinds)
        if reason is not None:
            skipped[category.value] = reason
            continue
        step = time.perf_counter()
        if category is Category.PROBABLE_MATCH:
            counts[category.value] = _probable_match(engine, threshold, progress, timings)
        else:
            counts[category.value] = engine.find(category)
        timings[f"category.{category.value}"] = time.perf_counter() - step
        peak[f"category.{category.value}"] = _peak_rss_mb()
        progress(f"{category.label}（{category.value}）：{counts[category.value]:,} 条")

    step = time.perf_counter()
    total = engine.write_findings(out_dir / FINDINGS_FILE)
    timings["write_findings"] = time.perf_counter() - step

    step = time.perf_counter()
    names = county_names if county_names is not None else _county_names()
    coverage = [
        CoverageRow(
            county_code=row.county_code,
            county_name=names.get(row.county_code, ""),
            population=row.population,
            pension_eligible=row.pension_eligible,
            pension_insured=row.pension_insured,
            medical_insured=row.medical_insured,
        )
        for row in engine.coverage()
    ]
    write_coverage_csv(out_dir / COVERAGE_FILE, coverage)
    timings["coverage"] = time.perf_counter() - step
    peak["results"] = _peak_rss_mb()
    return ComparisonResult(counts, skipped, coverage, timings, total, peak)


def _probable_match(
    engine: ComparisonEngine, threshold: float, progress: Progress, timings: dict[str, float]
) -> int:
    from shebao.comparison.linkage import link_candidates, probable_match_findings

    step = time.perf_counter()
    candidates = engine.linkage_candidates()
    population = engine.linkage_population()
    timings["linkage.inputs"] = time.perf_counter() - step
    progress(f"概率匹配：{candidates.num_rows:,} 行待匹配（身份证号码无效或人口库中无此号码）")
    if candidates.num_rows == 0:
        return 0
    stages: dict[str, float] = {}
    matches = link_candidates(candidates, population, threshold=threshold, timings=stages)
    timings.update({f"linkage.{stage}": value for stage, value in stages.items()})
    return engine.add_findings(probable_match_findings(matches))


def _county_names() -> dict[str, str]:
    from shebao.geo.data import division_table

    return {row.code: row.name for row in division_table().rows if len(row.code) == 6}


def read_findings(path: Path) -> list[Finding]:
    """findings.csv back as `Finding`s (detail parsed), for callers that load results."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Finding(
                category=Category(line["category"]),
                source=line["source"] or None,
                row=int(line["row"]) if line["row"] else None,
                id_number=line["id_number"],
                name=line["name"] or None,
                detail=json.loads(line["detail"]) if line["detail"] else {},
                matched_id_number=line["matched_id_number"] or None,
                match_probability=(
                    float(line["match_probability"]) if line["match_probability"] else None
                ),
            )
            for line in csv.DictReader(handle)
        ]


def _rate(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.4f}"


def write_coverage_csv(path: Path, rows: Sequence[CoverageRow]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COVERAGE_COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    row.county_code,
                    row.county_name,
                    row.population,
                    row.pension_eligible,
                    row.pension_insured,
                    row.medical_insured,
                    _rate(row.pension_rate),
                    _rate(row.medical_rate),
                ]
            )


# --- the compare-files contract ----------------------------------------------------------


def parse_input_argument(argument: str) -> tuple[SourceKind | None, Path]:
    """`KIND=PATH` or a bare `PATH` (kind recognised from the headers later)."""
    prefix, sep, rest = argument.partition("=")
    if sep:
        try:
            return SourceKind(prefix.strip().lower()), Path(rest)
        except ValueError:
            if not Path(argument).exists():
                kinds = "、".join(k.value for k in SourceKind)
                raise ComparisonError(
                    ComparisonErrorCode.BAD_ARGUMENT,
                    f"未知的数据类型“{prefix}”（{argument}），可选：{kinds}",
                ) from None
    return None, Path(argument)


@dataclass
class CompareFilesResult:
    out_dir: Path
    summary: dict[str, Any]
    comparison: ComparisonResult


def compare_files(
    *,
    inputs: Sequence[tuple[SourceKind | None, Path]],
    out_dir: Path,
    engine: str = "duckdb",
    as_of: date,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Progress = _quiet,
    engine_options: dict[str, Any] | None = None,
) -> CompareFilesResult:
    """Read the department files, compare them, and write into `out_dir`: findings.csv,
    coverage.csv, summary.json, rejected.csv and snapshots/*.parquet (the standardised
    fields the comparison reads).

    Raises IntakeError or ComparisonError (Chinese message) on unusable input; nothing of the
    comparison is written then, and the result files of an earlier run in `out_dir` are gone
    (so that they cannot pass for this run's).
    """
    started = time.perf_counter()
    if not inputs:
        raise ComparisonError(ComparisonErrorCode.NO_SOURCES, "请至少提供一个数据文件（类型=路径）")
    if not 0 < threshold <= 1:
        raise ComparisonError(
            ComparisonErrorCode.BAD_ARGUMENT, f"匹配概率阈值应在0到1之间（不含0），收到 {threshold}"
        )
    names = [path.name for _, path in inputs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ComparisonError(
            ComparisonErrorCode.DUPLICATE_SOURCE,
            f"文件名重复：{'、'.join(repeated)}。比对结果以文件名标明来源，请改名后重试",
        )
    # An unavailable engine is refused before any file is read.
    comparison_engine = engine_create(engine, **(engine_options or {}))
    outputs = [out_dir / f for f in (FINDINGS_FILE, COVERAGE_FILE, SUMMARY_FILE, REJECTED_FILE)]
    snapshots_dir = out_dir / SNAPSHOT_DIR
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        # Results of an earlier run must not pass for this run's if this one fails.
        for stale in [*outputs, *snapshots_dir.glob("*.parquet")]:
            stale.unlink(missing_ok=True)
        snapshots_dir.mkdir(exist_ok=True)
        snapshots, records, rejected, intake_timings = _intake(
            inputs, snapshots_dir, out_dir, progress, written
        )
        _write_rejected(out_dir / REJECTED_FILE, rejected)
        intake_peak = _peak_rss_mb()
        result = run_comparison(
            engine=comparison_engine,
            sources=snapshots,
            as_of=as_of,
            out_dir=out_dir,
            threshold=threshold,
            progress=progress,
        )
    except BaseException:
        for path in [*written, *outputs]:
            path.unlink(missing_ok=True)
        raise
    finally:
        comparison_engine.close()
    timings: dict[str, Any] = {"intake": intake_timings, **result.timings}
    timings["total"] = time.perf_counter() - started
    summary = {
        "engine": engine,
        "as_of": as_of.isoformat(),
        "threshold": threshold,
        "findings": result.findings,
        "counts": result.counts,
        "skipped": result.skipped,
        "rows_per_source": {r["source"]: r["rows_read"] for r in records},
        "rejected_rows_per_source": {r["source"]: r["rows_rejected"] for r in records},
        "sources": records,
        "coverage_total": _coverage_total(result.coverage),
        "timings": timings,
        "peak_rss_mb": {"intake": intake_peak, **result.peak_rss_mb},
    }
    with (out_dir / SUMMARY_FILE).open("w", encoding="utf-8") as handle:
        json.dump(summary, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    return CompareFilesResult(out_dir, summary, result)


def _intake(
    inputs: Sequence[tuple[SourceKind | None, Path]],
    snapshots_dir: Path,
    out_dir: Path,
    progress: Progress,
    written: list[Path],
) -> tuple[list[SourceSnapshot], list[dict[str, Any]], list[pa.Table], dict[str, float]]:
    snapshots: list[SourceSnapshot] = []
    records: list[dict[str, Any]] = []
    rejected: list[pa.Table] = []
    timings: dict[str, float] = {}
    con = duckdb.connect()
    try:
        register_intake_macros(con)
        for index, (kind, path) in enumerate(inputs, start=1):
            step = time.perf_counter()
            progress(f"读取 {path.name}")
            target = snapshots_dir / f"{index:02d}-{Path(path.name).stem}.parquet"
            written.append(target)
            # Only the fields the engines read are standardised (the rejections are the
            # same): a birth date or a household number nobody compares costs as much to
            # parse and write as a field that is compared.
            parsed = parse_source(path, kind, con=con, snapshot=target, fields=COMPARED_FIELDS)
            snapshots.append(
                SourceSnapshot(
                    parsed.kind, parsed.source, target, parsed.rows_accepted, parsed.columns
                )
            )
            rejected.append(parsed.rejected)
            records.append(
                {
                    "source": parsed.source,
                    "kind": parsed.kind.value,
                    "path": str(path),
                    "format": parsed.file_format,
                    "encoding": parsed.encoding,
                    "header_line": parsed.header_line,
                    "columns": parsed.columns,
                    "rows_read": parsed.rows_read,
                    "rows_accepted": parsed.rows_accepted,
                    "rows_rejected": parsed.rows_rejected,
                    "snapshot": os.path.relpath(target, out_dir),
                }
            )
            timings[parsed.source] = time.perf_counter() - step
            progress(
                f"{parsed.source}（{parsed.kind.label}）：{parsed.rows_read:,} 行，"
                f"拒收 {parsed.rows_rejected:,} 行"
            )
    finally:
        con.close()
    return snapshots, records, rejected, timings


def _write_rejected(path: Path, tables: Sequence[pa.Table]) -> None:
    """rejected.csv, quoting only where needed (as findings.csv and coverage.csv do)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        # Rejected rows carry department data as typed: keep it from running in a spreadsheet.
        writer = safe_csv_writer(handle)
        writer.writerow(REJECTED_COLUMNS)
        for table in tables:
            for batch in table.select(list(REJECTED_COLUMNS)).to_batches(max_chunksize=65_536):
                columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                writer.writerows(zip(*columns, strict=True))


def _coverage_total(rows: Sequence[CoverageRow]) -> dict[str, Any]:
    total = CoverageRow(
        county_code="",
        county_name="合计",
        population=sum(r.population for r in rows),
        pension_eligible=sum(r.pension_eligible for r in rows),
        pension_insured=sum(r.pension_insured for r in rows),
        medical_insured=sum(r.medical_insured for r in rows),
    )
    return {
        "population": total.population,
        "pension_eligible": total.pension_eligible,
        "pension_insured": total.pension_insured,
        "medical_insured": total.medical_insured,
        "pension_rate": total.pension_rate,
        "medical_rate": total.medical_rate,
    }
