"""The DuckDB back end of the comparison: every category as set-based SQL over the snapshots.

`load` numbers the distinct normalised ID numbers of all snapshots (`ids`: pid, the number,
its validation error as of the as-of date, from the identity macros, run once per number),
then reads every snapshot with an ID number into one table `rows` keyed by pid (a column per
kind-specific field, NULL where a kind has none). Joins and groupings run on the integer pid,
not on 18-character strings. The population base becomes `pop` (one row per valid number) and
`persons` (the flags the coverage rules need). Each category is one INSERT into `findings`;
findings.csv is one ordered COPY.

Names are compared in two steps: SQL keeps the pairs whose names differ as written (few), and
only their distinct names go through `normalize_name` (OpenCC works one string at a time).
"""

# ruff: noqa: S608 - SQL is built here from this module's constants; every text that comes
# from outside (file names, paths, headers) is quoted by _s() or bound as a parameter.
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Final

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from shebao.comparison.domain import (
    ACTIVE_ENROLLMENT,
    ALIVE,
    DECEASED,
    FINDINGS_COLUMNS,
    INSURED_ENROLLMENT_STATUSES,
    MEDICAL_SCHEMES,
    PAID_BENEFIT,
    PENSION_SCHEMES,
    Category,
    CoverageRow,
    SchemeGroup,
    pension_birth_cutoff,
)
from shebao.comparison.ports import SourceSnapshot
from shebao.comparison.sql_common import (
    FIELD_OF_KIND,
    FINDINGS_ORDER_BY,
    ID_ERROR_LABELS,
    ROW_FIELDS,
    STATUS_LABELS,
    sql_case,
    sql_in,
    sql_string,
)
from shebao.identity.duckdb_sql import register_identity_macros, sql_id_error_flat
from shebao.identity.id_number import IdErrorCode
from shebao.identity.names import normalize_name
from shebao.intake.formats.kinds import (
    SourceKind,
)

__all__ = ["DuckDBEngine"]

# src and row packed into one BIGINT that orders rows by file, then row.
_KEY: Final[str] = "(src::BIGINT * 10000000000 + row)"
_s = sql_string
_in = sql_in
_case = sql_case
_ROW_FIELDS: Final = ROW_FIELDS
_FIELD_OF_KIND: Final = FIELD_OF_KIND
_STATUS_LABELS: Final = STATUS_LABELS
_ID_ERROR_LABELS: Final = ID_ERROR_LABELS
_PENSION: Final[str] = _in(PENSION_SCHEMES)
_MEDICAL: Final[str] = _in(MEDICAL_SCHEMES)
_INSURED: Final[str] = _in(INSURED_ENROLLMENT_STATUSES)
_RECORD_KINDS: Final[str] = _in(frozenset({SourceKind.ENROLLMENT, SourceKind.BENEFIT}))
_ID_KINDS: Final[tuple[SourceKind, ...]] = tuple(_FIELD_OF_KIND)
# The output form of a row's ID number: normalised where valid, else as read.
_ID_OUT: Final[str] = "CASE WHEN r.id_error IS NULL THEN i.id ELSE r.id_raw END"
# The bits of `_person_flags`.
_PENSION_INSURED: Final[int] = 1
_MEDICAL_INSURED: Final[int] = 2
_DEAD: Final[int] = 4
_STUDENT: Final[int] = 8
# Above a scheme code and a region code (999 999999 at most) in one BIGINT.
_GROUP_SHIFT: Final[int] = 10**9


def _arrow_table(columns: dict[str, np.ndarray]) -> pa.Table:
    return pa.table({name: pa.array(values) for name, values in columns.items()})


