"""What the SQL engines of the comparison share: the fields they read from each kind of
snapshot, the labels and reasons their evidence quotes, and findings.csv itself.

The DuckDB and Spark engines must write byte-identical findings.csv files. Both therefore
hand their findings to `write_findings_csv`, one DuckDB COPY with one ORDER BY, so that the
quoting, the number formats and the order of the lines cannot drift apart; only the detail
JSON is each engine's own (and the agreement test compares it).
"""

# ruff: noqa: S608 - SQL is built here from this module's constants; the path is quoted.
from __future__ import annotations

from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa

from shebao.comparison.domain import FINDINGS_COLUMNS, Category
from shebao.identity.id_number import IdErrorCode
from shebao.intake.formats.kinds import (
    BenefitStatus,
    EnrollmentStatus,
    PersonStatus,
    SourceKind,
)

__all__ = [
    "COMPARED_FIELDS",
    "FIELD_OF_KIND",
    "FINDINGS_ORDER_BY",
    "FINDINGS_SCHEMA",
    "ID_ERROR_LABELS",
    "REASONS",
    "ROW_FIELDS",
    "STATUS_LABELS",
    "sql_case",
    "sql_in",
    "sql_string",
    "write_findings_csv",
]

# Kind-specific fields of the standardised tables, as columns of the engines' row table.
ROW_FIELDS: Final[dict[str, str]] = {
    "scheme_code": "VARCHAR",
    "status": "VARCHAR",
    "region_code": "VARCHAR",
    "death_date": "DATE",
    "sentence_start": "DATE",
    "sentence_end": "DATE",
    "last_paid_month": "VARCHAR",
}
FIELD_OF_KIND: Final[dict[SourceKind, dict[str, str]]] = {
    SourceKind.POPULATION: {
        "status": "person_status",
        "region_code": "hukou_region_code",
        "death_date": "death_date",
    },
    SourceKind.ENROLLMENT: {
        "scheme_code": "scheme_code",
        "status": "enrollment_status",
        "region_code": "insurance_region_code",
    },
    SourceKind.BENEFIT: {
        "scheme_code": "scheme_code",
        "status": "benefit_status",
        "last_paid_month": "last_paid_month",
    },
    SourceKind.DEATH: {"death_date": "death_date"},
    SourceKind.PRISON: {"sentence_start": "sentence_start", "sentence_end": "sentence_end"},
    SourceKind.STUDENT: {},
}

# The standardised fields the engines read, per kind (intake standardises only these and the
# required ones for a comparison of files).
COMPARED_FIELDS: Final[dict[SourceKind, frozenset[str]]] = {
    kind: frozenset({"id_number", "name", *fields.values()})
    for kind, fields in FIELD_OF_KIND.items()
}

STATUS_LABELS: Final[dict[str, str]] = {
    **{s.value: s.label for s in EnrollmentStatus},
    **{s.value: s.label for s in BenefitStatus},
    **{s.value: s.label for s in PersonStatus},
}
ID_ERROR_LABELS: Final[dict[str, str]] = {code.value: code.message for code in IdErrorCode}

# The fixed texts of the evidence ("reason" in the detail JSON).
REASONS: Final[dict[str, str]] = {
    "invalid_id": "身份证号码无效：",
    "not_in_population": "公安人口库中没有该公民身份号码",
    "name_mismatch": "姓名与公安人口库不一致",
    "duplicate_record": "同一公民身份号码在本文件中出现",
    "duplicate_enrollment": "重复参保：同时有多条参保缴费记录（险种或参保地不同）",
    "pension_uninsured": (
        "年满16周岁、非在校学生，无养老保险参保缴费、暂停缴费记录，也无正常发放的养老待遇"
    ),
    "medical_uninsured": "无医疗保险参保缴费、暂停缴费记录",
    "deceased_active": "已死亡，仍有参保缴费记录或正常发放的待遇",
    "imprisoned_benefit": "服刑期间仍正常领取养老保险待遇",
}

# The order of findings.csv: category, file, row; persons by ID number. The detail breaks
# the one remaining tie (a person's pension and medical DUPLICATE_ENROLLMENT).
FINDINGS_ORDER_BY: Final[str] = "ord, src NULLS FIRST, row, id_number, detail"

FINDINGS_SCHEMA: Final[pa.Schema] = pa.schema(
    [
        ("category", pa.string()),
        ("source", pa.string()),
        ("row", pa.int64()),
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("matched_id_number", pa.string()),
        ("match_probability", pa.float64()),
        ("detail", pa.string()),
    ]
)
if tuple(FINDINGS_SCHEMA.names) != FINDINGS_COLUMNS:  # pragma: no cover - kept in step
    raise RuntimeError("FINDINGS_SCHEMA does not match FINDINGS_COLUMNS")


def sql_string(text: str) -> str:
    """A SQL string literal (standard quoting: DuckDB; Spark is given no outside text)."""
    return "'" + text.replace("'", "''") + "'"


def sql_in(values: frozenset[str]) -> str:
    return "(" + ", ".join(sql_string(v) for v in sorted(values)) + ")"


def sql_case(column: str, labels: dict[str, str]) -> str:
    whens = " ".join(f"WHEN {sql_string(k)} THEN {sql_string(v)}" for k, v in labels.items())
    return f"CASE {column} {whens} ELSE {column} END"


def write_findings_csv(findings: pa.Table, sources: list[str], path: Path) -> int:
    """Write `findings` (FINDINGS_SCHEMA) to findings.csv in the order of FINDINGS_ORDER_BY,
    `sources` giving the order of the files; returns the number of findings."""
    con = duckdb.connect()
    try:
        order = pa.table(
            {
                "category": [c.value for c in Category],
                "ord": pa.array([c.order for c in Category], pa.int32()),
            }
        )
        files = pa.table(
            {"source": sources, "src": pa.array(range(len(sources)), pa.int32())},
        )
        con.register("shebao_findings", findings.cast(FINDINGS_SCHEMA))
        con.register("shebao_order", order)
        con.register("shebao_files", files)
        con.execute(
            f"""COPY (SELECT category, source, row, id_number, name, matched_id_number,
                             match_probability, detail
                      FROM (SELECT f.*, o.ord, s.src FROM shebao_findings f
                            JOIN shebao_order o USING (category)
                            LEFT JOIN shebao_files s USING (source))
                      ORDER BY {FINDINGS_ORDER_BY})
                TO {sql_string(str(path))} (FORMAT csv, HEADER true)"""
        )
    finally:
        con.close()
    return findings.num_rows
