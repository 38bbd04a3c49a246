"""The Spark engine agrees with the DuckDB engine: byte-identical findings.csv and coverage.csv
and equal counts, on the planted population (every case and trap) and on a generated city;
its ID-number validation agrees with `validate_id_number`.

One local Spark session serves the whole module (starting one takes seconds); `compare-files
--engine spark` finds it running and leaves it so.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from django.core.management import CommandError, call_command

from shebao.comparison.pipeline import compare_files, engine_create, parse_input_argument
from shebao.comparison.ports import ComparisonError, ComparisonErrorCode
from shebao.comparison.spark_engine import java_available, spark_session_create
from shebao.identity.id_number import id_number_check_char, validate_id_number
from shebao.synthetic import Village, dataset_generate, department_frames
from tests.conftest import require

from .conftest import AS_OF, Planted

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    require(java_available(), "Java 17 is needed for the Spark engine")
    session = spark_session_create(small=True, app_name="shebao-tests")
    yield session
    session.stop()


def run(out: Path, inputs: list[str], engine: str, **options: Any) -> dict[str, Any]:
    call_command(
        "compare_files", *inputs, out=out, engine=engine, as_of=AS_OF.isoformat(),
        verbosity=0, **options,
    )  # fmt: skip
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return summary


def assert_agree(left: Path, right: Path) -> None:
    for name in ("findings.csv", "coverage.csv", "rejected.csv"):
        assert (left / name).read_bytes() == (right / name).read_bytes(), name
    one, other = (json.loads((d / "summary.json").read_text("utf-8")) for d in (left, right))
    assert (one["engine"], other["engine"]) == ("duckdb", "spark")
    for key in ("counts", "skipped", "findings", "rows_per_source", "coverage_total"):
        assert one[key] == other[key], key


def test_planted_population_gives_identical_files(
    spark: Any, planted: Planted, tmp_path: Path
) -> None:
    duck = run(tmp_path / "duckdb", planted.inputs, "duckdb")
    run(tmp_path / "spark", planted.inputs, "spark")
    assert_agree(tmp_path / "duckdb", tmp_path / "spark")
    # Every category was planted, so agreement here covers each rule and its evidence.
    assert all(duck["counts"][c] > 0 for c in duck["counts"]), duck["counts"]
    assert spark.sparkContext._jsc is not None  # the module's session is still running


def test_planted_population_without_a_population_base(
    spark: Any, planted: Planted, tmp_path: Path
) -> None:
    inputs = [a for a in planted.inputs if "population" not in a]
    duck = run(tmp_path / "duckdb", inputs, "duckdb")
    run(tmp_path / "spark", inputs, "spark")
    assert_agree(tmp_path / "duckdb", tmp_path / "spark")
    assert "NOT_IN_POPULATION" in duck["skipped"]


def _villages() -> list[Village]:
    towns = [("420702100", "420702", "华容镇"), ("420703001", "420703", "凤凰街道"),
             ("420704101", "420704", "杨叶镇")]  # fmt: skip
    return [
        Village(
            code=f"{town}{200 + i:03d}",
            name=f"第{i}村村委会",
            town_code=town,
            county_code=county,
            town_name=name,
            county_name="",
            full_name=f"{name}第{i}村",
        )
        for town, county, name in towns
        for i in range(1, 4)
    ]


def _corrupt(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """What departments do to their files: a mistyped digit, the old 15-digit number, a
    full-width or lower-case number, a traditional-form or different name, a row twice."""
    n = frame.height
    pick = pl.Series(rng.random(n))
    digit = pl.Series(rng.integers(0, 10, n).astype(str))
    ids, names = pl.col("公民身份号码"), pl.col("姓名")
    full_width = {str(d): chr(0xFF10 + d) for d in range(10)}
    frame = frame.with_columns(
        pl.when(pick < 0.02).then(ids.str.slice(0, 9) + pl.lit(digit) + ids.str.slice(10))
        .when((pick < 0.04) & ids.str.slice(6, 2).eq("19"))
        .then(ids.str.slice(0, 6) + ids.str.slice(8, 9))
        .when(pick < 0.05).then(ids.str.replace_many(list(full_width), list(full_width.values())))
        .when(pick < 0.06).then(ids.str.to_lowercase())
        .otherwise(ids).alias("公民身份号码"),
        pl.when((pick >= 0.06) & (pick < 0.08))
        .then(names.str.replace_many(["张", "陈", "刘", "杨"], ["張", "陳", "劉", "楊"]))
        .when((pick >= 0.08) & (pick < 0.09)).then(names.str.slice(0, 1) + pl.lit("某"))
        .otherwise(names).alias("姓名"),
    )  # fmt: skip
    return pl.concat([frame, frame.filter(pick > 0.99)])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    directory = tmp_path_factory.mktemp("generated")
    dataset = dataset_generate(villages=_villages(), persons=3000, seed=7, as_of=AS_OF)
    rng = np.random.default_rng(7)
    inputs = []
    for kind, frame in department_frames(dataset).items():
        if kind != "employer":
            frame = _corrupt(frame, rng)
        path = directory / f"{kind}.csv"
        frame.write_csv(path, date_format="%Y-%m-%d")
        inputs.append(f"{kind}={path}")
    return inputs


def test_generated_city_gives_identical_files(
    spark: Any, generated: list[str], tmp_path: Path
) -> None:
    duck = run(tmp_path / "duckdb", generated, "duckdb")
    run(tmp_path / "spark", generated, "spark")
    assert_agree(tmp_path / "duckdb", tmp_path / "spark")
    counts = duck["counts"]
    for category in ("INVALID_ID", "NOT_IN_POPULATION", "NAME_MISMATCH", "DUPLICATE_RECORD",
                     "PENSION_UNINSURED", "MEDICAL_UNINSURED"):  # fmt: skip
        assert counts[category] > 0, category


def _id_samples() -> list[str]:
    """Valid and invalid numbers of every kind the validator distinguishes."""
    rng = random.Random(11)
    values = ["", " ", "\u3000", "abc", "11010519491231002x", "110105491231002",
              "110105491231002\n", "11010519491231002X\n", "１１０１０５１９４９１２３１００２Ｘ",
              "1101051949123100２X", "110105190002290011", "110105200002290011",
              "110105194912310A2X", "11010519491231002Y", "11010519491231002 X"]  # fmt: skip
    for _ in range(2000):
        body = (
            f"{rng.choice(['11', '42', '65', '99', '00'])}{rng.randint(0, 9999):04d}"
            f"{rng.randint(1890, 2030)}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}"
            f"{rng.randint(0, 999):03d}"
        )
        value = body + id_number_check_char(body)
        roll = rng.random()
        if roll < 0.2:
            value = value[:17] + rng.choice("0123456789Xx")
        elif roll < 0.3:
            value = value[:6] + value[8:17]
        elif roll < 0.35:
            value = value.replace("1", "１")
        elif roll < 0.4:
            value = value[: rng.randint(0, 18)]
        elif roll < 0.45:
            value = f" {value}\u3000"
        values.append(value)
    return values


def test_spark_id_validation_agrees_with_the_identity_module(spark: Any) -> None:
    from shebao.comparison.spark_identity import with_id_check

    values = _id_samples()
    as_of = date(2026, 6, 30)
    frame = spark.createDataFrame(list(enumerate(values)), "i int, raw string")
    rows = with_id_check(frame, "raw", as_of).orderBy("i").collect()
    got = [(r.id_n, r.id_error, r.id_birth_date, r.id_gender) for r in rows]
    expected = []
    for value in values:
        check = validate_id_number(value, as_of=as_of)
        error = check.first_error.value if check.first_error else None
        gender = check.gender.value if check.gender else None
        expected.append((check.normalized, error, check.birth_date, gender))
    assert got == expected
    assert {e[1] for e in expected} >= {None, "EMPTY", "BAD_LENGTH", "BAD_FORMAT",
                                        "BAD_PROVINCE", "BAD_BIRTH_DATE", "BAD_CHECK"}  # fmt: skip


def test_without_java_the_engine_is_refused_in_chinese(
    planted: Planted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ComparisonError) as raised:
        engine_create("spark")
    assert raised.value.code == ComparisonErrorCode.ENGINE_UNAVAILABLE
    assert "未找到 Java 运行环境" in raised.value.message
    with pytest.raises(ComparisonError, match="未找到 Java 运行环境"):
        compare_files(
            inputs=[parse_input_argument(a) for a in planted.inputs],
            out_dir=tmp_path / "out", engine="spark", as_of=AS_OF,
        )  # fmt: skip
    assert not (tmp_path / "out").exists()
    with pytest.raises(CommandError, match="未找到 Java 运行环境"):
        call_command("compare_files", *planted.inputs, out=tmp_path / "o", engine="spark")
