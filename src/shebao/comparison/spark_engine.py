"""The Apache Spark back end of the comparison (PySpark, local mode by default): the same
categories as the DuckDB engine, as Spark SQL over the same snapshots, with the same evidence.

`load` reads every snapshot with an ID number into one DataFrame `rows` (a column per
kind-specific field, NULL where a kind has none), validates the ID numbers with built-in Spark
expressions (`spark_identity`, no Python UDF) and caches it; the population base becomes
`pop` (one row per valid number) and `persons` (the flags the coverage rules need), both
cached. Joins run on the normalised number itself: Spark hashes strings as cheaply as ints.

Each category is one Spark SQL query whose result (the findings, few beside the rows) is
collected as Arrow; findings.csv is written from those by `sql_common.write_findings_csv`,
the same COPY and ORDER BY as the DuckDB engine's, so that the two files are byte-identical.
The detail JSON is built with `to_json(named_struct(...))`, keeping NULL fields, which prints
exactly what DuckDB's `json_object` prints; lists keep DuckDB's order through
`sort_array(collect_list(named_struct('k', key, 'v', value)))`.

The session starts on first use (`load`) and stops in `close()`, unless it was given.
"""

# ruff: noqa: S608 - SQL is built here from this module's constants; texts from outside
# (file names, headers) reach Spark as DataFrame values, never as SQL text.
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl
import pyarrow as pa

from shebao.comparison.domain import (
    ACTIVE_ENROLLMENT,
    ALIVE,
    DECEASED,
    INSURED_ENROLLMENT_STATUSES,
    MEDICAL_SCHEMES,
    PAID_BENEFIT,
    PENSION_SCHEMES,
    Category,
    CoverageRow,
    SchemeGroup,
    pension_birth_cutoff,
)
from shebao.comparison.ports import ComparisonError, ComparisonErrorCode, SourceSnapshot
from shebao.comparison.sql_common import (
    FIELD_OF_KIND,
    FINDINGS_SCHEMA,
    ID_ERROR_LABELS,
    REASONS,
    ROW_FIELDS,
    STATUS_LABELS,
    sql_case,
    sql_in,
    write_findings_csv,
)
from shebao.identity.id_number import IdErrorCode
from shebao.identity.names import normalize_name
from shebao.intake.formats.kinds import SourceKind

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkEngine", "java_available", "require_java", "spark_session_create"]

_SPARK_TYPES: Final[dict[str, str]] = {"VARCHAR": "string", "DATE": "date"}
_PENSION: Final[str] = sql_in(PENSION_SCHEMES)
_MEDICAL: Final[str] = sql_in(MEDICAL_SCHEMES)
_SCHEMES: Final[str] = sql_in(PENSION_SCHEMES | MEDICAL_SCHEMES)
_INSURED: Final[str] = sql_in(INSURED_ENROLLMENT_STATUSES)
_RECORD_KINDS: Final[str] = sql_in(frozenset({SourceKind.ENROLLMENT, SourceKind.BENEFIT}))
# to_json drops NULL fields unless told not to; json_object keeps them.
_JSON: Final[str] = "map('ignoreNullFields', 'false')"
_SPLIT: Final[int] = 10_000_000_000  # k = src * _SPLIT + row orders rows by file, then row
_ROWS_PER_PARTITION: Final[int] = 500_000
# Spark's generated code for the ID checks makes methods longer than the 8000 bytecodes
# HotSpot compiles by default: without this, they run interpreted.
_JAVA_OPTIONS: Final[str] = "-XX:-DontCompileHugeMethods"
_SMALL_ROWS: Final[int] = 200_000  # below it, the session is tuned for a quick start


def _json(*pairs: str) -> str:
    return f"to_json(named_struct({', '.join(pairs)}), {_JSON})"


def _ordered_list(key: str, *pairs: str) -> str:
    """DuckDB's `list({...} ORDER BY key)` (the key is unique within a group)."""
    return (
        f"transform(sort_array(collect_list(named_struct('k', {key}, "
        f"'v', named_struct({', '.join(pairs)})))), x -> x.v)"
    )


def _arg_min(value: str, key: str) -> str:
    """DuckDB's arg_min, which passes over rows whose value is NULL."""
    return f"min_by({value}, IF({value} IS NULL, NULL, {key}))"


def java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").exists():
        return True
    return shutil.which("java") is not None


