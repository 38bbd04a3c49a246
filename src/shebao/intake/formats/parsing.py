"""From a raw table to the standardised table and the rejected rows, in one DuckDB pass.

The standardised table has `source` (the file name), `row` (the 1-based data-row number) and
the kind's fields in English; coded values become the stable codes of `kinds`, dates become
DATE, ID numbers are kept as read (`id_number_raw`) and normalised (`id_number`: full-width
folded, `x` upper-cased, 15 digits upgraded to 18). An invalid ID number or an odd name is
not a reason to reject a row: the comparison reports it.

A row is rejected when a required column's cell cannot be read (empty, unknown code or status,
unparseable date, malformed region code); one rejected row may have several reasons, each a
line of `rejected` (source, row, column as headed in the file, code, Chinese reason). A cell of
an optional column that cannot be read is left empty.
"""

# ruff: noqa: S608 - SQL is built here from this module's constants; headers and file names
# from the file are quoted by _s() and _q().
from __future__ import annotations

import os
import queue
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shebao.intake.formats.errors import RejectCode
from shebao.intake.formats.headers import ColumnMatch, match_columns, recognise_kind
from shebao.intake.formats.kinds import (
    CODED_VALUES,
    EXPECTED_VALUES,
    KIND_SPECS,
    ColumnSpec,
    SourceKind,
    ValueType,
)
from shebao.intake.formats.readers import RawTable, read_raw
from shebao.intake.formats.sql import MAX_DATE, MIN_DATE, register_intake_macros

__all__ = ["REJECTED_SCHEMA", "ParsedSource", "parse_source", "standardise"]

REJECTED_SCHEMA: Final[pa.Schema] = pa.schema(
    [
        ("source", pa.string()),
        ("row", pa.int64()),
        ("column", pa.string()),
        ("code", pa.string()),
        ("reason", pa.string()),
    ]
)

_REJECT_CODE: Final[dict[ValueType, RejectCode]] = {
    ValueType.TEXT: RejectCode.MISSING_VALUE,  # a text cell fails only when empty
    ValueType.DATE: RejectCode.BAD_DATE,
    ValueType.MONTH: RejectCode.BAD_MONTH,
    ValueType.SCHEME: RejectCode.UNKNOWN_SCHEME,
    ValueType.ENROLLMENT_STATUS: RejectCode.UNKNOWN_STATUS,
    ValueType.BENEFIT_STATUS: RejectCode.UNKNOWN_STATUS,
    ValueType.PERSON_STATUS: RejectCode.UNKNOWN_STATUS,
    ValueType.GENDER: RejectCode.UNKNOWN_VALUE,
    ValueType.HUKOU_TYPE: RejectCode.UNKNOWN_VALUE,
    ValueType.REGION_CODE: RejectCode.BAD_REGION_CODE,
}
_BATCH_ROWS: Final[int] = 1 << 20
# Parsed batches DuckDB may run ahead of the snapshot writer.
_QUEUED_BATCHES: Final[int] = 2
# Rows trimmed and parsed at a time: a slice's trimmed copy of the cells is all that exists
# beside the file's cells (a 23-million-row file's copy took gigabytes).
_SLICE_ROWS: Final[int] = 4 * _BATCH_ROWS
# Columns of few distinct values, which Parquet dictionaries shrink for almost nothing.
_DICTIONARY_COLUMNS: Final[frozenset[str]] = frozenset(
    ["source"]
    + [
        column.field
        for spec in KIND_SPECS.values()
        for column in spec.columns
        if column.value_type in CODED_VALUES or column.value_type is ValueType.REGION_CODE
    ]
)
# Value types whose cells can never make a row unreadable.
_NEVER_REJECTED: Final[frozenset[ValueType]] = frozenset({ValueType.ID_NUMBER, ValueType.NAME})


@dataclass(frozen=True)
class ParsedSource:
    """One department file, read and standardised."""

    kind: SourceKind
    source: str  # the file name, as findings name it
    path: Path
    file_format: str
    encoding: str | None
    header_line: int
    columns: dict[str, str]  # field -> header as written in the file
    rows_read: int  # data rows that are not blank
    rows_accepted: int
    rejected: pa.Table = field(repr=False)  # REJECTED_SCHEMA, ordered by row
    snapshot: Path | None = None  # the Parquet snapshot, when one was written
    accepted: pa.Table | None = field(default=None, repr=False)

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_accepted

    @property
    def table(self) -> pa.Table:
        """The accepted rows, standardised (read back from the snapshot if there is one)."""
        if self.accepted is not None:
            return self.accepted
        if self.snapshot is None:
            raise ValueError("no standardised table")
        return pq.read_table(self.snapshot)

    def write_snapshot(self, path: str | os.PathLike[str]) -> Path:
        """Write the standardised table as Parquet."""
        target = Path(path)
        _write_parquet(self.table.to_reader(_BATCH_ROWS), target)
        return target