class DuckDBEngine:
    """The default engine: embedded, vectorised, spills to disk when memory runs short."""

    name = "duckdb"

    def __init__(
        self,
        *,
        database: str | Path = ":memory:",
        threads: int | None = None,
        memory_limit: str | None = None,
        temp_directory: Path | None = None,
    ) -> None:
        self._con = duckdb.connect(str(database))
        self._tmp = None if temp_directory else tempfile.TemporaryDirectory(prefix="shebao-cmp-")
        spill = temp_directory or Path(self._tmp.name if self._tmp else ".")
        self._exec(f"SET temp_directory = {_s(str(spill))}")
        self._exec("SET enable_progress_bar = false")
        # Every result that leaves the engine is ordered by an ORDER BY of its own (findings,
        # coverage, linkage candidates); the tables in between need no order, and keeping
        # one costs memory and parallelism on tens of millions of rows.
        self._exec("SET preserve_insertion_order = false")
        if threads:
            self._exec(f"SET threads = {int(threads)}")
        if memory_limit:
            self._exec(f"SET memory_limit = {_s(memory_limit)}")
        register_identity_macros(self._con)
        self._sources: list[SourceSnapshot] = []
        self._as_of: date | None = None
        self._finders: dict[Category, Callable[[], None]] = {
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

    def _exec(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        # Every result is read to the end: DuckDB 2.0 refuses new work on a connection
        # with an unfinished result.
        return self._con.execute(sql, params).fetchall()

    def _arrow(self, sql: str) -> pa.Table:
        return self._con.sql(sql).to_arrow_table()

    @contextmanager
    def _registered(self, **tables: pa.Table) -> Iterator[None]:
        """The Arrow `tables` as views named by the keywords, for the statements inside."""
        for name, table in tables.items():
            self._con.register(name, table)
        try:
            yield
        finally:
            for name in tables:
                self._con.unregister(name)

    def close(self) -> None:
        self._con.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    @property
    def _date(self) -> str:
        if self._as_of is None:
            raise RuntimeError("load() first")
        return f"DATE '{self._as_of.isoformat()}'"

    # --- load ----------------------------------------------------------------------------

    def load(self, sources: list[SourceSnapshot], *, as_of: date) -> None:
        self._sources = list(sources)
        self._as_of = as_of
        self._exec(
            """CREATE OR REPLACE TABLE sources (src INTEGER, source VARCHAR, kind VARCHAR,
                   id_header VARCHAR, name_header VARCHAR)"""
        )
        for src, snap in enumerate(sources):
            self._exec(
                "INSERT INTO sources VALUES ($src, $source, $kind, $id_header, $name_header)",
                {
                    "src": src,
                    "source": snap.source,
                    "kind": snap.kind.value,
                    "id_header": snap.headers.get("id_number", "公民身份号码"),
                    "name_header": snap.headers.get("name", "姓名"),
                },
            )
        self._exec("DROP TYPE IF EXISTS shebao_kind")
        self._exec(f"CREATE TYPE shebao_kind AS ENUM {_in(frozenset(_ID_KINDS))}")
        with_ids = [(src, snap) for src, snap in enumerate(sources) if snap.kind in _FIELD_OF_KIND]
        numbers = " UNION ALL ".join(
            f"SELECT id_number, {str(snap.kind is SourceKind.POPULATION).lower()} AS in_pop "
            f"FROM read_parquet({_s(str(snap.path))})"
            for _, snap in with_ids
        )
        # Each distinct number is validated once: the sources of a city repeat the same
        # people, so there are several times fewer numbers than rows. `in_pop`: the number
        # is on a row of the population base (for a valid number: it is in `pop`), which
        # spares NOT_IN_POPULATION and the linkage an anti-join of every row against `pop`.
        # The snapshots hold normalised numbers: the flat form of the validator applies.
        parts, error = sql_id_error_flat("id", as_of)
        self._exec(
            f"""CREATE OR REPLACE TEMP TABLE distinct_ids AS
                SELECT coalesce(id_number, '') AS id, bool_or(in_pop) AS in_pop
                FROM ({numbers or "SELECT NULL::VARCHAR AS id_number, false AS in_pop"})
                GROUP BY ALL"""
        )
        # Numbered by rowid, which a parallel scan reads, not row_number() OVER (), which
        # would run the validation in one thread.
        self._exec(
            f"""CREATE OR REPLACE TABLE ids AS
                SELECT CAST(rowid AS INTEGER) AS pid, id, {error} AS id_error, in_pop
                FROM (SELECT rowid, id, in_pop, {parts} FROM distinct_ids)"""
        )
        self._exec("DROP TABLE distinct_ids")
        fields = ", ".join(f"NULL::{t} AS {f}" for f, t in _ROW_FIELDS.items())
        empty = (
            "SELECT NULL::INTEGER AS src, NULL::shebao_kind AS kind, NULL::BIGINT AS row, "
            f"NULL::VARCHAR AS id_raw, '' AS id, NULL::VARCHAR AS name, {fields} WHERE false"
        )
        base = " UNION ALL ".join(self._rows_select(src, snap) for src, snap in with_ids)
        self._exec(
            f"""CREATE OR REPLACE TABLE rows AS
                SELECT b.src, b.kind, b.row, i.pid, i.id_error, i.in_pop,
                       -- as read, kept only where it is invalid (the only use of it)
                       CASE WHEN i.id_error IS NOT NULL THEN b.id_raw END AS id_raw,
                       b.* EXCLUDE (src, kind, row, id_raw, id)
                FROM ({base or empty}) b JOIN ids i ON i.id = b.id"""
        )
        self._exec(
            f"""CREATE OR REPLACE TABLE pop AS
                SELECT pid, arg_min(name, {_KEY}) AS name, min({_KEY}) AS k,
                       arg_min(substr(region_code, 1, 6), {_KEY}) AS county,
                       bool_and(status = '{ALIVE}') AS all_alive,
                       min(coalesce(name, '')) <> max(coalesce(name, '')) AS several_names
                FROM rows WHERE kind = 'population' AND id_error IS NULL GROUP BY pid"""
        )
        cutoff = pension_birth_cutoff(as_of)
        with self._registered(shebao_flags=self._person_flags()):
            self._exec(
                f"""CREATE OR REPLACE TABLE persons AS
                SELECT p.pid, p.name, p.k, p.county,
                       p.all_alive AND f.bits & {_DEAD} = 0 AS alive,
                       CAST(substr(i.id, 7, 8) AS INTEGER) AS birth_ymd,
                       CAST(substr(i.id, 7, 8) AS INTEGER) <= {cutoff} AS adult,
                       f.bits & {_STUDENT} <> 0 AS student,
                       f.bits & {_PENSION_INSURED} <> 0 AS pension_insured,
                       f.bits & {_MEDICAL_INSURED} <> 0 AS medical_insured
                FROM pop p
                JOIN ids i ON i.pid = p.pid
                JOIN shebao_flags f ON f.pid = p.pid"""
            )
        self._exec(
            """CREATE OR REPLACE TABLE findings (
                ord INTEGER, category VARCHAR, src INTEGER, source VARCHAR, row BIGINT,
                id_number VARCHAR, name VARCHAR, matched_id_number VARCHAR,
                match_probability DOUBLE, detail VARCHAR)"""
        )

    def _person_flags(self) -> pa.Table:
        """(pid, bits) for every pid: _PENSION_INSURED, _MEDICAL_INSURED, _DEAD (in the
        death source), _STUDENT. The pids are dense (0 … n-1), so the flags are set in a
        NumPy array indexed by pid from the rows that set them: grouping 25 million records
        by person in SQL took most of the persons table's time."""
        count = int(self._exec("SELECT count(*) FROM ids")[0][0])
        records = self._arrow(
            f"""SELECT pid, bits FROM (
                    SELECT pid,
                        CASE WHEN scheme_code IN {_PENSION} AND (
                                (kind = 'enrollment' AND status IN {_INSURED})
                                OR (kind = 'benefit' AND status = '{PAID_BENEFIT}'))
                             THEN {_PENSION_INSURED} ELSE 0 END
                        + CASE WHEN kind = 'enrollment' AND scheme_code IN {_MEDICAL}
                                    AND status IN {_INSURED}
                               THEN {_MEDICAL_INSURED} ELSE 0 END
                        + CASE WHEN kind = 'death' THEN {_DEAD} ELSE 0 END
                        + CASE WHEN kind = 'student' THEN {_STUDENT} ELSE 0 END AS bits
                    FROM rows
                    WHERE id_error IS NULL
                      AND kind IN ('enrollment', 'benefit', 'death', 'student'))
                WHERE bits <> 0"""
        )
        pids = records.column("pid").to_numpy()
        bits = records.column("bits").to_numpy()
        flags = np.zeros(count, dtype=np.int32)
        for bit in (_PENSION_INSURED, _MEDICAL_INSURED, _DEAD, _STUDENT):
            # One bit at a time: with repeated pids, a |= of several bits at once loses some.
            flags[pids[(bits & bit) != 0]] |= bit
        return pa.table(
            {"pid": pa.array(np.arange(count, dtype=np.int32)), "bits": pa.array(flags)}
        )

    def _rows_select(self, src: int, snap: SourceSnapshot) -> str:
        fields = _FIELD_OF_KIND[snap.kind]
        columns = ", ".join(
            f"CAST({fields[f]} AS {t}) AS {f}" if f in fields else f"NULL::{t} AS {f}"
            for f, t in _ROW_FIELDS.items()
        )
        return f"""SELECT {src}::INTEGER AS src, '{snap.kind.value}'::shebao_kind AS kind,
                    row::BIGINT AS row, id_number_raw AS id_raw,
                    coalesce(id_number, '') AS id, name, {columns}
                FROM read_parquet({_s(str(snap.path))})"""

    # --- categories ----------------------------------------------------------------------

    def find(self, category: Category) -> int:
        finder = self._finders.get(category)
        if finder is None:
            raise NotImplementedError(f"{category} is not computed by the DuckDB engine")
        finder()
        counted = self._exec("SELECT count(*) FROM findings WHERE category = $c", {"c": category})
        return int(counted[0][0])

    def _insert(self, category: Category, select: str) -> None:
        """`select` yields src, row, id_number, name, detail (src and row NULL for persons)."""
        self._exec(
            f"""INSERT INTO findings
                SELECT {category.order}, '{category.value}', f.src, s.source, f.row,
                       f.id_number, f.name, NULL, NULL, f.detail
                FROM ({select}) f LEFT JOIN sources s ON s.src = f.src"""
        )

    def _population_names(self) -> str:
        names = [s.source for s in self._sources if s.kind is SourceKind.POPULATION]
        return "[" + ", ".join(_s(n) for n in names) + "]::VARCHAR[]"

    def _invalid_id(self) -> None:
        self._insert(
            Category.INVALID_ID,
            f"""SELECT r.src, r.row, r.id_raw AS id_number, r.name,
                    json_object(
                        'reason', '身份证号码无效：' || {_case("r.id_error", _ID_ERROR_LABELS)},
                        'error', r.id_error, 'column', s.id_header, 'value', r.id_raw) AS detail
                FROM rows r JOIN sources s ON s.src = r.src
                WHERE r.id_error IS NOT NULL""",
        )

    def _not_in_population(self) -> None:
        self._insert(
            Category.NOT_IN_POPULATION,
            f"""SELECT r.src, r.row, i.id AS id_number, r.name,
                    json_object('reason', '公安人口库中没有该公民身份号码',
                                'column', s.id_header,
                                'population_sources', {self._population_names()}) AS detail
                FROM rows r JOIN sources s ON s.src = r.src JOIN ids i ON i.pid = r.pid
                WHERE r.kind <> 'population' AND r.id_error IS NULL AND NOT r.in_pop""",
        )

    def _name_mismatch(self) -> None:
        # Pairs whose names differ as written, or whose person has several names in the
        # population base: the only ones normalisation can change.
        candidates = pl.DataFrame(
            self._arrow(
                """SELECT r.src, r.row, r.pid, coalesce(r.name, '') AS name
                   FROM rows r JOIN pop p ON p.pid = r.pid
                   WHERE r.kind <> 'population' AND r.id_error IS NULL
                     AND (coalesce(r.name, '') <> coalesce(p.name, '') OR p.several_names)"""
            )
        )
        if candidates.is_empty():
            return
        with self._registered(shebao_candidates=candidates.select("pid").to_arrow()):
            population = pl.DataFrame(
                self._arrow(
                    """SELECT DISTINCT pid, coalesce(name, '') AS name FROM rows
                       WHERE kind = 'population' AND id_error IS NULL
                         AND pid IN (SELECT pid FROM shebao_candidates)"""
                )
            )
        distinct = set(candidates["name"].unique().to_list())
        distinct |= set(population["name"].unique().to_list())
        normalised = {name: normalize_name(name) for name in distinct}

        def norm(frame: pl.DataFrame) -> pl.DataFrame:
            return frame.with_columns(
                pl.col("name").replace_strict(normalised, return_dtype=pl.String).alias("norm")
            )

        mismatched = norm(candidates).join(
            norm(population).select("pid", "norm"), on=["pid", "norm"], how="anti"
        )
        if mismatched.is_empty():
            return
        with self._registered(shebao_mismatched=mismatched.select("src", "row", "pid").to_arrow()):
            self._insert(
                Category.NAME_MISMATCH,
                """WITH names AS (
                        SELECT pid, list(DISTINCT name ORDER BY name) AS names FROM rows
                        WHERE kind = 'population' AND id_error IS NULL
                          AND pid IN (SELECT pid FROM shebao_mismatched)
                        GROUP BY pid)
                   SELECT r.src, r.row, i.id AS id_number, r.name,
                        json_object('reason', '姓名与公安人口库不一致',
                            'column', s.name_header, 'value', r.name,
                            'population_names', names.names,
                            'population', {'source': ps.source, 'row': p.k % 10000000000})
                            AS detail
                    FROM shebao_mismatched m
                    JOIN rows r ON r.src = m.src AND r.row = m.row
                    JOIN ids i ON i.pid = r.pid
                    JOIN sources s ON s.src = r.src
                    JOIN pop p ON p.pid = r.pid
                    JOIN sources ps ON ps.src = p.k // 10000000000
                    JOIN names ON names.pid = r.pid""",
            )

    def _sorted_keys(self, sql: str) -> np.ndarray:
        """The single BIGINT column of `sql`, sorted. Keys that are nearly all distinct are
        grouped by sorting them in NumPy: DuckDB's hash aggregate over 37 million such keys
        took 10-16 s, the export and sort 4 s."""
        return np.sort(self._con.sql(sql).to_arrow_table().column(0).to_numpy())

    @staticmethod
    def _runs(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and last index of each run of equal values in the sorted `groups`."""
        if groups.size == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        ends = np.r_[starts[1:], groups.size] - 1
        return starts, ends

    def _duplicate_record(self) -> None:
        # (number, scheme code, source) as one BIGINT; scheme codes have 3 digits (checked
        # on intake), 0 standing for none. Counting first and listing rows only for the
        # duplicated keys keeps the list aggregate off the millions of keys that occur once.
        sources = len(self._sources)
        keys = self._sorted_keys(
            f"""SELECT (pid::BIGINT * 1000 + coalesce(scheme_code::INTEGER, 0)) * {sources}
                       + src
                FROM rows WHERE id_error IS DISTINCT FROM '{IdErrorCode.EMPTY}'"""
        )
        starts, ends = self._runs(keys)
        repeated = ends > starts
        dup_keys = _arrow_table(
            {"key": keys[starts[repeated]], "n": ends[repeated] - starts[repeated] + 1}
        )
        del keys, starts, ends
        with self._registered(shebao_dup_keys=dup_keys):
            self._insert(
                Category.DUPLICATE_RECORD,
                f"""WITH dup AS (
                        SELECT CAST(key % {sources} AS INTEGER) AS src,
                               CAST(key // {sources} // 1000 AS INTEGER) AS pid,
                               coalesce(CAST(NULLIF(key // {sources} % 1000, 0) AS VARCHAR), '')
                                   AS scheme, n
                        FROM shebao_dup_keys),
                    grouped AS (
                        SELECT r.src, r.pid, d.scheme, d.n, min(r.row) AS first_row,
                               list(r.row ORDER BY r.row) AS rows
                        FROM rows r JOIN dup d ON d.src = r.src AND d.pid = r.pid
                             AND d.scheme = coalesce(r.scheme_code, '')
                        GROUP BY r.src, r.pid, d.scheme, d.n)
                   SELECT g.src, g.first_row AS row, {_ID_OUT} AS id_number, r.name,
                          json_object(
                            'reason', '同一公民身份号码在本文件中出现' || g.n || '次'
                                || CASE WHEN g.scheme <> '' THEN '（险种代码' || g.scheme || '）'
                                        ELSE '' END,
                            'rows', g.rows, 'scheme_code', NULLIF(g.scheme, '')) AS detail
                   FROM grouped g JOIN rows r ON r.src = g.src AND r.row = g.first_row
                   JOIN ids i ON i.pid = r.pid""",
            )

    def _duplicate_enrollment(self) -> None:
        pension = SchemeGroup.PENSION
        grp = (
            f"CASE WHEN scheme_code IN {_PENSION} THEN '{pension.value}' "
            f"ELSE '{SchemeGroup.MEDICAL.value}' END"
        )
        active = (
            f"kind = 'enrollment' AND id_error IS NULL AND status = '{ACTIVE_ENROLLMENT}' "
            f"AND scheme_code IN {_in(PENSION_SCHEMES | MEDICAL_SCHEMES)}"
        )
        # Two enrollments differ in scheme or region exactly when the (scheme, region)
        # values of the person's group do not all agree. Each active enrollment becomes one
        # BIGINT: (number, group) above, scheme code (3 digits) and region (6 digits, both
        # checked on intake) below; sorted, a group whose first and last values differ is
        # a duplicate. The evidence is gathered for the (few) persons found only.
        values = self._sorted_keys(
            f"""SELECT (pid::BIGINT * 2 + (scheme_code IN {_PENSION})::INTEGER) * {_GROUP_SHIFT}
                       + scheme_code::BIGINT * 1000000 + region_code::BIGINT
                FROM rows WHERE {active}"""
        )
        starts, ends = self._runs(values // _GROUP_SHIFT)
        differing = values[starts] != values[ends]
        dup_groups = _arrow_table({"key": values[starts[differing]] // _GROUP_SHIFT})
        del values, starts, ends
        with self._registered(shebao_dup_groups=dup_groups):
            self._insert(
                Category.DUPLICATE_ENROLLMENT,
                f"""WITH dup AS (
                        SELECT CAST(key // 2 AS INTEGER) AS pid,
                               CASE WHEN key % 2 = 1 THEN '{pension.value}'
                                    ELSE '{SchemeGroup.MEDICAL.value}' END AS grp
                        FROM shebao_dup_groups),
                    active AS (
                        SELECT src, row, pid, name, scheme_code, region_code, {_KEY} AS k,
                            {grp} AS grp
                        FROM rows WHERE {active} AND pid IN (SELECT pid FROM dup))
                   SELECT NULL::INTEGER AS src, NULL::BIGINT AS row,
                          any_value(i.id) AS id_number,
                          coalesce(any_value(p.name), arg_min(a.name, a.k)) AS name,
                          json_object(
                            'reason', CASE WHEN a.grp = '{pension.value}'
                                THEN '{pension.label}' ELSE '{SchemeGroup.MEDICAL.label}' END
                                || '重复参保：同时有多条参保缴费记录（险种或参保地不同）',
                            'group', a.grp,
                            'enrollments', list({{'source': s.source, 'row': a.row,
                                'scheme_code': a.scheme_code, 'region_code': a.region_code}}
                                ORDER BY a.k)) AS detail
                   FROM active a
                   JOIN dup d ON d.pid = a.pid AND d.grp = a.grp
                   JOIN sources s ON s.src = a.src
                   JOIN ids i ON i.pid = a.pid
                   LEFT JOIN pop p ON p.pid = a.pid
                   GROUP BY a.pid, a.grp""",
            )

    def _uninsured(self, category: Category, group: SchemeGroup, condition: str) -> None:
        """Persons of `persons` meeting `condition`, with the group's records that did not
        count (terminated enrollments, benefits not being paid) as evidence."""
        schemes = _PENSION if group is SchemeGroup.PENSION else _MEDICAL
        if category is Category.PENSION_UNINSURED:
            reason = (
                "年满16周岁、非在校学生，无养老保险参保缴费、暂停缴费记录，也无正常发放的养老待遇"
            )
        else:
            reason = "无医疗保险参保缴费、暂停缴费记录"
        age = f"(({self._as_of_ymd()} - u.birth_ymd) // 10000)"
        self._insert(
            category,
            f"""WITH u AS (SELECT * FROM persons WHERE {condition}),
                other AS (
                    SELECT r.pid, list({{'source': s.source, 'row': r.row,
                        'scheme_code': r.scheme_code,
                        'status': {_case("r.status", _STATUS_LABELS)}}} ORDER BY r.src, r.row)
                        AS records
                    FROM rows r JOIN sources s ON s.src = r.src
                    WHERE r.kind IN {_RECORD_KINDS} AND r.id_error IS NULL
                      AND r.scheme_code IN {schemes}
                      AND r.pid IN (SELECT pid FROM u)
                    GROUP BY r.pid)
               SELECT NULL::INTEGER AS src, NULL::BIGINT AS row, i.id AS id_number, u.name,
                      json_object('reason', '{reason}', 'county_code', u.county,
                          'birth_date', strftime(strptime(u.birth_ymd::VARCHAR, '%Y%m%d'),
                                                 '%Y-%m-%d'),
                          'age', {age},
                          'population', {{'source': s.source, 'row': u.k % 10000000000}},
                          'records', coalesce(o.records, [])) AS detail
               FROM u JOIN sources s ON s.src = u.k // 10000000000
               JOIN ids i ON i.pid = u.pid
               LEFT JOIN other o ON o.pid = u.pid""",
        )

    def _as_of_ymd(self) -> int:
        if self._as_of is None:
            raise RuntimeError("load() first")
        return self._as_of.year * 10000 + self._as_of.month * 100 + self._as_of.day

    def _pension_uninsured(self) -> None:
        self._uninsured(
            Category.PENSION_UNINSURED,
            SchemeGroup.PENSION,
            "alive AND adult AND NOT student AND NOT pension_insured",
        )

    def _medical_uninsured(self) -> None:
        self._uninsured(
            Category.MEDICAL_UNINSURED, SchemeGroup.MEDICAL, "alive AND NOT medical_insured"
        )

    def _deceased_active(self) -> None:
        self._insert(
            Category.DECEASED_ACTIVE,
            f"""WITH dead AS (
                    SELECT pid, src, row, name, kind, death_date, {_KEY} AS k FROM rows
                    WHERE id_error IS NULL AND (kind = 'death'
                          OR (kind = 'population' AND status = '{DECEASED}'))),
                -- The dead are few: their records are looked up, not all records scanned
                -- against them.
                active AS (
                    SELECT pid, src, row, name, kind, scheme_code, status, {_KEY} AS k
                    FROM rows
                    WHERE id_error IS NULL
                      AND ((kind = 'enrollment' AND status = '{ACTIVE_ENROLLMENT}')
                           OR (kind = 'benefit' AND status = '{PAID_BENEFIT}'))
                      AND pid IN (SELECT pid FROM dead)),
                d AS (SELECT d.pid, arg_min(d.name, d.k) AS name,
                          list({{'source': s.source, 'row': d.row,
                                'death_date': d.death_date}} ORDER BY d.k) AS death
                      FROM dead d JOIN sources s ON s.src = d.src
                      WHERE d.pid IN (SELECT pid FROM active) GROUP BY d.pid),
                a AS (SELECT a.pid, arg_min(a.name, a.k) AS name,
                          list({{'source': s.source, 'row': a.row,
                                'scheme_code': a.scheme_code,
                                'status': {_case("a.status", _STATUS_LABELS)}}} ORDER BY a.k)
                              AS active
                      FROM active a JOIN sources s ON s.src = a.src GROUP BY a.pid)
               SELECT NULL::INTEGER AS src, NULL::BIGINT AS row, i.id AS id_number,
                      coalesce(p.name, d.name, a.name) AS name,
                      json_object('reason', '已死亡，仍有参保缴费记录或正常发放的待遇',
                                  'death', d.death, 'active', a.active) AS detail
               FROM d JOIN a ON a.pid = d.pid JOIN ids i ON i.pid = d.pid
               LEFT JOIN pop p ON p.pid = d.pid""",
        )

    def _imprisoned_benefit(self) -> None:
        on = self._date
        self._insert(
            Category.IMPRISONED_BENEFIT,
            f"""WITH jail AS (
                    SELECT pid, src, row, name, sentence_start, sentence_end, {_KEY} AS k
                    FROM rows
                    WHERE kind = 'prison' AND id_error IS NULL AND sentence_start <= {on}
                      AND (sentence_end IS NULL OR {on} <= sentence_end)),
                paid AS (
                    SELECT pid, src, row, name, scheme_code, last_paid_month, {_KEY} AS k
                    FROM rows
                    WHERE kind = 'benefit' AND id_error IS NULL
                      AND status = '{PAID_BENEFIT}' AND scheme_code IN {_PENSION}
                      AND pid IN (SELECT pid FROM jail)),
                j AS (SELECT j.pid, arg_min(j.name, j.k) AS name,
                          list({{'source': s.source, 'row': j.row, 'start': j.sentence_start,
                                'end': j.sentence_end}} ORDER BY j.k) AS prison
                      FROM jail j JOIN sources s ON s.src = j.src
                      WHERE j.pid IN (SELECT pid FROM paid) GROUP BY j.pid),
                b AS (SELECT b.pid, list({{'source': s.source, 'row': b.row,
                                'scheme_code': b.scheme_code,
                                'last_paid_month': b.last_paid_month}} ORDER BY b.k) AS benefits
                      FROM paid b JOIN sources s ON s.src = b.src GROUP BY b.pid)
               SELECT NULL::INTEGER AS src, NULL::BIGINT AS row, i.id AS id_number,
                      coalesce(p.name, j.name) AS name,
                      json_object('reason', '服刑期间仍正常领取养老保险待遇',
                                  'prison', j.prison, 'benefits', b.benefits) AS detail
               FROM j JOIN b ON b.pid = j.pid JOIN ids i ON i.pid = j.pid
               LEFT JOIN pop p ON p.pid = j.pid""",
        )

    # --- probabilistic linkage (PROBABLE_MATCH) ---------------------------------------------

    def linkage_candidates(self) -> pa.Table:
        """Rows flagged INVALID_ID or NOT_IN_POPULATION, one per (source, row), with what the
        ID number tells where it can be read (see `ComparisonEngine.linkage_candidates`)."""
        on = self._date
        return self._arrow(
            f"""WITH c AS (
                    SELECT r.src, r.row, r.kind, r.name, r.region_code,
                           {_ID_OUT} AS id_number
                    FROM rows r JOIN ids i ON i.pid = r.pid
                    WHERE r.id_error IS NOT NULL
                       OR (r.kind <> 'population' AND NOT r.in_pop))
                SELECT s.source, c.row, c.id_number, c.name,
                       shebao_id_birth_date(coalesce(c.id_number, ''), {on}) AS birth_date,
                       CASE shebao_id_gender(coalesce(c.id_number, ''), {on})
                            WHEN 'M' THEN '1' WHEN 'F' THEN '2' END AS gender,
                       CASE WHEN c.kind IN ('population', 'enrollment')
                            THEN substr(c.region_code, 1, 6) END AS region
                FROM c JOIN sources s ON s.src = c.src
                ORDER BY c.src, c.row"""
        )

    def linkage_population(self) -> pa.Table:
        """One row per valid ID number of the population base: the name and county of its
        first population row (as the other categories cite it), `number_status` "unused"
        where no department row has the number; and one per invalid number (as read) a
        population row holds, "invalid". In no particular order (the linkage does not depend
        on it)."""
        on = self._date
        # The valid numbers: birth date and gender are plain substrings.
        return self._arrow(
            f"""SELECT i.id AS id_number, p.name,
                      CAST(strptime(substr(i.id, 7, 8), '%Y%m%d') AS DATE) AS birth_date,
                      CASE WHEN CAST(substr(i.id, 17, 1) AS INTEGER) % 2 = 1
                           THEN '1' ELSE '2' END AS gender,
                      p.county AS region,
                      CASE WHEN u.pid IS NULL THEN 'unused' END AS number_status
               FROM pop p JOIN ids i ON i.pid = p.pid
               LEFT JOIN (SELECT DISTINCT pid FROM rows WHERE kind <> 'population') u
                   ON u.pid = p.pid
               UNION ALL
               SELECT id_raw AS id_number, name,
                      shebao_id_birth_date(id_raw, {on}) AS birth_date,
                      CASE shebao_id_gender(id_raw, {on})
                           WHEN 'M' THEN '1' WHEN 'F' THEN '2' END AS gender,
                      region, 'invalid' AS number_status
               FROM (SELECT id_raw, arg_min(name, {_KEY}) AS name,
                            arg_min(substr(region_code, 1, 6), {_KEY}) AS region
                     FROM rows
                     WHERE kind = 'population' AND id_error IS NOT NULL
                       AND coalesce(id_raw, '') <> ''
                     GROUP BY id_raw)"""
        )

    def add_findings(self, findings: pa.Table) -> int:
        """Append findings (FINDINGS_COLUMNS) computed outside the engine."""
        if findings.num_rows == 0:
            return 0
        order = pa.table(
            {
                "category": [c.value for c in Category],
                "ord": pa.array([c.order for c in Category], pa.int32()),
            }
        )
        with self._registered(
            shebao_added=findings.select(list(FINDINGS_COLUMNS)), shebao_order=order
        ):
            self._exec(
                """INSERT INTO findings
                   SELECT o.ord, f.category, s.src, f.source, f.row, f.id_number, f.name,
                          f.matched_id_number, f.match_probability, f.detail
                   FROM shebao_added f JOIN shebao_order o ON o.category = f.category
                   LEFT JOIN sources s ON s.source = f.source"""
            )
        return findings.num_rows

    # --- results -------------------------------------------------------------------------

    def write_findings(self, path: Path) -> int:
        self._exec(
            f"""COPY (SELECT category, source, row, id_number, name, matched_id_number,
                         match_probability, detail
                  FROM findings ORDER BY {FINDINGS_ORDER_BY})
                TO {_s(str(path))} (FORMAT csv, HEADER true)"""
        )
        counted = self._exec("SELECT count(*) FROM findings")
        return int(counted[0][0])

    def coverage(self) -> list[CoverageRow]:
        rows = self._exec(
            """SELECT county,
                  count(*) FILTER (WHERE alive),
                  count(*) FILTER (WHERE alive AND adult AND NOT student),
                  count(*) FILTER (WHERE alive AND adult AND NOT student AND pension_insured),
                  count(*) FILTER (WHERE alive AND medical_insured)
               FROM persons GROUP BY county ORDER BY county"""
        )
        return [
            CoverageRow(
                county_code=county or "",
                county_name="",
                population=int(population),
                pension_eligible=int(eligible),
                pension_insured=int(pension),
                medical_insured=int(medical),
            )
            for county, population, eligible, pension, medical in rows
        ]
