"""`shebao compare-files --out DIR [--engine duckdb|spark] [--as-of YYYY-MM-DD]
[--threshold P] KIND=PATH ...`: the file contract of the comparison.

Writes DIR/findings.csv, DIR/coverage.csv, DIR/summary.json, DIR/rejected.csv and the
standardised snapshots (DIR/snapshots/). Exit code 0 on success; on unusable input a Chinese
message and exit code 1. Touches no database.

Tuning without changing the command line: SHEBAO_DUCKDB_MEMORY_LIMIT (e.g. 6GB; DuckDB
spills to disk beyond it) and SHEBAO_DUCKDB_THREADS; for --engine spark (Java 17 needed),
SHEBAO_SPARK_MASTER (default local[2]) and SHEBAO_SPARK_DRIVER_MEMORY (default 1g).
"""

from __future__ import annotations

import math
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.comparison.domain import DEFAULT_THRESHOLD, Category
from shebao.comparison.pipeline import ENGINE_NAMES, compare_files, parse_input_argument
from shebao.errors import ShebaoError
from shebao.identity._issues import today_in_china
from shebao.intake.formats import SourceKind
from shebao.intake.formats.errors import command_line_message


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"比对基准日期“{value}”无效，应为 YYYY-MM-DD") from None


def _threshold(value: str) -> float:
    """The --threshold value: a number with 0 < P <= 1."""
    try:
        threshold = float(value)
    except ValueError:
        threshold = math.nan
    if not 0 < threshold <= 1:  # NaN fails too
        raise CommandError(f"匹配概率阈值应在0到1之间（不含0，可为1），收到“{value}”")
    return threshold


def _engine_options(engine: str) -> dict[str, Any]:
    if engine == "spark":
        spark: dict[str, Any] = {}
        if master := os.environ.get("SHEBAO_SPARK_MASTER"):
            spark["master"] = master
        if memory := os.environ.get("SHEBAO_SPARK_DRIVER_MEMORY"):
            spark["driver_memory"] = memory
        return spark
    if engine != "duckdb":
        return {}
    options: dict[str, Any] = {}
    # DuckDB's own default is 80 % of the machine; 5 GB keeps a 10-million-person run (with
    # the linkage's Splink connection beside it) under 8 GB of peak memory, spilling to disk.
    options["memory_limit"] = os.environ.get("SHEBAO_DUCKDB_MEMORY_LIMIT", "5GB")
    if threads := os.environ.get("SHEBAO_DUCKDB_THREADS"):
        if not threads.isdigit():
            raise CommandError(f"SHEBAO_DUCKDB_THREADS 应为正整数，收到“{threads}”")
        options["threads"] = int(threads)
    return options


class Command(BaseCommand):
    help = (
        "比对部门数据文件（KIND=PATH，KIND 为 "
        + "、".join(k.value for k in SourceKind)
        + "），输出 findings.csv、coverage.csv、summary.json"
    )
    requires_system_checks: list[str] = []  # a file tool: no database, no checks needed

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("inputs", nargs="+", metavar="KIND=PATH", help="数据文件")
        parser.add_argument("--out", required=True, type=Path, help="输出目录")
        parser.add_argument("--engine", default="duckdb", help="比对引擎：duckdb（默认）或 spark")
        parser.add_argument("--as-of", dest="as_of", default=None, help="比对基准日期，默认今天")
        parser.add_argument(
            "--threshold",
            default=str(DEFAULT_THRESHOLD),
            help=f"疑似同一人的匹配概率阈值（默认 {DEFAULT_THRESHOLD}）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        engine = options["engine"]
        if engine not in ENGINE_NAMES:
            raise CommandError(f"未知的比对引擎“{engine}”，可选：{'、'.join(ENGINE_NAMES)}")
        as_of = _as_of(options["as_of"]) if options["as_of"] else today_in_china()
        threshold = _threshold(str(options["threshold"]))
        verbose = int(options.get("verbosity", 1)) >= 1

        def progress(message: str) -> None:
            if verbose:
                print(message, file=sys.stderr, flush=True)

        try:
            inputs = [parse_input_argument(a) for a in options["inputs"]]
            result = compare_files(
                inputs=inputs,
                out_dir=options["out"],
                engine=engine,
                as_of=as_of,
                threshold=threshold,
                progress=progress,
                engine_options=_engine_options(engine),
            )
        except ShebaoError as error:
            raise CommandError(command_line_message(error)) from error
        summary = result.summary
        lines = [f"比对完成（{engine}，基准日期 {as_of.isoformat()}），输出目录 {result.out_dir}"]
        for category, count in summary["counts"].items():
            lines.append(f"  {Category(category).label}（{category}）：{count:,}")
        for category, reason in summary["skipped"].items():
            lines.append(f"  未计算 {category}：{reason}")
        rejected = sum(summary["rejected_rows_per_source"].values())
        lines.append(
            f"  拒收行：{rejected:,}（见 rejected.csv）；用时 {summary['timings']['total']:.1f} 秒"
        )
        self.stdout.write("\n".join(lines))
