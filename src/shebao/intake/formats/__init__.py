"""Department files (CSV, XLSX, Parquet) read into standardised tables. Pure: no Django.

    from shebao.intake.formats import SourceKind, parse_source

    parsed = parse_source("人口.csv")              # kind recognised from the headers
    parsed = parse_source("参保.xlsx", SourceKind.ENROLLMENT)
    parsed.table        # pyarrow Table: source, row, id_number_raw, id_number, name, ...
    parsed.rejected     # pyarrow Table: source, row, column, code, reason
    parsed.write_snapshot("snapshots/参保.parquet")

A file that cannot be imported at all raises `IntakeError` (code + Chinese message).
"""

from shebao.intake.formats.errors import IntakeError, IntakeErrorCode, RejectCode
from shebao.intake.formats.headers import header_key, match_columns, recognise_kind
from shebao.intake.formats.kinds import (
    KIND_SPECS,
    BenefitStatus,
    ColumnSpec,
    EnrollmentStatus,
    KindSpec,
    PersonStatus,
    SourceKind,
    ValueType,
    spec_of,
)
from shebao.intake.formats.parsing import (
    REJECTED_SCHEMA,
    ParsedSource,
    parse_source,
    standardise,
)
from shebao.intake.formats.readers import RawTable, read_raw
from shebao.intake.formats.sql import register_intake_macros

__all__ = [
    "KIND_SPECS",
    "REJECTED_SCHEMA",
    "BenefitStatus",
    "ColumnSpec",
    "EnrollmentStatus",
    "IntakeError",
    "IntakeErrorCode",
    "KindSpec",
    "ParsedSource",
    "PersonStatus",
    "RawTable",
    "RejectCode",
    "SourceKind",
    "ValueType",
    "header_key",
    "match_columns",
    "parse_source",
    "read_raw",
    "recognise_kind",
    "register_intake_macros",
    "spec_of",
    "standardise",
]
