"""Loading a run's findings.csv into the database in bulk, and refreshing persons'
registration status set-based. Never row by row.

findings.csv is read with Polars, staged in a temporary table (COPY on PostgreSQL,
`executemany` in large batches on SQLite, as `registry.bulk` does) and moved into
`registration_finding` by one INSERT … SELECT that resolves the person by normalised ID
number and the region by the person's residence (else household registration, else the
county of the ID number's address code).
"""

# ruff: noqa: S608 - SQL is built from this module's constants and quoted table names.
from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Final

import polars as pl
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from shebao.comparison.domain import FINDINGS_COLUMNS, PENSION_MIN_AGE, Category
from shebao.geo.models import Region
from shebao.intake.formats.kinds import SourceKind
from shebao.intake.models import ImportBatch
from shebao.intake.selectors import import_batch_chain, import_batches_current
from shebao.intake.storage import intake_path
from shebao.registration.choices import (
    UNINSURED_CATEGORIES,
    UNRESOLVED_STATUSES,
    FindingStatus,
    RegistrationState,
)
from shebao.registration.models import ComparisonRun, Finding, PersonRegistration
from shebao.registration.sources import run_sources
from shebao.registry.choices import EnrollmentStatus, LifeStatus, SchemeGroup
from shebao.registry.models import Enrollment, Person, Scheme

__all__ = ["findings_load", "registration_refresh"]

_STAGE: Final[str] = "shebao_stage_finding"
_STUDENTS: Final[str] = "shebao_stage_student"
_COPY_CHUNK: Final[int] = 200_000
_SQLITE_BATCH: Final[int] = 50_000
_STAGE_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("sid", "bigint"),
    ("category", "text"),
    ("source", "text"),
    ("row", "bigint"),
    ("id_number", "text"),
    ("name", "text"),
    ("matched_id_number", "text"),
    ("match_probability", "double precision"),
    ("detail", "text"),
    ("source_key", "text"),
    ("fallback_region", "text"),
)
_RESOLVED: Final[str] = "shebao_stage_finding_resolved"
# What tells two findings of one category and one ID number apart within a run, besides the
# kind of the source: the scheme of a duplicated record, the scheme group of a duplicate
# enrollment. Other repeats (two rows of one person in one file) are told apart by order.
_DISCRIMINATORS: Final[dict[str, str]] = {
    Category.DUPLICATE_RECORD.value: "$.scheme_code",
    Category.DUPLICATE_ENROLLMENT.value: "$.group",
}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _read(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(
        path,
        schema_overrides=dict.fromkeys(FINDINGS_COLUMNS, pl.String),
        infer_schema=False,
    )
    return frame.select(
        pl.col("category"),
        pl.col("source").fill_null(""),
        pl.col("row").cast(pl.Int64, strict=False),
        pl.col("id_number").fill_null("").str.slice(0, 64),
        pl.col("name").fill_null("").str.slice(0, 128),
        pl.col("matched_id_number").fill_null("").str.slice(0, 18),
        pl.col("match_probability").cast(pl.Float64, strict=False),
        pl.col("detail").fill_null("{}"),
    )


def _keyed(frame: pl.DataFrame, run: ComparisonRun) -> pl.DataFrame:
    """`frame` with `sid` (its position), `source_key` (the kind of the source file, the
    discriminator of the category and the finding's ordinal among the run's findings of the
    same category, ID number, kind and discriminator) and `fallback_region` (the region of
    the office that imported the source: where a finding goes that cannot be placed by the
    person or the ID number)."""
    batches = run_sources(run)
    kinds = {name: b.kind for name, b in batches.items()}
    regions = {name: _office_region(b) for name, b in batches.items()}
    population = [b for b in batches.values() if b.kind == SourceKind.POPULATION]
    # Person-level findings (no source) fall back to the population base's office.
    regions[""] = _office_region(population[0]) if population else ""
    discriminator = pl.lit("")
    for category, json_path in _DISCRIMINATORS.items():
        discriminator = (
            pl.when(pl.col("category") == category)
            .then(pl.col("detail").str.json_path_match(json_path).fill_null(""))
            .otherwise(discriminator)
        )
    keyed = frame.with_columns(
        pl.col("source").replace_strict(kinds, default="", return_dtype=pl.String).alias("kind"),
        discriminator.cast(pl.String).alias("disc"),
    ).with_columns(
        (pl.int_range(pl.len()).over(["category", "id_number", "kind", "disc"]) + 1).alias("n"),
    )
    return keyed.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("sid"),
        *(pl.col(c) for c in FINDINGS_COLUMNS),
        pl.concat_str(
            [
                pl.col("kind"),
                pl.when(pl.col("disc") != "")
                .then(pl.lit("/") + pl.col("disc"))
                .otherwise(pl.lit("")),
                pl.lit("#"),
                pl.col("n").cast(pl.String),
            ]
        )
        .str.slice(0, 64)
        .alias("source_key"),
        pl.col("source")
        .replace_strict(regions, default=regions[""], return_dtype=pl.String)
        .alias("fallback_region"),
    )


