"""Full snapshots and increments of one kind of department file. Pure: no Django.

A department sends either its whole file (a full snapshot, 全量) or the rows that changed
since (an increment, 增量). The data of a kind is a chain: one snapshot, then the increments
imported on top of it, oldest first. A row of a later batch replaces every row of the earlier
batches with the same key (the person, and the scheme for enrollments and benefits); rows of
new keys are added. An increment never removes anybody: a department reports an ending by
its status (终止参保, 死亡, 迁出 …), or sends a new full snapshot.

`effective_parts` gives, for each batch of a chain, the rows still in force: the last batch
whole, earlier ones without the rows a later batch replaced. The parts keep their own `row`
numbers, so that findings still cite each file and row as it was read.
"""

# ruff: noqa: S608 - SQL is built from this module's key expressions and quoted file paths.
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb

from shebao.intake.formats.kinds import SourceKind

__all__ = ["KEY_FIELDS", "EffectivePart", "effective_parts", "effective_rows", "key_sql"]

KEY_FIELDS: Final[dict[SourceKind, tuple[str, ...]]] = {
    SourceKind.POPULATION: ("id_number",),
    SourceKind.ENROLLMENT: ("id_number", "scheme_code"),
    SourceKind.BENEFIT: ("id_number", "scheme_code"),
    SourceKind.DEATH: ("id_number",),
    SourceKind.PRISON: ("id_number",),
    SourceKind.STUDENT: ("id_number",),
    SourceKind.EMPLOYER: ("credit_code",),
}


@dataclass(frozen=True, slots=True)
class EffectivePart:
    """The rows of one batch of a chain still in force: `path` (the batch's own snapshot
    when none was replaced) and how many rows."""

    path: Path
    rows: int
    replaced: int  # rows of this batch that a later batch replaced


def key_sql(kind: SourceKind, alias: str = "") -> str:
    """The SQL expression of a row's key (an ID number that could not be normalised counts
    as read; a row without a key is never replaced)."""
    prefix = f"{alias}." if alias else ""
    parts = []
    for field in KEY_FIELDS[kind]:
        if field == "id_number":
            parts.append(
                f"coalesce(NULLIF({prefix}id_number, ''), "
                f"trim(CAST({prefix}id_number_raw AS VARCHAR)), '')"
            )
        else:
            parts.append(f"coalesce(CAST({prefix}{field} AS VARCHAR), '')")
    return " || '|' || ".join(parts)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def effective_parts(
    kind: SourceKind, snapshots: list[tuple[Path, int]], out_dir: Path, stem: str = "part"
) -> list[EffectivePart]:
    """`snapshots`: the chain's Parquet snapshots and their row counts, oldest (the full
    snapshot) first. Returns one part per snapshot, in the same order; a part that lost
    rows to later batches is written to `out_dir/<stem>-<index>.parquet`."""
    if not snapshots:
        return []
    last_path, last_rows = snapshots[-1]
    if len(snapshots) == 1:
        return [EffectivePart(last_path, last_rows, 0)]
    key = key_sql(kind)
    con = duckdb.connect()
    try:
        parts: list[EffectivePart] = []
        for index, (path, rows) in enumerate(snapshots[:-1]):
            later = " UNION ALL ".join(
                f"SELECT {key} AS k FROM read_parquet({_quote(p)})"
                for p, _ in snapshots[index + 1 :]
            )
            kept_from = (
                f"FROM read_parquet({_quote(path)}) WHERE {key} = '' "
                f"OR {key} NOT IN (SELECT k FROM ({later}) WHERE k <> '')"
            )
            found = con.execute(f"SELECT count(*) {kept_from}").fetchone()
            kept = int(found[0]) if found else 0
            if kept == rows:
                parts.append(EffectivePart(path, rows, 0))
                continue
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / f"{stem}-{index}.parquet"
            con.execute(f"COPY (SELECT * {kept_from}) TO {_quote(target)} (FORMAT parquet)")
            parts.append(EffectivePart(target, kept, rows - kept))
        parts.append(EffectivePart(last_path, last_rows, 0))
        return parts
    finally:
        con.close()


def effective_rows(kind: SourceKind, snapshots: list[tuple[Path, int]]) -> int:
    """How many rows the chain holds in force (without writing anything)."""
    if not snapshots:
        return 0
    if len(snapshots) == 1:
        return snapshots[0][1]
    key = key_sql(kind)
    con = duckdb.connect()
    try:
        union = " UNION ALL ".join(
            f"SELECT {index} AS b, {key} AS k FROM read_parquet({_quote(p)})"
            for index, (p, _) in enumerate(snapshots)
        )
        # A row counts when no later batch has its key (as `effective_parts` keeps it).
        found = con.execute(
            f"SELECT count(*) FROM (SELECT b, k, max(b) OVER (PARTITION BY k) AS last "
            f"FROM ({union})) WHERE k = '' OR b = last"
        ).fetchone()
        return int(found[0]) if found else 0
    finally:
        con.close()