class _Ahead(Iterator[pa.RecordBatch]):
    """The batches of `source`, produced by a thread of their own up to `depth` ahead of the
    consumer. Writing a snapshot's batch takes one core; meanwhile DuckDB parses the next
    batches on the other instead of waiting. The consumer calls `close` when done (or
    failing): the thread stops and is joined."""

    _END: Final = object()

    def __init__(self, source: Iterator[pa.RecordBatch], depth: int) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._produce, args=(source,), name="shebao-intake-parse", daemon=True
        )
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, source: Iterator[pa.RecordBatch]) -> None:
        try:
            for batch in source:
                if not self._put(batch):
                    return
            self._put(self._END)
        except BaseException as error:  # handed to the consumer, raised there
            self._put(error)

    def __next__(self) -> pa.RecordBatch:
        item = self._queue.get()
        if item is self._END or isinstance(item, BaseException):
            self._queue.put(item)  # the producer is done: later calls end (or fail) too
        if item is self._END:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _write_parquet(batches: pa.RecordBatchReader, target: Path) -> None:
    """Stream record batches into a Parquet file: snappy, dictionaries only for the coded
    columns. Measured three times cheaper than zstd with dictionaries everywhere (DuckDB's
    COPY), which spent more time encoding than the whole standardisation."""
    target.parent.mkdir(parents=True, exist_ok=True)
    coded = [name for name in batches.schema.names if name in _DICTIONARY_COLUMNS]
    with pq.ParquetWriter(
        target, batches.schema, compression="snappy", use_dictionary=coded
    ) as writer:
        for batch in batches:
            writer.write_batch(batch)


def parse_source(
    path: str | os.PathLike[str],
    kind: SourceKind | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    snapshot: str | os.PathLike[str] | None = None,
    fields: Mapping[SourceKind, Collection[str]] | None = None,
    name: str | None = None,
) -> ParsedSource:
    """Read a department file and standardise it. `kind` None: recognised from the headers.
    `name`: the file's name as its owner gave it, if it is stored under another.

    With `snapshot`, DuckDB writes the accepted rows straight to that Parquet file (in its
    own threads, without a copy in Python memory) and `table` reads them back on demand.

    With `fields`, a file of a kind in it gets only those fields standardised, beside the
    required ones (which decide rejections) and the ID number: the comparison reads a few
    of a kind's columns. The other columns are still read, to tell blank rows, so the rows
    read, accepted and rejected are the same either way.

    Raises IntakeError (with a Chinese message naming the file) when the file cannot be
    imported at all: missing, unreadable, no header, unknown kind, a required column missing.
    """
    matched: list[ColumnMatch] = []

    def select(headers: tuple[str, ...]) -> list[int]:
        # The kind and the columns are settled from the headers before the rows are read,
        # so that only the kind's columns are read at all.
        found = match_columns(
            kind or recognise_kind(headers, source=display), headers, source=display
        )
        matched.append(found)
        return [position for position, _ in found.columns.values()]

    display = name or Path(path).name
    raw = read_raw(path, select=select, name=display)
    target = None if snapshot is None else Path(snapshot)
    kind = matched[0].kind
    wanted = None if fields is None or kind not in fields else frozenset(fields[kind])
    return standardise(raw, kind, path=Path(path), con=con, snapshot=target, fields=wanted)


def standardise(
    raw: RawTable,
    kind: SourceKind | None = None,
    *,
    path: Path | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    snapshot: Path | None = None,
    fields: frozenset[str] | None = None,
) -> ParsedSource:
    kind = kind or recognise_kind(raw.headers, source=raw.source)
    match = match_columns(kind, raw.headers, source=raw.source)
    with _connection(con) as db:
        accepted, rejected, rows_read, rows_accepted = _run(db, raw, match, snapshot, fields)
    return ParsedSource(
        kind=kind,
        source=raw.source,
        path=path or Path(raw.source),
        file_format=raw.file_format,
        encoding=raw.encoding,
        header_line=raw.header_line,
        columns={f: header for f, (_, header) in match.columns.items()},
        rows_read=rows_read,
        rows_accepted=rows_accepted,
        rejected=rejected,
        snapshot=snapshot,
        accepted=accepted,
    )


