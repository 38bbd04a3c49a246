"""Bulk loading of household, person, employer and enrollment frames into the registry.

The frames are staged in temporary tables — with COPY on PostgreSQL, with `executemany` in
large batches on SQLite — and moved into the registry by set-based INSERT … SELECT, all in
one transaction. Loading is idempotent: households, persons and employers whose number, ID
number or credit code already exist are skipped (the existing row wins), and so is an
enrollment that the person already has for the same scheme and start date.

Columns expected (the layout of `shebao.synthetic`):
    households   household_number, village_code, address
    persons      id_number, name, gender, birth_date, ethnicity, hukou_region_code,
                 residence_region_code, household_number, relation_to_head, hukou_type,
                 life_status, status_date, phone
    employers    credit_code, name, kind, region_code, registered_on, is_active
    enrollments  id_number, scheme_code, employer_credit_code, insurance_region_code,
                 status, start_date, end_date
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import polars as pl
from django.db import IntegrityError, connection, models, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User
from shebao.errors import ValidationFailed
from shebao.geo.models import Region
from shebao.registry.models import Employer, Enrollment, Household, Person
from shebao.vault.keys import keyring

__all__ = ["BulkLoadResult", "RegistryFrames", "registry_bulk_load", "registry_dataset_load"]

_SQLITE_BATCH: Final[int] = 50_000
_COPY_CHUNK: Final[int] = 200_000
# A load this large changes the tables' statistics enough to refresh them at once.
_ANALYZE_AFTER: Final[int] = 10_000


class RegistryFrames(Protocol):
    """Anything with the four frames, such as `shebao.synthetic.SyntheticDataset`."""

    @property
    def households(self) -> pl.DataFrame: ...
    @property
    def persons(self) -> pl.DataFrame: ...
    @property
    def employers(self) -> pl.DataFrame: ...
    @property
    def enrollments(self) -> pl.DataFrame: ...


@dataclass(frozen=True)
class BulkLoadResult:
    households: int
    persons: int
    employers: int
    enrollments: int
    households_skipped: int
    persons_skipped: int
    employers_skipped: int
    enrollments_skipped: int
    seconds: float

    @property
    def created(self) -> int:
        return self.households + self.persons + self.employers + self.enrollments


# Stage tables: (name, [(column, PostgreSQL type)], source frame columns in the same order).
_TEXT, _DATE, _BOOL = "text", "date", "boolean"
_STAGES: Final[dict[str, tuple[tuple[str, str, str], ...]]] = {
    "employer": (
        ("credit_code", _TEXT, "credit_code"),
        ("name", _TEXT, "name"),
        ("kind", _TEXT, "kind"),
        ("region_id", _TEXT, "region_code"),
        ("registered_on", _DATE, "registered_on"),
        ("is_active", _BOOL, "is_active"),
    ),
    "household": (
        ("number", _TEXT, "household_number"),
        ("region_id", _TEXT, "village_code"),
        ("address", _TEXT, "address"),
    ),
    "person": (
        ("id_number", _TEXT, "id_number"),
        ("name", _TEXT, "name"),
        ("gender", _TEXT, "gender"),
        ("birth_date", _DATE, "birth_date"),
        ("ethnicity", _TEXT, "ethnicity"),
        ("hukou_region_id", _TEXT, "hukou_region_code"),
        ("residence_region_id", _TEXT, "residence_region_code"),
        ("household_number", _TEXT, "household_number"),
        ("relation_to_head", _TEXT, "relation_to_head"),
        ("hukou_type", _TEXT, "hukou_type"),
        ("life_status", _TEXT, "life_status"),
        ("status_date", _DATE, "status_date"),
        ("phone", _TEXT, "phone"),
    ),
    "enrollment": (
        ("id_number", _TEXT, "id_number"),
        ("scheme_id", _TEXT, "scheme_code"),
        ("employer_credit_code", _TEXT, "employer_credit_code"),
        ("insurance_region_id", _TEXT, "insurance_region_code"),
        ("status", _TEXT, "status"),
        ("start_date", _DATE, "start_date"),
        ("end_date", _DATE, "end_date"),
    ),
}
_KEYS: Final[dict[str, list[str]]] = {
    "employer": ["credit_code"],
    "household": ["household_number"],
    "person": ["id_number"],
    "enrollment": ["id_number", "scheme_code", "start_date"],
}
# Text columns that are NOT NULL in the registry: a missing value becomes "".
_BLANK_IS_EMPTY: Final[frozenset[str]] = frozenset(
    {"address", "ethnicity", "relation_to_head", "phone"}
)

# Columns sealed with SM4 (EncryptedTextField in the registry's models).
_SEALED: Final[dict[str, tuple[str, ...]]] = {"household": ("address",), "person": ("phone",)}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _stage_name(kind: str) -> str:
    return f"shebao_stage_{kind}"


def _prepare(kind: str, frame: pl.DataFrame) -> pl.DataFrame:
    spec = _STAGES[kind]
    missing = [src for _, _, src in spec if src not in frame.columns]
    if missing:
        raise ValidationFailed(
            f"批量导入数据缺少字段：{'、'.join(missing)}",
            code="BULK_COLUMNS_MISSING",
            details=[{"frame": kind, "missing": missing}],
        )
    columns = []
    for column, sql_type, src in spec:
        expr = pl.col(src)
        if sql_type == _DATE:
            expr = expr.cast(pl.Date)
        elif sql_type == _BOOL:
            expr = expr.cast(pl.Boolean)
        else:
            expr = expr.cast(pl.String)
            if src in _BLANK_IS_EMPTY:
                expr = expr.fill_null("")
        columns.append(expr.alias(column))
    staged = frame.unique(subset=_KEYS[kind], keep="first", maintain_order=True).select(columns)
    sealed = _SEALED.get(kind, ())
    if sealed and staged.height:
        # Personal data is sealed before it reaches the stage table (ADR 0017): one cipher,
        # one pass over each column, no ORM.
        cipher = keyring().cipher
        staged = staged.with_columns(
            pl.Series(c, cipher.encrypt_many(staged[c].to_list()), dtype=pl.String) for c in sealed
        )
    return staged


def _create_stage(cursor: CursorWrapper, kind: str) -> None:
    name = _q(_stage_name(kind))
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    if connection.vendor == "postgresql":
        cols = ", ".join(f"{_q(c)} {t}" for c, t, _ in _STAGES[kind])
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({cols}) ON COMMIT DROP")
    else:
        cols = ", ".join(_q(c) for c, _, _ in _STAGES[kind])
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({cols})")


def _fill_stage(cursor: CursorWrapper, kind: str, frame: pl.DataFrame) -> None:
    name = _q(_stage_name(kind))
    cols = ", ".join(_q(c) for c in frame.columns)
    if connection.vendor == "postgresql":
        sql = f"COPY {name} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        with cursor.cursor.copy(sql) as copy:
            for start in range(0, frame.height, _COPY_CHUNK):
                buffer = io.BytesIO()
                frame.slice(start, _COPY_CHUNK).write_csv(
                    buffer, include_header=False, null_value="\\N", date_format="%Y-%m-%d"
                )
                copy.write(buffer.getvalue())
        cursor.execute(f"ANALYZE {name}")
        return
    # SQLite keeps dates as ISO text and booleans as 0/1.
    rows = frame.with_columns(pl.col(pl.Date).cast(pl.String))
    placeholders = ", ".join(["%s"] * len(frame.columns))
    sql = f"INSERT INTO {name} ({cols}) VALUES ({placeholders})"  # noqa: S608 - quoted names
    for start in range(0, rows.height, _SQLITE_BATCH):
        cursor.executemany(sql, list(rows.slice(start, _SQLITE_BATCH).iter_rows()))


def _defaults(model: type[models.Model], provided: Sequence[str]) -> list[tuple[str, Any]]:
    """Columns the stage does not provide, with their model defaults (adapted for the
    database), so that a field added to the model later does not break the load."""
    out: list[tuple[str, Any]] = []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.column in provided:
            continue
        value = f.get_default()  # "" for text fields without a default, else None
        if (value is None and not f.null) or not (f.has_default() or f.blank or f.null):
            raise ValidationFailed(
                f"{model._meta.verbose_name}的字段 {f.name} 无默认值，无法批量导入",
                code="BULK_FIELD_UNSUPPORTED",
            )
        out.append((str(f.column), f.get_db_prep_save(value, connection)))
    return out


def _insert(
    cursor: CursorWrapper,
    model: type[models.Model],
    select: dict[str, str],
    from_where: str,
    conflict: str | None,
    extra: dict[str, Any] | None = None,
) -> int:
    """INSERT INTO model (...) SELECT ... ; returns the number of rows inserted."""
    extra = dict(extra or {})
    provided = list(select) + list(extra)
    defaults = _defaults(model, provided)
    columns = list(select) + list(extra) + [c for c, _ in defaults]
    values = list(select.values()) + ["%s"] * len(extra) + ["%s"] * len(defaults)
    params = list(extra.values()) + [v for _, v in defaults]
    sql = (
        f"INSERT INTO {_q(model._meta.db_table)} ({', '.join(_q(c) for c in columns)}) "
        f"SELECT {', '.join(values)} {from_where}"
    )
    if conflict:
        sql += f" ON CONFLICT ({_q(conflict)}) DO NOTHING"
    cursor.execute(sql, params)
    return max(cursor.rowcount, 0)


def _check_regions(frames: dict[str, pl.DataFrame]) -> None:
    wanted: set[str] = set()
    for kind, frame in frames.items():
        for column, _, _ in _STAGES[kind]:
            if column.endswith("region_id"):
                wanted.update(frame[column].drop_nulls().unique().to_list())
    known: set[str] = set()
    codes = sorted(wanted)
    for start in range(0, len(codes), 5_000):
        chunk = codes[start : start + 5_000]
        known.update(Region.objects.filter(code__in=chunk).values_list("code", flat=True))
    missing = sorted(wanted - known)
    if missing:
        raise ValidationFailed(
            f"有 {len(missing)} 个区划代码不存在（如 {missing[0]}），请先加载行政区划",
            code="REGION_UNKNOWN",
            details=[{"region_code": c} for c in missing[:20]],
        )


def registry_bulk_load(
    *,
    households: pl.DataFrame,
    persons: pl.DataFrame,
    employers: pl.DataFrame,
    enrollments: pl.DataFrame,
    actor: User | None = None,
    source: str = "bulk",
) -> BulkLoadResult:
    """Load the four frames into the registry in one transaction; see the module docstring."""
    started = time.perf_counter()
    frames = {
        "employer": _prepare("employer", employers),
        "household": _prepare("household", households),
        "person": _prepare("person", persons),
        "enrollment": _prepare("enrollment", enrollments),
    }
    _check_regions(frames)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    s = {kind: _q(_stage_name(kind)) for kind in frames}
    person_t, household_t, employer_t = (
        _q(m._meta.db_table) for m in (Person, Household, Employer)
    )
    enrollment_t = _q(Enrollment._meta.db_table)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for kind, frame in frames.items():
                _create_stage(cursor, kind)
                _fill_stage(cursor, kind, frame)
            employers_n = _insert(
                cursor,
                Employer,
                {c: f"s.{_q(c)}" for c, _, _ in _STAGES["employer"]},
                f"FROM {s['employer']} s WHERE true",
                "credit_code",
            )
            households_n = _insert(
                cursor,
                Household,
                {c: f"s.{_q(c)}" for c, _, _ in _STAGES["household"]},
                f"FROM {s['household']} s WHERE true",
                "number",
            )
            person_cols = {
                c: f"s.{_q(c)}" for c, _, _ in _STAGES["person"] if c != "household_number"
            }
            person_cols["household_id"] = "h.id"
            persons_n = _insert(
                cursor,
                Person,
                person_cols,
                f"FROM {s['person']} s LEFT JOIN {household_t} h "
                "ON h.number = s.household_number WHERE true",
                "id_number",
                {"created_at": now, "updated_at": now},
            )
            enrollments_n = _insert(
                cursor,
                Enrollment,
                {
                    "person_id": "p.id",
                    "scheme_id": "s.scheme_id",
                    "employer_id": "e.id",
                    "insurance_region_id": "s.insurance_region_id",
                    "status": "s.status",
                    "start_date": "s.start_date",
                    "end_date": "s.end_date",
                },
                f"FROM {s['enrollment']} s JOIN {person_t} p ON p.id_number = s.id_number "  # noqa: S608
                f"LEFT JOIN {employer_t} e ON e.credit_code = s.employer_credit_code "
                f"WHERE NOT EXISTS (SELECT 1 FROM {enrollment_t} x WHERE x.person_id = p.id "
                "AND x.scheme_id = s.scheme_id AND x.start_date = s.start_date)",
                None,
                {"source": source[:64]},
            )
            for kind in frames:
                cursor.execute(f"DROP TABLE IF EXISTS {s[kind]}")
            if connection.vendor == "postgresql" and persons_n >= _ANALYZE_AFTER:
                # Autovacuum's statistics lag a bulk load by minutes: until then the planner
                # took a 1 M-person region for a thousand rows and a name search went from
                # 2 ms to 124-287 ms (issue #14 §4 load bench).
                for model in (Household, Person, Enrollment):
                    cursor.execute(f"ANALYZE {_q(model._meta.db_table)}")
            result = BulkLoadResult(
                households=households_n,
                persons=persons_n,
                employers=employers_n,
                enrollments=enrollments_n,
                households_skipped=frames["household"].height - households_n,
                persons_skipped=frames["person"].height - persons_n,
                employers_skipped=frames["employer"].height - employers_n,
                enrollments_skipped=frames["enrollment"].height - enrollments_n,
                seconds=time.perf_counter() - started,
            )
            audit_record(
                actor=actor,
                action=AuditAction.IMPORT,
                target_type="registry",
                detail={
                    "source": source,
                    "households": households_n,
                    "persons": persons_n,
                    "employers": employers_n,
                    "enrollments": enrollments_n,
                },
            )
    except IntegrityError as exc:
        # Name the constraint, never the offending values (they may be personal data).
        diag = getattr(exc.__cause__, "diag", None)
        constraint = getattr(diag, "constraint_name", None) or str(exc).split(":")[-1].strip()
        raise ValidationFailed(
            f"批量导入的数据违反数据库约束（{constraint}），已全部回滚",
            code="BULK_CONSTRAINT_VIOLATED",
            details=[{"constraint": constraint}],
        ) from None
    return result


def registry_dataset_load(
    *, dataset: RegistryFrames, actor: User | None = None, source: str = "synthetic"
) -> BulkLoadResult:
    """`registry_bulk_load` of a dataset's four frames."""
    return registry_bulk_load(
        households=dataset.households,
        persons=dataset.persons,
        employers=dataset.employers,
        enrollments=dataset.enrollments,
        actor=actor,
        source=source,
    )