def require_java() -> None:
    """Raise ComparisonError(ENGINE_UNAVAILABLE), in Chinese, when there is no Java."""
    if not java_available():
        raise ComparisonError(
            ComparisonErrorCode.ENGINE_UNAVAILABLE,
            "未找到 Java 运行环境（需要 Java 17 或更高版本，可设置 JAVA_HOME），"
            "无法使用 Spark 比对引擎；请安装 Java 或使用 --engine duckdb",
        )


def spark_session_create(
    *,
    master: str = "local[2]",
    driver_memory: str = "1g",
    shuffle_partitions: int = 4,
    local_dir: Path | None = None,
    app_name: str = "shebao-compare",
    small: bool = False,
) -> SparkSession:
    """A quiet local Spark session for the comparison: UI off, bound to 127.0.0.1, dates in
    UTC, few shuffle partitions. Raises ComparisonError(ENGINE_UNAVAILABLE) in Chinese when
    Java or PySpark is missing or the session does not start.

    `small` tunes it for small inputs, where a cold JVM's compilation dominates: the JIT stops
    at its quick first tier and adaptive query execution (re-planning after every shuffle) is
    off, which roughly halves a run on a fixture of a few hundred rows. Large inputs want the
    optimising JIT and AQE, so this is the caller's choice (SparkEngine decides by rows)."""
    require_java()
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise ComparisonError(
            ComparisonErrorCode.ENGINE_UNAVAILABLE,
            "未安装 PySpark，无法使用 Spark 比对引擎；请使用 --engine duckdb",
        ) from error
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.driver.memory", driver_memory)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.adaptive.enabled", "false" if small else "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if local_dir is not None:
        builder = builder.config("spark.local.dir", str(local_dir))
    java_options = os.environ.get("SHEBAO_SPARK_JAVA_OPTIONS", _JAVA_OPTIONS)
    if small:
        java_options += " -XX:TieredStopAtLevel=1"
    builder = builder.config("spark.driver.extraJavaOptions", java_options.strip())
    try:
        session = builder.getOrCreate()
    except Exception as error:  # the JVM did not start: report it, in Chinese
        raise ComparisonError(
            ComparisonErrorCode.ENGINE_UNAVAILABLE, f"Spark 比对引擎无法启动：{error}"
        ) from error
    session.sparkContext.setLogLevel("ERROR")
    # py4j logs every connection it closes at INFO, even from __del__ at interpreter exit.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    return session


def _glob_escaped(path: Path) -> str:
    """Hadoop reads paths as glob patterns: escape the pattern characters of a file name."""
    text = str(path)
    for ch in "\\[]{}*?":
        text = text.replace(ch, "\\" + ch)
    return text


