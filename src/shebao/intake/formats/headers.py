"""Matching a file's header row to a kind's columns, and recognising the kind from the headers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from shebao.intake.formats.errors import IntakeError, IntakeErrorCode
from shebao.intake.formats.kinds import KIND_SPECS, KindSpec, SourceKind

__all__ = [
    "ColumnMatch",
    "header_key",
    "known_header_count",
    "match_columns",
    "recognise_kind",
]

# Notes in brackets after a header ("出生日期（YYYYMMDD）", "姓名[必填]") and the asterisks that
# templates put on required columns are not part of the name.
_BRACKETED_RE: Final[re.Pattern[str]] = re.compile(r"\(.*?\)|\[.*?\]|【.*?】|<.*?>|《.*?》")
_NOISE_RE: Final[re.Pattern[str]] = re.compile(r"[\s*:：\u200b\u200c\u200d\u2060\ufeff]+")


def header_key(header: object) -> str:
    """The comparable form of a header cell: NFKC (full-width to ASCII), no notes in brackets,
    no spaces, asterisks or colons."""
    if header is None:
        return ""
    text = unicodedata.normalize("NFKC", str(header))
    text = _BRACKETED_RE.sub("", text)
    return _NOISE_RE.sub("", text)


def _alias_index(spec: KindSpec) -> dict[str, str]:
    return {header_key(h): column.field for column in spec.columns for h in column.headers}


_ALIASES: Final[dict[SourceKind, dict[str, str]]] = {
    kind: _alias_index(spec) for kind, spec in KIND_SPECS.items()
}
_ALL_KEYS: Final[frozenset[str]] = frozenset(k for index in _ALIASES.values() for k in index)
_COMMON_FIELDS: Final[frozenset[str]] = frozenset({"id_number", "name"})


def known_header_count(cells: Sequence[object]) -> int:
    """How many cells of a row are headers of some kind (to find the header row)."""
    return len({key for key in map(header_key, cells) if key in _ALL_KEYS})


@dataclass(frozen=True, slots=True)
class ColumnMatch:
    """Which file column (by its position and header as written) holds each field."""

    kind: SourceKind
    columns: dict[str, tuple[int, str]]  # field -> (position, header as in the file)


def match_columns(kind: SourceKind, headers: Sequence[str], *, source: str) -> ColumnMatch:
    """Map the headers to the kind's fields; refuse the file if a required column is missing
    or two columns mean the same field."""
    index = _ALIASES[kind]
    found: dict[str, tuple[int, str]] = {}
    for position, header in enumerate(headers):
        field = index.get(header_key(header))
        if field is None:
            continue
        if field in found:
            first = found[field][1]
            label = KIND_SPECS[kind].column(field).label
            raise IntakeError(
                IntakeErrorCode.DUPLICATE_COLUMN,
                f"文件“{source}”中列“{first}”与“{header}”都表示“{label}”，请只保留一列",
                details=[{"source": source, "columns": [first, header], "field": field}],
            )
        found[field] = (position, header)
    missing = [c.label for c in KIND_SPECS[kind].required if c.field not in found]
    if missing:
        raise IntakeError(
            IntakeErrorCode.MISSING_COLUMN,
            f"文件“{source}”（{kind.label}）缺少必需列：{'、'.join(missing)}，整个文件未导入",
            details=[{"source": source, "kind": kind.value, "missing": missing}],
        )
    return ColumnMatch(kind, found)


def recognise_kind(headers: Sequence[str], *, source: str) -> SourceKind:
    """The kind whose required columns are all present and which explains the most columns.

    A kind also needs one column of its own besides 公民身份号码 and 姓名: a file of only those
    two says nothing about what it lists.
    """
    keys = {header_key(h) for h in headers}
    scored: list[tuple[tuple[int, int], SourceKind]] = []
    for kind, spec in KIND_SPECS.items():
        index = _ALIASES[kind]
        present = {index[k] for k in keys if k in index}
        if not all(c.field in present for c in spec.required):
            continue
        if not present - _COMMON_FIELDS:
            continue
        scored.append(((len(spec.required), len(present)), kind))
    if not scored:
        shown = "、".join(h for h in headers if h) or "（无）"
        raise IntakeError(
            IntakeErrorCode.UNKNOWN_KIND,
            f"无法从表头识别文件“{source}”的数据类型（表头：{shown}），请指定数据类型",
            details=[{"source": source, "headers": list(headers)}],
        )
    scored.sort(key=lambda item: item[0], reverse=True)
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        names = "、".join(k.label for score, k in scored if score == scored[0][0])
        raise IntakeError(
            IntakeErrorCode.AMBIGUOUS_KIND,
            f"文件“{source}”的表头可对应多种数据类型：{names}，请指定数据类型",
            details=[{"source": source, "kinds": [k.value for _, k in scored]}],
        )
    return scored[0][1]
