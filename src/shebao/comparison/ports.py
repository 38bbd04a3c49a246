"""The engine port: what the pipeline asks of a back end (DuckDB now, Spark later).

An engine reads standardised Parquet snapshots (one per source file, as the intake writes
them), computes one category at a time into its own findings table, writes findings.csv and
returns the coverage per county. The rules are in `domain`; an engine only executes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from shebao.comparison.domain import Category, CoverageRow
from shebao.errors import ShebaoError
from shebao.intake.formats.kinds import SourceKind

__all__ = ["ComparisonEngine", "ComparisonError", "ComparisonErrorCode", "SourceSnapshot"]


class ComparisonErrorCode(StrEnum):
    ENGINE_UNAVAILABLE = "ENGINE_UNAVAILABLE"
    BAD_ARGUMENT = "BAD_ARGUMENT"
    DUPLICATE_SOURCE = "DUPLICATE_SOURCE"
    NO_SOURCES = "NO_SOURCES"


class ComparisonError(ShebaoError):
    def __init__(
        self, code: ComparisonErrorCode, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(code=code.value, message=message, status=422, details=details or [])


@dataclass(frozen=True, slots=True)
class SourceSnapshot:
    """A standardised source: its kind, its file name (as findings cite it), the Parquet
    snapshot and the headers its columns had in the file (cited in the evidence)."""

    kind: SourceKind
    source: str
    path: Path
    rows: int
    headers: dict[str, str] = field(default_factory=dict)  # field -> header in the file


class ComparisonEngine(Protocol):
    name: str

    def load(self, sources: list[SourceSnapshot], *, as_of: date) -> None:
        """Read the snapshots and validate the ID numbers as of `as_of`."""

    def find(self, category: Category) -> int:
        """Compute one category's findings; return how many."""

    def write_findings(self, path: Path) -> int:
        """Write findings.csv (UTF-8, FINDINGS_COLUMNS) in category, source, row order."""

    def linkage_candidates(self) -> pa.Table:
        """Rows flagged INVALID_ID or NOT_IN_POPULATION, one per (source,row): columns
        source (str), row (int64), id_number (str, as read, or normalised where valid),
        name (str, as read), birth_date (date32, from the ID number when derivable else
        null), gender (str '1'/'2' or null), region (str, 6-digit county code from the
        row's region column when the source has one, else null)."""

    def linkage_population(self) -> pa.Table:
        """The population base: id_number (normalised), name (as read), birth_date (date32),
        gender, region (6-digit county code of 户籍地区划代码), number_status: null, "unused"
        (valid, but on no department's row) or "invalid" (a population row's number that
        fails validation, as read; birth date and gender where derivable, as for
        candidates)."""

    def add_findings(self, findings: pa.Table) -> int:
        """Append rows with the FINDINGS_COLUMNS schema (domain.py) to the engine's findings."""

    def coverage(self) -> list[CoverageRow]:
        """Coverage per county, ordered by county code."""

    def close(self) -> None: ...