class SparkEngine:
    """The scale-out engine: the same rules as DuckDBEngine, on Spark."""

    name = "spark"

    def __init__(
        self,
        *,
        session: SparkSession | None = None,
        master: str = "local[2]",
        driver_memory: str = "1g",
        shuffle_partitions: int | None = None,
    ) -> None:
        if session is None:
            require_java()  # refused before any work, as engine_create promises
        self._given = session
        self._session = session
        self._master = master
        self._driver_memory = driver_memory
        self._shuffle_partitions = shuffle_partitions
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._partitions_before: str | None = None
        self._prefix = f"shebao_{id(self):x}_"
        self._views: list[str] = []
        self._cached: list[DataFrame] = []
        self._sources: list[SourceSnapshot] = []
        self._as_of: date | None = None
        self._findings: list[pa.Table] = []
        self._finders: dict[Category, Callable[[], str | None]] = {
            Category.INVALID_ID: self._invalid_id,
            Category.NOT_IN_POPULATION: self._not_in_population,
            Category.NAME_MISMATCH: self._name_mismatch,
            Category.DUPLICATE_RECORD: self._duplicate_record,
            Category.DUPLICATE_ENROLLMENT: self._duplicate_enrollment,
            Category.PENSION_UNINSURED: self._pension_uninsured,
            Category.MEDICAL_UNINSURED: self._medical_uninsured,
            Category.DECEASED_ACTIVE: self._deceased_active,
            Category.IMPRISONED_BENEFIT: self._imprisoned_benefit,
        }

    # --- plumbing ------------------------------------------------------------------------

    @property
    def spark(self) -> SparkSession:
        if self._session is None:
            raise RuntimeError("load() first")
        return self._session

    def _start(self, rows: int) -> SparkSession:
        """The session: the given one, or a new one sized for `rows` input rows."""
        if self._session is None and java_available():
            from pyspark.sql import SparkSession

            # A session already running in this process (a notebook's, a test module's) is
            # used and left running: stopping it is its owner's business.
            active = SparkSession.getActiveSession()
            if active is not None:
                self._session = self._given = active
        if self._session is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="shebao-spark-")
            self._session = spark_session_create(
                master=self._master,
                driver_memory=self._driver_memory,
                shuffle_partitions=self._shuffle_partitions or 4,
                local_dir=Path(self._tmp.name),
                small=rows < _SMALL_ROWS,
            )
        if self._shuffle_partitions is None:
            partitions = max(2, min(200, rows // _ROWS_PER_PARTITION))
            if self._given is not None and self._partitions_before is None:
                self._partitions_before = self._session.conf.get("spark.sql.shuffle.partitions")
            self._session.conf.set("spark.sql.shuffle.partitions", str(partitions))
        return self._session

    def _t(self, name: str) -> str:
        """The session-wide name of this engine's view `name`."""
        return f"{self._prefix}{name}"

    def _view(self, name: str, frame: DataFrame, *, cache: bool = False) -> DataFrame:
        if cache:
            frame = frame.cache()
            self._cached.append(frame)
        frame.createOrReplaceTempView(self._t(name))
        self._views.append(self._t(name))
        return frame

    def _sql(self, sql: str) -> DataFrame:
        """Run `sql` with `{rows}`, `{pop}` ... standing for this engine's views."""
        names = {n: self._t(n) for n in ("rows", "pop", "persons", "sources", "popsrc", "mm")}
        return self.spark.sql(sql.format(**names))

    def close(self) -> None:
        if self._session is not None:
            for frame in self._cached:
                frame.unpersist()
            for view in self._views:
                self._session.catalog.dropTempView(view)
            if self._given is None:
                self._session.stop()
                self._session = None
            elif self._partitions_before is not None:
                self._session.conf.set("spark.sql.shuffle.partitions", self._partitions_before)
                self._partitions_before = None
        self._cached.clear()
        self._views.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def _date(self) -> str:
        if self._as_of is None:
            raise RuntimeError("load() first")
        return f"DATE'{self._as_of.isoformat()}'"

    def _as_of_ymd(self) -> int:
        if self._as_of is None:
            raise RuntimeError("load() first")
        return self._as_of.year * 10000 + self._as_of.month * 100 + self._as_of.day

    # --- load ----------------------------------------------------------------------------

    def load(self, sources: list[SourceSnapshot], *, as_of: date) -> None:
        from pyspark.sql import functions as F

        from shebao.comparison.spark_identity import with_id_check

        self._sources = list(sources)
        self._as_of = as_of
        self._findings = []
        spark = self._start(sum(s.rows for s in sources))
        self._view(
            "sources",
            spark.createDataFrame(
                [
                    (
                        src,
                        snap.source,
                        snap.kind.value,
                        snap.headers.get("id_number", "公民身份号码"),
                        snap.headers.get("name", "姓名"),
                    )
                    for src, snap in enumerate(sources)
                ],
                "src int, source string, kind string, id_header string, name_header string",
            ),
            cache=True,
        )
        self._view(
            "popsrc",
            spark.createDataFrame(
                [([s.source for s in sources if s.kind is SourceKind.POPULATION],)],
                "names array<string>",
            ),
        )
        parts = []
        for src, snap in enumerate(sources):
            if snap.kind not in FIELD_OF_KIND:
                continue
            fields = FIELD_OF_KIND[snap.kind]
            frame = spark.read.parquet(_glob_escaped(snap.path))
            parts.append(
                frame.select(
                    F.lit(src).cast("int").alias("src"),
                    F.lit(snap.kind.value).alias("kind"),
                    F.col("row").cast("bigint").alias("row"),
                    F.col("id_number_raw").cast("string").alias("id_raw"),
                    F.coalesce(F.col("id_number").cast("string"), F.lit("")).alias("id"),
                    F.col("name").cast("string").alias("name"),
                    *[
                        (F.col(fields[f]) if f in fields else F.lit(None))
                        .cast(_SPARK_TYPES[t])
                        .alias(f)
                        for f, t in ROW_FIELDS.items()
                    ],
                )
            )
        if parts:
            union = parts[0]
            for part in parts[1:]:
                union = union.unionByName(part)
        else:
            columns = ", ".join(f"{f} {_SPARK_TYPES[t]}" for f, t in ROW_FIELDS.items())
            union = spark.createDataFrame(
                [],
                f"src int, kind string, row bigint, id_raw string, id string, name string, "
                f"{columns}",
            )
        checked = with_id_check(union, "id", as_of)
        self._view(
            "rows",
            checked.select(
                "src",
                "kind",
                "row",
                (F.col("src").cast("bigint") * F.lit(_SPLIT) + F.col("row")).alias("k"),
                "id",
                "id_error",
                # as read, kept only where it is invalid (the only use of it)
                F.when(F.col("id_error").isNotNull(), F.col("id_raw")).alias("id_raw"),
                "name",
                *ROW_FIELDS,
            ),
            cache=True,
        )
        self._view(
            "pop",
            self._sql(
                f"""SELECT id, {_arg_min("name", "k")} AS name, min(k) AS k,
                       {_arg_min("substr(region_code, 1, 6)", "k")} AS county,
                       bool_and(status = '{ALIVE}') AS all_alive,
                       min(coalesce(name, '')) <> max(coalesce(name, '')) AS several_names
                FROM {{rows}} WHERE kind = 'population' AND id_error IS NULL GROUP BY id"""
            ),
            cache=True,
        )
        cutoff = pension_birth_cutoff(as_of)
        self._view(
            "persons",
            self._sql(
                f"""WITH dead AS (SELECT DISTINCT id FROM {{rows}}
                                  WHERE kind = 'death' AND id_error IS NULL),
                     students AS (SELECT DISTINCT id FROM {{rows}}
                                  WHERE kind = 'student' AND id_error IS NULL),
                     cover AS (
                        SELECT id,
                            bool_or(scheme_code IN {_PENSION} AND (
                                (kind = 'enrollment' AND status IN {_INSURED})
                                OR (kind = 'benefit' AND status = '{PAID_BENEFIT}')))
                                AS pension_insured,
                            bool_or(kind = 'enrollment' AND scheme_code IN {_MEDICAL}
                                    AND status IN {_INSURED}) AS medical_insured
                        FROM {{rows}}
                        WHERE kind IN {_RECORD_KINDS} AND id_error IS NULL
                          AND scheme_code IN {_SCHEMES}
                        GROUP BY id)
                SELECT p.id, p.name, p.k, p.county,
                       p.all_alive AND dead.id IS NULL AS alive,
                       CAST(substr(p.id, 7, 8) AS INT) AS birth_ymd,
                       CAST(substr(p.id, 7, 8) AS INT) <= {cutoff} AS adult,
                       students.id IS NOT NULL AS student,
                       coalesce(cover.pension_insured, false) AS pension_insured,
                       coalesce(cover.medical_insured, false) AS medical_insured
                FROM {{pop}} p
                LEFT JOIN dead ON dead.id = p.id
                LEFT JOIN students ON students.id = p.id
                LEFT JOIN cover ON cover.id = p.id"""
            ),
            cache=True,
        )

    # --- categories ----------------------------------------------------------------------

    def find(self, category: Category) -> int:
        finder = self._finders.get(category)
        if finder is None:
            raise NotImplementedError(f"{category} is not computed by the Spark engine")
        select = finder()
        if select is None:
            return 0
        table = self._sql(
            f"""SELECT '{category.value}' AS category, s.source, f.row, f.id_number, f.name,
                       CAST(NULL AS STRING) AS matched_id_number,
                       CAST(NULL AS DOUBLE) AS match_probability, f.detail
                FROM ({select}) f LEFT JOIN {{sources}} s ON s.src = f.src"""
        ).toArrow()
        table = table.cast(FINDINGS_SCHEMA)
        self._findings.append(table)
        return table.num_rows

    def _invalid_id(self) -> str:
        reason = REASONS["invalid_id"]
        return f"""SELECT r.src, r.row, r.id_raw AS id_number, r.name,
                    {
            _json(
                f"'reason', concat('{reason}', {sql_case('r.id_error', ID_ERROR_LABELS)})",
                "'error', r.id_error",
                "'column', s.id_header",
                "'value', r.id_raw",
            )
        } AS detail
                FROM {{rows}} r JOIN {{sources}} s ON s.src = r.src
                WHERE r.id_error IS NOT NULL"""

    def _not_in_population(self) -> str:
        return f"""SELECT r.src, r.row, r.id AS id_number, r.name,
                    {
            _json(
                f"'reason', '{REASONS['not_in_population']}'",
                "'column', s.id_header",
                "'population_sources', ps.names",
            )
        } AS detail
                FROM {{rows}} r JOIN {{sources}} s ON s.src = r.src CROSS JOIN {{popsrc}} ps
                WHERE r.kind <> 'population' AND r.id_error IS NULL
                  AND NOT EXISTS (SELECT 1 FROM {{pop}} p WHERE p.id = r.id)"""

    def _name_mismatch(self) -> str | None:
        # Pairs whose names differ as written, or whose person has several names in the
        # population base: the only ones normalisation can change.
        candidates = pl.DataFrame(
            self._sql(
                """SELECT r.src, r.row, r.id, coalesce(r.name, '') AS name
                   FROM {rows} r JOIN {pop} p ON p.id = r.id
                   WHERE r.kind <> 'population' AND r.id_error IS NULL
                     AND (coalesce(r.name, '') <> coalesce(p.name, '') OR p.several_names)"""
            ).toArrow()
        )
        if candidates.is_empty():
            return None
        self._view("mm", self.spark.createDataFrame(candidates.select("id").unique().to_arrow()))
        population = pl.DataFrame(
            self._sql(
                """SELECT DISTINCT r.id, coalesce(r.name, '') AS name FROM {rows} r
                   WHERE r.kind = 'population' AND r.id_error IS NULL
                     AND r.id IN (SELECT id FROM {mm})"""
            ).toArrow()
        )
        distinct = set(candidates["name"].unique().to_list())
        distinct |= set(population["name"].unique().to_list())
        normalised = {name: normalize_name(name) for name in distinct}

        def norm(frame: pl.DataFrame) -> pl.DataFrame:
            return frame.with_columns(
                pl.col("name").replace_strict(normalised, return_dtype=pl.String).alias("norm")
            )

        mismatched = norm(candidates).join(
            norm(population).select("id", "norm"), on=["id", "norm"], how="anti"
        )
        if mismatched.is_empty():
            return None
        self._view(
            "mm", self.spark.createDataFrame(mismatched.select("src", "row", "id").to_arrow())
        )
        names = (
            "IF(count(*) > count(name), "
            "concat(array_sort(collect_set(name)), array(CAST(NULL AS STRING))), "
            "array_sort(collect_set(name)))"
        )
        detail = _json(
            f"'reason', '{REASONS['name_mismatch']}'",
            "'column', s.name_header",
            "'value', r.name",
            "'population_names', names.names",
            f"'population', named_struct('source', ps.source, 'row', p.k % {_SPLIT})",
        )
        return f"""WITH names AS (
                    SELECT id, {names} AS names FROM {{rows}}
                    WHERE kind = 'population' AND id_error IS NULL
                      AND id IN (SELECT id FROM {{mm}})
                    GROUP BY id)
               SELECT r.src, r.row, r.id AS id_number, r.name, {detail} AS detail
               FROM {{mm}} m
               JOIN {{rows}} r ON r.src = m.src AND r.row = m.row
               JOIN {{sources}} s ON s.src = r.src
               JOIN {{pop}} p ON p.id = r.id
               JOIN {{sources}} ps ON ps.src = CAST(p.k DIV {_SPLIT} AS INT)
               JOIN names ON names.id = r.id"""

    def _duplicate_record(self) -> str:
        reason = REASONS["duplicate_record"]
        detail = _json(
            f"""'reason', concat('{reason}', CAST(g.n AS STRING), '次',
                CASE WHEN g.scheme <> '' THEN concat('（险种代码', g.scheme, '）')
                     ELSE '' END)""",
            "'rows', g.row_list",
            "'scheme_code', NULLIF(g.scheme, '')",
        )
        return f"""WITH dup AS (
                    SELECT src, id, coalesce(scheme_code, '') AS scheme, count(*) AS n
                    FROM {{rows}} WHERE id_error IS DISTINCT FROM '{IdErrorCode.EMPTY}'
                    GROUP BY src, id, coalesce(scheme_code, '') HAVING count(*) > 1),
                grouped AS (
                    SELECT r.src, r.id, d.scheme, d.n, min(r.row) AS first_row,
                           array_sort(collect_list(r.row)) AS row_list
                    FROM {{rows}} r JOIN dup d ON d.src = r.src AND d.id = r.id
                         AND d.scheme = coalesce(r.scheme_code, '')
                    GROUP BY r.src, r.id, d.scheme, d.n)
               SELECT g.src, g.first_row AS row,
                      CASE WHEN r.id_error IS NULL THEN r.id ELSE r.id_raw END AS id_number,
                      r.name, {detail} AS detail
               FROM grouped g JOIN {{rows}} r ON r.src = g.src AND r.row = g.first_row"""

    def _duplicate_enrollment(self) -> str:
        pension, medical = SchemeGroup.PENSION, SchemeGroup.MEDICAL
        detail = _json(
            f"""'reason', concat(CASE WHEN a.grp = '{pension.value}'
                THEN '{pension.label}' ELSE '{medical.label}' END,
                '{REASONS["duplicate_enrollment"]}')""",
            "'group', a.grp",
            "'enrollments', "
            + _ordered_list(
                "a.k",
                "'source', s.source",
                "'row', a.row",
                "'scheme_code', a.scheme_code",
                "'region_code', a.region_code",
            ),
        )
        return f"""WITH active AS (
                    SELECT src, row, id, name, scheme_code, region_code, k,
                        CASE WHEN scheme_code IN {_PENSION} THEN '{pension.value}'
                             ELSE '{medical.value}' END AS grp
                    FROM {{rows}}
                    WHERE kind = 'enrollment' AND id_error IS NULL
                      AND status = '{ACTIVE_ENROLLMENT}' AND scheme_code IN {_SCHEMES}),
                dup AS (
                    SELECT id, grp FROM active GROUP BY id, grp
                    HAVING min(scheme_code) <> max(scheme_code)
                        OR min(region_code) <> max(region_code))
               SELECT CAST(NULL AS INT) AS src, CAST(NULL AS BIGINT) AS row,
                      a.id AS id_number,
                      coalesce(max(p.name), {_arg_min("a.name", "a.k")}) AS name,
                      {detail} AS detail
               FROM active a
               JOIN dup d ON d.id = a.id AND d.grp = a.grp
               JOIN {{sources}} s ON s.src = a.src
               LEFT JOIN {{pop}} p ON p.id = a.id
               GROUP BY a.id, a.grp"""

    def _uninsured(self, category: Category, group: SchemeGroup, condition: str) -> str:
        schemes = _PENSION if group is SchemeGroup.PENSION else _MEDICAL
        reason = REASONS[category.value.lower()]
        record = ("'source', s.source", "'row', r.row", "'scheme_code', r.scheme_code")
        records = _ordered_list("r.k", *record, f"'status', {sql_case('r.status', STATUS_LABELS)}")
        record_type = "array<struct<source:string,row:bigint,scheme_code:string,status:string>>"
        detail = _json(
            f"'reason', '{reason}'",
            "'county_code', u.county",
            "'birth_date', concat_ws('-', substr(u.id, 7, 4), substr(u.id, 11, 2), "
            "substr(u.id, 13, 2))",
            f"'age', ({self._as_of_ymd()} - u.birth_ymd) DIV 10000",
            f"'population', named_struct('source', s.source, 'row', u.k % {_SPLIT})",
            f"'records', coalesce(o.records, CAST(array() AS {record_type}))",
        )
        return f"""WITH u AS (SELECT * FROM {{persons}} WHERE {condition}),
                other AS (
                    SELECT r.id, {records} AS records
                    FROM {{rows}} r JOIN {{sources}} s ON s.src = r.src
                    WHERE r.kind IN {_RECORD_KINDS} AND r.id_error IS NULL
                      AND r.scheme_code IN {schemes}
                      AND r.id IN (SELECT id FROM u)
                    GROUP BY r.id)
               SELECT CAST(NULL AS INT) AS src, CAST(NULL AS BIGINT) AS row,
                      u.id AS id_number, u.name, {detail} AS detail
               FROM u JOIN {{sources}} s ON s.src = CAST(u.k DIV {_SPLIT} AS INT)
               LEFT JOIN other o ON o.id = u.id"""

    def _pension_uninsured(self) -> str:
        return self._uninsured(
            Category.PENSION_UNINSURED,
            SchemeGroup.PENSION,
            "alive AND adult AND NOT student AND NOT pension_insured",
        )

    def _medical_uninsured(self) -> str:
        return self._uninsured(
            Category.MEDICAL_UNINSURED, SchemeGroup.MEDICAL, "alive AND NOT medical_insured"
        )

    def _deceased_active(self) -> str:
        death = _ordered_list(
            "d.k", "'source', s.source", "'row', d.row", "'death_date', d.death_date"
        )
        active = _ordered_list(
            "a.k",
            "'source', s.source",
            "'row', a.row",
            "'scheme_code', a.scheme_code",
            f"'status', {sql_case('a.status', STATUS_LABELS)}",
        )
        detail = _json(
            f"'reason', '{REASONS['deceased_active']}'", "'death', d.death", "'active', a.active"
        )
        return f"""WITH dead AS (
                    SELECT id, src, row, name, kind, death_date, k FROM {{rows}}
                    WHERE id_error IS NULL AND (kind = 'death'
                          OR (kind = 'population' AND status = '{DECEASED}'))),
                active AS (
                    SELECT id, src, row, name, kind, scheme_code, status, k FROM {{rows}}
                    WHERE id_error IS NULL
                      AND ((kind = 'enrollment' AND status = '{ACTIVE_ENROLLMENT}')
                           OR (kind = 'benefit' AND status = '{PAID_BENEFIT}'))
                      AND id IN (SELECT id FROM dead)),
                d AS (SELECT d.id, {_arg_min("d.name", "d.k")} AS name, {death} AS death
                      FROM dead d JOIN {{sources}} s ON s.src = d.src
                      WHERE d.id IN (SELECT id FROM active) GROUP BY d.id),
                a AS (SELECT a.id, {_arg_min("a.name", "a.k")} AS name, {active} AS active
                      FROM active a JOIN {{sources}} s ON s.src = a.src GROUP BY a.id)
               SELECT CAST(NULL AS INT) AS src, CAST(NULL AS BIGINT) AS row,
                      d.id AS id_number, coalesce(p.name, d.name, a.name) AS name,
                      {detail} AS detail
               FROM d JOIN a ON a.id = d.id LEFT JOIN {{pop}} p ON p.id = d.id"""

    def _imprisoned_benefit(self) -> str:
        on = self._date
        prison = _ordered_list(
            "j.k",
            "'source', s.source",
            "'row', j.row",
            "'start', j.sentence_start",
            "'end', j.sentence_end",
        )
        benefits = _ordered_list(
            "b.k",
            "'source', s.source",
            "'row', b.row",
            "'scheme_code', b.scheme_code",
            "'last_paid_month', b.last_paid_month",
        )
        detail = _json(
            f"'reason', '{REASONS['imprisoned_benefit']}'",
            "'prison', j.prison",
            "'benefits', b.benefits",
        )
        return f"""WITH jail AS (
                    SELECT id, src, row, name, sentence_start, sentence_end, k FROM {{rows}}
                    WHERE kind = 'prison' AND id_error IS NULL AND sentence_start <= {on}
                      AND (sentence_end IS NULL OR {on} <= sentence_end)),
                paid AS (
                    SELECT id, src, row, name, scheme_code, last_paid_month, k FROM {{rows}}
                    WHERE kind = 'benefit' AND id_error IS NULL
                      AND status = '{PAID_BENEFIT}' AND scheme_code IN {_PENSION}
                      AND id IN (SELECT id FROM jail)),
                j AS (SELECT j.id, {_arg_min("j.name", "j.k")} AS name, {prison} AS prison
                      FROM jail j JOIN {{sources}} s ON s.src = j.src
                      WHERE j.id IN (SELECT id FROM paid) GROUP BY j.id),
                b AS (SELECT b.id, {benefits} AS benefits
                      FROM paid b JOIN {{sources}} s ON s.src = b.src GROUP BY b.id)
               SELECT CAST(NULL AS INT) AS src, CAST(NULL AS BIGINT) AS row,
                      j.id AS id_number, coalesce(p.name, j.name) AS name, {detail} AS detail
               FROM j JOIN b ON b.id = j.id LEFT JOIN {{pop}} p ON p.id = j.id"""

    # --- results -------------------------------------------------------------------------

    def add_findings(self, findings: pa.Table) -> int:
        """Append rows with the FINDINGS_COLUMNS schema to the engine's findings."""
        self._findings.append(findings.select(list(FINDINGS_SCHEMA.names)).cast(FINDINGS_SCHEMA))
        return findings.num_rows

    def write_findings(self, path: Path) -> int:
        findings = (
            pa.concat_tables(self._findings) if self._findings else FINDINGS_SCHEMA.empty_table()
        )
        return write_findings_csv(findings, [s.source for s in self._sources], path)

    def coverage(self) -> list[CoverageRow]:
        rows = self._sql(
            """SELECT county,
                  count_if(alive) AS population,
                  count_if(alive AND adult AND NOT student) AS eligible,
                  count_if(alive AND adult AND NOT student AND pension_insured) AS pension,
                  count_if(alive AND medical_insured) AS medical
               FROM {persons} GROUP BY county"""
        ).collect()
        ordered = sorted(rows, key=lambda r: (r["county"] is None, r["county"] or ""))
        return [
            CoverageRow(
                county_code=r["county"] or "",
                county_name="",
                population=int(r["population"]),
                pension_eligible=int(r["eligible"]),
                pension_insured=int(r["pension"]),
                medical_insured=int(r["medical"]),
            )
            for r in ordered
        ]

    # --- probabilistic linkage -------------------------------------------------------------

    def linkage_candidates(self) -> pa.Table:
        """Rows flagged INVALID_ID or NOT_IN_POPULATION, one per (source, row), with what the
        linkage compares: the number (as read where invalid), name, the birth date and gender
        the number gives where derivable, and the 6-digit county of the row's region."""
        from pyspark.sql import functions as F

        from shebao.comparison.spark_identity import with_id_check

        if self._as_of is None:
            raise RuntimeError("load() first")
        has_population = any(s.kind is SourceKind.POPULATION for s in self._sources)
        absent = (
            "(r.kind <> 'population' AND r.id_error IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM {pop} p WHERE p.id = r.id))"
            if has_population
            else "false"
        )
        flagged = self._sql(
            f"""SELECT s.source, r.row, r.k,
                   CASE WHEN r.id_error IS NULL THEN r.id ELSE r.id_raw END AS id_number,
                   r.name, substr(r.region_code, 1, 6) AS region,
                   CASE WHEN r.id_error IS NULL THEN r.id ELSE coalesce(r.id_raw, '') END
                       AS checked
                FROM {{rows}} r JOIN {{sources}} s ON s.src = r.src
                WHERE r.id_error IS NOT NULL OR {absent}"""
        )
        checked = with_id_check(flagged, "checked", self._as_of)
        table = (
            checked.orderBy("k")
            .select(
                "source",
                "row",
                "id_number",
                "name",
                F.col("id_birth_date").alias("birth_date"),
                _gender_code(F.col("id_gender")).alias("gender"),
                "region",
            )
            .toArrow()
        )
        return table.cast(_LINKAGE_CANDIDATE_SCHEMA)

    def linkage_population(self) -> pa.Table:
        """The population base: one row per valid normalised number (in number order, as the
        DuckDB engine gives it), with the name and county of its first population row, and
        the birth date and gender the number gives."""
        from pyspark.sql import functions as F

        from shebao.comparison.spark_identity import with_id_check

        if self._as_of is None:
            raise RuntimeError("load() first")
        valid = self._sql(
            """SELECT p.id AS id_number, p.name, p.county AS region,
                      CASE WHEN u.id IS NULL THEN 'unused' END AS number_status
               FROM {pop} p
               LEFT JOIN (SELECT DISTINCT id FROM {rows} WHERE kind <> 'population') u
                   ON u.id = p.id"""
        ).select(
            "id_number",
            "name",
            F.to_date(F.substring("id_number", 7, 8), "yyyyMMdd").alias("birth_date"),
            F.when(F.substring("id_number", 17, 1).cast("int") % 2 == 1, F.lit("1"))
            .otherwise(F.lit("2"))
            .alias("gender"),
            "region",
            "number_status",
        )
        # The invalid numbers population rows hold, as read: their first row's name and county.
        invalid = with_id_check(
            self._sql(
                f"""SELECT id_raw AS id_number, {_arg_min("name", "k")} AS name,
                           {_arg_min("substr(region_code, 1, 6)", "k")} AS region
                    FROM {{rows}}
                    WHERE kind = 'population' AND id_error IS NOT NULL
                      AND coalesce(id_raw, '') <> ''
                    GROUP BY id_raw"""
            ),
            "id_number",
            self._as_of,
        ).select(
            "id_number",
            "name",
            F.col("id_birth_date").alias("birth_date"),
            _gender_code(F.col("id_gender")).alias("gender"),
            "region",
            F.lit("invalid").alias("number_status"),
        )
        table = valid.unionByName(invalid).orderBy("id_number").toArrow()
        return table.cast(_LINKAGE_POPULATION_SCHEMA)


def _gender_code(gender: Any) -> Any:
    """'M' / 'F' as the GB/T 2261.1 codes '1' / '2'."""
    from pyspark.sql import functions as F

    return F.when(gender == "M", F.lit("1")).when(gender == "F", F.lit("2"))


_LINKAGE_CANDIDATE_SCHEMA: Final[pa.Schema] = pa.schema(
    [
        ("source", pa.string()),
        ("row", pa.int64()),
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("birth_date", pa.date32()),
        ("gender", pa.string()),
        ("region", pa.string()),
    ]
)
_LINKAGE_POPULATION_SCHEMA: Final[pa.Schema] = pa.schema(
    [
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("birth_date", pa.date32()),
        ("gender", pa.string()),
        ("region", pa.string()),
        ("number_status", pa.string()),
    ]
)