@contextmanager
def _connection(con: duckdb.DuckDBPyConnection | None) -> Iterator[duckdb.DuckDBPyConnection]:
    if con is not None:
        registered = con.sql(
            "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'shebao_parse_date'"
        ).fetchall()
        if not registered[0][0]:
            register_intake_macros(con)
        yield con
        return
    own = duckdb.connect()
    try:
        register_intake_macros(own)
        yield own
    finally:
        own.close()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _s(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parsed_expression(spec: ColumnSpec, cell: str) -> str:
    """SQL reading the cell `cell` (a column reference or NULL; trimmed, empty as NULL by
    the reader) as `spec` says. Coded values try the cell as written first, and only where
    that fails the folded form (full-width digits, a trailing ".0"): the common case pays
    for one comparison."""
    kind = spec.value_type
    if kind in (ValueType.NAME, ValueType.TEXT):
        return cell
    if kind is ValueType.DATE:
        return f"shebao_parse_date({cell})"
    if kind is ValueType.MONTH:
        return f"shebao_parse_month({cell})"
    if kind is ValueType.REGION_CODE:
        pattern = "'" + "|".join(f"[0-9]{{{n}}}" for n in spec.region_lengths) + "'"
        folded = f"shebao_code_text({cell})"
        return (
            f"CASE WHEN regexp_full_match({cell}, {pattern}) THEN {cell} "
            f"WHEN regexp_full_match({folded}, {pattern}) THEN {folded} END"
        )
    values = CODED_VALUES[kind]
    whens = " ".join(f"WHEN {_s(word)} THEN {_s(code)}" for word, code in values.items())
    direct = f"CASE {cell} {whens} END"
    # Not coalesce(): it evaluates both arguments on every row; CASE evaluates the fallback
    # only where the direct lookup failed.
    return (
        f"CASE WHEN {direct} IS NOT NULL THEN {direct} "
        f"ELSE CASE shebao_code_text({cell}) {whens} END END"
    )


def _reason(spec: ColumnSpec, header: str, code: RejectCode, value: str) -> str:
    """SQL for the Chinese reason of a rejected cell; `value` is the SQL of the cell text."""
    if code is RejectCode.MISSING_VALUE:
        return _s(f"必填列“{header}”为空")
    if code is RejectCode.BAD_DATE:
        return (
            f"{_s(f'“{header}”的值“')} || {value} || "
            f"{_s(f'”不是可识别的日期（如1990-01-02、1990/1/2、19900102、1990年1月2日；{MIN_DATE[:4]}至{MAX_DATE[:4]}年）')}"
        )
    if code is RejectCode.BAD_REGION_CODE:
        digits = "、".join(str(n) for n in spec.region_lengths)
        return f"{_s(f'“{header}”的值“')} || {value} || {_s(f'”不是{digits}位数字的行政区划代码')}"
    expected = EXPECTED_VALUES.get(spec.value_type, "")
    return f"{_s(f'“{header}”的值“')} || {value} || {_s(f'”无法识别，{expected}')}"


def _run(
    db: duckdb.DuckDBPyConnection,
    raw: RawTable,
    match: ColumnMatch,
    snapshot: Path | None,
    fields: frozenset[str] | None,
) -> tuple[pa.Table | None, pa.Table, int, int]:
    """Parse every row in one streamed DuckDB query. Each batch is split in Python into the
    accepted rows (written to the snapshot as they come) and the rejected ones (few), whose
    reasons are worded afterwards. `fields`: see `parse_source`."""
    spec = KIND_SPECS[match.kind]
    # (SQL expression, output name) of the standardised table, in order.
    outputs: list[tuple[str, str]] = [(_s(raw.source), "source"), ("row", "row")]
    checks: list[tuple[ColumnSpec, str]] = []
    # For each checked column, the cell where its value could not be read ('' when empty,
    # which tells an empty cell from an unreadable one), else NULL.
    bad_cells: list[tuple[str, str]] = []
    for column in spec.columns:
        position = match.columns.get(column.field, (None, ""))[0]
        cell = "NULL" if position is None else _q(f"c{position}")
        if column.value_type is ValueType.ID_NUMBER:
            outputs.append((f"CAST({cell} AS VARCHAR)", "id_number_raw"))
            outputs.append((f"shebao_normalize_id({cell})", "id_number"))
            continue
        if fields is not None and column.field not in fields and not column.required:
            continue
        cast = "DATE" if column.value_type is ValueType.DATE else "VARCHAR"
        outputs.append((f"CAST({_parsed_expression(column, cell)} AS {cast})", column.field))
        if column.required and column.value_type not in _NEVER_REJECTED:
            checks.append((column, match.columns[column.field][1]))
            bad_cells.append(
                (
                    f"CASE WHEN {_q(column.field)} IS NULL THEN coalesce({cell}, '') END",
                    f"_bad_{column.field}",
                )
            )
    cells = sorted({_q(f"c{position}") for position, _ in match.columns.values()})
    parsed = ", ".join(["row", *cells, *(f"{sql} AS {_q(name)}" for sql, name in outputs[1:])])
    names = [name for _, name in outputs]
    bad_names = [name for _, name in bad_cells]
    rejected_flag = " OR ".join(f"{_q(n)} IS NOT NULL" for n in bad_names) or "false"
    query = f"""SELECT {_s(raw.source)} AS source, {", ".join(_q(n) for n in names[1:])},
                   {"".join(f"{_q(n)}, " for n in bad_names)}{rejected_flag} AS _rejected
            FROM (SELECT *{"".join(f", {sql} AS {_q(n)}" for sql, n in bad_cells)}
                  FROM (SELECT {parsed} FROM shebao_raw))"""
    positions = sorted(position for position, _ in match.columns.values())

    offsets = range(0, max(raw.rows, 1), _SLICE_ROWS)  # one slice at least: the schema

    def open_slice(offset: int) -> pa.RecordBatchReader:
        db.register("shebao_raw", raw.cells(positions, offset, _SLICE_ROWS))
        return db.sql(query).to_arrow_reader(_BATCH_ROWS)

    first = open_slice(0)

    def parsed_batches() -> Iterator[pa.RecordBatch]:
        # Each slice is read to the end before the next one replaces the registered table.
        for index, offset in enumerate(offsets):
            yield from first if index == 0 else open_slice(offset)

    reader: Iterator[pa.RecordBatch] = (
        _Ahead(parsed_batches(), _QUEUED_BATCHES) if snapshot else parsed_batches()
    )
    accepted_schema = pa.schema([first.schema.field(n) for n in names])
    rejected_batches: list[pa.RecordBatch] = []
    counts = {"read": 0, "accepted": 0}

    def accepted() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            counts["read"] += batch.num_rows
            mask = batch.column("_rejected")
            if pc.any(mask).as_py():
                rejected_batches.append(batch.filter(mask).select(["row", *bad_names]))
                batch = batch.filter(pc.invert(mask))
            counts["accepted"] += batch.num_rows
            yield batch.select(names)

    table: pa.Table | None = None
    try:
        if snapshot is None:
            table = pa.Table.from_batches(list(accepted()), accepted_schema)
        else:
            batches = pa.RecordBatchReader.from_batches(accepted_schema, accepted())
            _write_parquet(batches, snapshot)
    finally:
        if isinstance(reader, _Ahead):
            reader.close()  # the producing thread ends before the table goes
        db.unregister("shebao_raw")
    rejected = REJECTED_SCHEMA.empty_table()
    if rejected_batches:
        db.register("shebao_bad", pa.Table.from_batches(rejected_batches))
        try:
            rejected = _reasons(db, raw.source, checks)
        finally:
            db.unregister("shebao_bad")
    return table, rejected, counts["read"], counts["accepted"]


def _reasons(
    db: duckdb.DuckDBPyConnection, source: str, checks: list[tuple[ColumnSpec, str]]
) -> pa.Table:
    """One line per unreadable cell of the rejected rows, in row and column order."""
    parts = []
    for order, (column, header) in enumerate(checks):
        bad_cell = _q("_bad_" + column.field)
        code = _REJECT_CODE[column.value_type]
        parts.append(
            f"""SELECT row, {order} AS ord, {_s(header)} AS "column",
                    CASE WHEN {bad_cell} = '' THEN {_s(RejectCode.MISSING_VALUE)}
                         ELSE {_s(code)} END AS code,
                    CASE WHEN {bad_cell} = ''
                         THEN {_reason(column, header, RejectCode.MISSING_VALUE, bad_cell)}
                         ELSE {_reason(column, header, code, bad_cell)} END AS reason
                FROM shebao_bad WHERE {bad_cell} IS NOT NULL"""
        )
    return (
        db.sql(
            f"""SELECT {_s(source)} AS source, row, "column", code, reason
                FROM ({" UNION ALL ".join(parts)}) ORDER BY row, ord"""
        )
        .to_arrow_table()
        .cast(REJECTED_SCHEMA)
    )
