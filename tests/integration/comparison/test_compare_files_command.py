"""`shebao compare-files`: the command line and file contract, end to end."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from shebao.comparison.domain import COVERAGE_COLUMNS, FINDINGS_COLUMNS, REJECTED_COLUMNS

from .conftest import Planted

pytestmark = pytest.mark.integration


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a child process (exit codes, stderr)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "shebao", "compare-files", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        check=False,
    )


def header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def test_console_script_writes_the_contract_files(planted: Planted, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_cli("--out", str(out), "--as-of", "2026-06-30", *planted.inputs, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert header(out / "findings.csv") == list(FINDINGS_COLUMNS)
    assert header(out / "coverage.csv") == list(COVERAGE_COLUMNS)
    assert header(out / "rejected.csv") == list(REJECTED_COLUMNS)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["engine"] == "duckdb"
    assert summary["as_of"] == "2026-06-30"
    assert sum(summary["counts"].values()) == len(planted.expected)
    assert "比对完成" in done.stdout
    assert sorted(p.suffix for p in (out / "snapshots").iterdir()) == [".parquet"] * 8


def test_call_command_defaults_as_of_to_today(planted: Planted, tmp_path: Path) -> None:
    out = tmp_path / "out"
    call_command("compare_files", *planted.inputs, out=out, verbosity=0)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    from shebao.identity._issues import today_in_china

    assert summary["as_of"] == today_in_china().isoformat()
    assert summary["threshold"] == 0.9


def test_missing_required_column_refuses_the_file_with_a_chinese_message(
    planted: Planted, tmp_path: Path
) -> None:
    broken = tmp_path / "参保.csv"
    broken.write_text("公民身份号码,姓名,险种代码\n420702198005170110,张伟,110\n", encoding="utf-8")
    out = tmp_path / "out"
    done = run_cli(
        "--out", str(out), f"population={planted.path('population.csv')}",
        f"enrollment={broken}", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode != 0
    assert "参保.csv" in done.stderr
    assert "缺少必需列：参保状态、参保地区划代码" in done.stderr
    assert not (out / "findings.csv").exists()
    assert not list((out / "snapshots").glob("*.parquet"))


def test_spark_engine_without_java_is_refused_before_any_work(
    planted: Planted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Spark engine itself is held to DuckDB's results in test_spark_agreement.py.
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(CommandError, match="未找到 Java 运行环境"):
        call_command(
            "compare_files", *planted.inputs, out=tmp_path / "out", engine="spark", verbosity=0
        )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"as_of": "2026-13-01"}, "比对基准日期“2026-13-01”无效"),
        ({"threshold": 1.5}, "匹配概率阈值应在0到1之间"),
        ({"threshold": 0}, "匹配概率阈值应在0到1之间"),
        ({"threshold": "abc"}, "匹配概率阈值应在0到1之间（不含0，可为1），收到“abc”"),
        ({"engine": "oracle"}, "未知的比对引擎“oracle”"),
    ],
)
def test_bad_arguments_are_refused(
    planted: Planted, tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("compare_files", *planted.inputs, out=tmp_path / "o", verbosity=0, **options)
    assert not (tmp_path / "o").exists()


def test_threshold_from_the_command_line_is_used(planted: Planted, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_cli("--out", str(out), "--as-of", "2026-06-30", "--threshold", "0.9999",
                   *planted.inputs, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["threshold"] == 0.9999
    assert "疑似同一人（PROBABLE_MATCH）" in done.stdout
    assert "未计算 PROBABLE_MATCH" not in done.stdout
    bad = run_cli("--out", str(tmp_path / "o"), "--threshold", "高", *planted.inputs,
                  cwd=tmp_path)  # fmt: skip
    assert bad.returncode != 0
    assert "匹配概率阈值应在0到1之间" in bad.stderr


def test_unknown_kind_and_unrecognisable_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="未知的数据类型“people”"):
        call_command("compare_files", "people=x.csv", out=tmp_path / "o", verbosity=0)
    odd = tmp_path / "odd.csv"
    odd.write_text("编号,金额\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"无法从表头识别文件“odd\.csv”的数据类型"):
        call_command("compare_files", str(odd), out=tmp_path / "o", verbosity=0)
    with pytest.raises(CommandError, match="找不到文件"):
        call_command(
            "compare_files", f"death={tmp_path / 'none.csv'}", out=tmp_path / "o", verbosity=0
        )