def _office_region(batch: ImportBatch) -> str:
    """The region of the office that imported `batch` ("" when unknown)."""
    if batch.region_id:
        return str(batch.region_id)
    creator = batch.created_by
    if creator is not None and creator.organisation is not None:
        return str(creator.organisation.region_id)
    return ""


def _stage(cursor: CursorWrapper, frame: pl.DataFrame) -> None:
    name = _q(_STAGE)
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    if connection.vendor == "postgresql":
        cols = ", ".join(f"{_q(c)} {t}" for c, t in _STAGE_COLUMNS)
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({cols}) ON COMMIT DROP")
        column_list = ", ".join(_q(c) for c, _ in _STAGE_COLUMNS)
        sql = f"COPY {name} ({column_list}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        with cursor.cursor.copy(sql) as copy:
            for start in range(0, frame.height, _COPY_CHUNK):
                buffer = io.BytesIO()
                frame.slice(start, _COPY_CHUNK).write_csv(
                    buffer, include_header=False, null_value="\\N"
                )
                copy.write(buffer.getvalue())
        cursor.execute(f"ANALYZE {name}")
        return
    cursor.execute(f"CREATE TEMPORARY TABLE {name} ({', '.join(_q(c) for c, _ in _STAGE_COLUMNS)})")
    placeholders = ", ".join(["%s"] * len(_STAGE_COLUMNS))
    sql = f"INSERT INTO {name} VALUES ({placeholders})"
    for start in range(0, frame.height, _SQLITE_BATCH):
        cursor.executemany(sql, list(frame.slice(start, _SQLITE_BATCH).iter_rows()))


def findings_load(*, run: ComparisonRun, path: Path) -> int:
    """Load the findings of `path` (findings.csv) for `run`; returns how many. Call inside
    the transaction that records the run as succeeded.

    A finding an earlier run found too (same category, ID number and source key) is that
    same finding: it moves to this run with the new evidence and keeps its identity, status,
    assignee, note and resolution. A resolved finding whose problem is still there stays
    resolved. The others are inserted open. Each is placed by its person's region (of the
    matched person, for a probable match), else the county of its ID number, else the
    region of the office that imported its file (so that no finding is in nobody's queue).
    Findings of earlier runs that this run did not find stay with their last run."""
    frame = _read(path)
    if frame.height == 0:
        return 0
    frame = _keyed(frame, run)
    finding_t = _q(Finding._meta.db_table)
    person_t = _q(Person._meta.db_table)
    region_t = _q(Region._meta.db_table)
    stage = _q(_STAGE)
    resolved = _q(_RESOLVED)
    detail = "x.detail::jsonb" if connection.vendor == "postgresql" else "x.detail"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    row = _q("row")
    temporary = (
        "CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS "
        if connection.vendor == "postgresql"
        else "CREATE TEMPORARY TABLE {name} AS "
    )
    with connection.cursor() as cursor:
        _stage(cursor, frame)
        cursor.execute(f"DROP TABLE IF EXISTS {resolved}")
        cursor.execute(
            temporary.format(name=resolved) + f"SELECT s.*, COALESCE(p.id, m.id) AS person_id, "
            "COALESCE(p.residence_region_id, p.hukou_region_id, m.residence_region_id, "
            "m.hukou_region_id, r.code, o.code) AS region_id, "
            f"(SELECT MAX(f.id) FROM {finding_t} f WHERE f.id_number = s.id_number "
            "AND f.category = s.category AND f.source_key = s.source_key) AS fid "
            f"FROM {stage} s LEFT JOIN {person_t} p ON p.id_number = s.id_number "
            # A probable match is about the person it names: their clerk works it.
            f"LEFT JOIN {person_t} m ON s.category = %s AND m.id_number = s.matched_id_number "
            f"LEFT JOIN {region_t} r ON r.code = substr(s.id_number, 1, 6) "
            f"LEFT JOIN {region_t} o ON o.code = s.fallback_region",
            [Category.PROBABLE_MATCH.value],
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {resolved}")
        cursor.execute(
            f"UPDATE {finding_t} SET run_id = %s, source = x.source, {row} = x.{row}, "
            "name = x.name, matched_id_number = x.matched_id_number, "
            f"match_probability = x.match_probability, detail = {detail}, "
            "person_id = x.person_id, region_id = x.region_id "
            f"FROM {resolved} x WHERE {finding_t}.id = x.fid",
            [run.pk],
        )
        kept = max(cursor.rowcount, 0)
        cursor.execute(
            f"INSERT INTO {finding_t} (run_id, first_run_id, category, source_key, source, "
            f"{row}, id_number, name, matched_id_number, match_probability, detail, person_id, "
            "region_id, status, note, updated_at) "
            f"SELECT %s, %s, x.category, x.source_key, x.source, x.{row}, x.id_number, x.name, "
            f"x.matched_id_number, x.match_probability, {detail}, x.person_id, x.region_id, "
            f"%s, '', %s FROM {resolved} x WHERE x.fid IS NULL ORDER BY x.sid",
            [run.pk, run.pk, FindingStatus.OPEN, now],
        )
        inserted = max(cursor.rowcount, 0)
        cursor.execute(f"DROP TABLE IF EXISTS {resolved}")
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        _carry_over(cursor, run)
    return kept + inserted


def _carry_over(cursor: CursorWrapper, run: ComparisonRun) -> int:
    """Findings loaded before findings kept their identity (source_key empty): a new finding
    of the same category for the same ID number and name takes over the latest such
    finding's resolution, confirmed or dismissed (with its note, who and when)."""
    finding_t = _q(Finding._meta.db_table)
    kept = (FindingStatus.CONFIRMED, FindingStatus.DISMISSED)
    cursor.execute(
        f"UPDATE {finding_t} SET status = o.status, note = o.note, "
        "resolved_by_id = o.resolved_by_id, resolved_at = o.resolved_at "
        f"FROM (SELECT category, id_number, name, MAX(id) AS id FROM {finding_t} "
        "WHERE run_id <> %s AND source_key = '' AND status IN (%s, %s) "
        "GROUP BY category, id_number, name) k "
        f"JOIN {finding_t} o ON o.id = k.id "
        f"WHERE {finding_t}.run_id = %s AND {finding_t}.first_run_id = %s "
        f"AND {finding_t}.status = %s AND {finding_t}.category = k.category "
        f"AND {finding_t}.id_number = k.id_number AND {finding_t}.name = k.name",
        [run.pk, *kept, run.pk, run.pk, FindingStatus.OPEN],
    )
    return max(cursor.rowcount, 0)


def _eligible_cutoff(as_of: date) -> date:
    try:
        return as_of.replace(year=as_of.year - PENSION_MIN_AGE)
    except ValueError:  # 29 February
        return as_of.replace(year=as_of.year - PENSION_MIN_AGE, day=28)


def _student_batches(run: ComparisonRun | None) -> list[ImportBatch]:
    """The student data the status follows: the run's (so that eligibility agrees with its
    PENSION_UNINSURED findings), else the current student data; every batch of it (a full
    snapshot and the increments on it: increments only add or replace students)."""
    if run is not None:
        batches = list(run.inputs.filter(kind=SourceKind.STUDENT).order_by("id"))
        if batches:
            return batches
    current = import_batches_current(kinds=[SourceKind.STUDENT])
    return import_batch_chain(current[0]) if current else []


def _stage_students(
    cursor: CursorWrapper, run: ComparisonRun | None, person_ids: list[int] | None
) -> None:
    """Stage the valid ID numbers of the student source (of `person_ids`' persons only, when
    given) in a temporary table: students are not counted as pension-eligible (the comparison
    excludes them from PENSION_UNINSURED)."""
    name = _q(_STUDENTS)
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMPORARY TABLE {name} (id_number varchar(18) PRIMARY KEY)")
    paths = [
        intake_path(b.snapshot_path)
        for b in _student_batches(run)
        if b.snapshot_path and intake_path(b.snapshot_path).exists()
    ]
    if not paths:
        return
    frame = pl.concat(
        [pl.scan_parquet(path).select(pl.col("id_number")) for path in paths]
    ).drop_nulls()
    if person_ids is not None:
        wanted = list(Person.objects.filter(pk__in=person_ids).values_list("id_number", flat=True))
        frame = frame.filter(pl.col("id_number").is_in(wanted))
    ids = frame.filter(pl.col("id_number").str.len_chars() == 18).unique().collect()
    if ids.height == 0:
        return
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {name} (id_number) FROM STDIN") as copy:
            for start in range(0, ids.height, _COPY_CHUNK):
                buffer = io.BytesIO()
                ids.slice(start, _COPY_CHUNK).write_csv(buffer, include_header=False)
                copy.write(buffer.getvalue())
        cursor.execute(f"ANALYZE {name}")
        return
    sql = f"INSERT INTO {name} (id_number) VALUES (%s)"
    for start in range(0, ids.height, _SQLITE_BATCH):
        cursor.executemany(sql, list(ids.slice(start, _SQLITE_BATCH).iter_rows()))


def registration_refresh(
    *, run: ComparisonRun | None, as_of: date, person_ids: list[int] | None = None
) -> int:
    """(Re)compute PersonRegistration for every person of the registry, or for `person_ids`:
    coverage per scheme group from the registry's enrollments (paying or paused), and the
    state from coverage and the findings of `run`. Pension-eligible: aged 16 or over on
    `as_of` and not in the student data (see `_student_batches`). Returns rows written.

    The state agrees with the findings: 应参未参 when an uninsured finding is unresolved or
    confirmed, or when a group the person must be covered in has no enrollment in the
    registry and no uninsured finding of that group settled (corrected: the enrollment is
    recorded elsewhere; dismissed: e.g. insured in another city); 待核实 when other findings
    are unresolved; else 已登记 (直接确认参保登记) for the living; 不适用 for the others.

    One INSERT … SELECT over persons LEFT JOIN two pre-aggregations (enrollments per person,
    unresolved findings per person): no per-person subqueries, whatever the planner's
    statistics say about freshly loaded tables."""
    if person_ids is not None and not person_ids:
        return 0
    reg_t = _q(PersonRegistration._meta.db_table)
    person_t = _q(Person._meta.db_table)
    enrollment_t = _q(Enrollment._meta.db_table)
    scheme_t = _q(Scheme._meta.db_table)
    finding_t = _q(Finding._meta.db_table)
    insured = ", ".join(f"'{s}'" for s in (EnrollmentStatus.ACTIVE, EnrollmentStatus.SUSPENDED))
    unresolved = ", ".join(f"'{s}'" for s in UNRESOLVED_STATUSES)
    uninsured_in = ", ".join(f"'{c}'" for c in UNINSURED_CATEGORIES)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    run_id = run.pk if run is not None else None
    ids: list[int] = list(person_ids) if person_ids is not None else []
    marks = ", ".join(["%s"] * len(ids))

    def only(column: str) -> str:
        return f" AND {column} IN ({marks})" if person_ids is not None else ""

    group = _q("group")
    enrolled = (
        f"SELECT e.person_id, "
        f"MIN(CASE WHEN sc.{group} = '{SchemeGroup.PENSION}' THEN e.scheme_id END) AS pension, "
        f"MIN(CASE WHEN sc.{group} = '{SchemeGroup.MEDICAL}' THEN e.scheme_id END) AS medical "
        f"FROM {enrollment_t} e JOIN {scheme_t} sc ON sc.code = e.scheme_id "
        f"WHERE e.status IN ({insured}){only('e.person_id')} GROUP BY e.person_id"
    )
    confirmed = f"'{FindingStatus.CONFIRMED}'"
    settled = f"'{FindingStatus.CORRECTED}', '{FindingStatus.DISMISSED}'"

    def count(condition: str) -> str:
        return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    pension_c = f"f.category = '{Category.PENSION_UNINSURED}'"
    medical_c = f"f.category = '{Category.MEDICAL_UNINSURED}'"
    flagged = (
        f"SELECT f.person_id, {count(f'f.status IN ({unresolved})')} AS n, "
        f"{count(f'f.status IN ({unresolved}) AND f.category IN ({uninsured_in})')} "
        "AS uninsured, "
        f"{count(f'f.status = {confirmed} AND {pension_c}')} AS p_confirmed, "
        f"{count(f'f.status = {confirmed} AND {medical_c}')} AS m_confirmed, "
        f"{count(f'f.status IN ({settled}) AND {pension_c}')} AS p_settled, "
        f"{count(f'f.status IN ({settled}) AND {medical_c}')} AS m_settled "
        f"FROM {finding_t} f WHERE f.run_id = %s "
        f"AND f.person_id IS NOT NULL{only('f.person_id')} GROUP BY f.person_id"
    )
    pension = "COALESCE(e.pension, '')"
    # A date literal of this module's making (no input): it appears several times.
    eligible = f"(p.birth_date <= '{_eligible_cutoff(as_of).isoformat()}' AND st.id_number IS NULL)"
    medical = "COALESCE(e.medical, '')"
    state = (
        f"CASE WHEN p.life_status <> '{LifeStatus.ALIVE}' "
        f"THEN '{RegistrationState.NOT_APPLICABLE}' "
        f"WHEN COALESCE(f.uninsured, 0) > 0 "
        f"OR ({eligible} AND COALESCE(f.p_confirmed, 0) > 0) "
        f"OR COALESCE(f.m_confirmed, 0) > 0 THEN '{RegistrationState.UNINSURED}' "
        f"WHEN COALESCE(f.n, 0) > 0 THEN '{RegistrationState.PENDING}' "
        f"WHEN ({medical} = '' AND COALESCE(f.m_settled, 0) = 0) "
        f"OR ({eligible} AND {pension} = '' AND COALESCE(f.p_settled, 0) = 0) "
        f"THEN '{RegistrationState.UNINSURED}' "
        f"ELSE '{RegistrationState.REGISTERED}' END"
    )
    where = f" WHERE p.id IN ({marks})" if person_ids is not None else ""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {finding_t}")
        _stage_students(cursor, run, person_ids)
        if person_ids is None:
            cursor.execute(f"DELETE FROM {reg_t}")
        else:
            cursor.execute(f"DELETE FROM {reg_t} WHERE person_id IN ({marks})", ids)
        cursor.execute(
            f"INSERT INTO {reg_t} (person_id, state, region_id, pension_eligible, pension_scheme, "
            "medical_scheme, open_findings, run_id, updated_at) "
            f"SELECT p.id, {state}, COALESCE(p.residence_region_id, p.hukou_region_id), "
            f"{eligible}, {pension}, {medical}, COALESCE(f.n, 0), %s, %s "
            f"FROM {person_t} p LEFT JOIN ({enrolled}) e ON e.person_id = p.id "
            f"LEFT JOIN ({flagged}) f ON f.person_id = p.id "
            f"LEFT JOIN {_q(_STUDENTS)} st ON st.id_number = p.id_number{where}",
            [run_id, now, *ids, run_id, *ids, *ids],
        )
        written = max(cursor.rowcount, 0)
        cursor.execute(f"DROP TABLE IF EXISTS {_q(_STUDENTS)}")
        return written
