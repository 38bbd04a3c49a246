"""Demo data for PROBABLE_MATCH: some rows of the demo's enrollment file rewritten as
departments mistype them, so that the demo comparison has probable matches to show.

    probable_match_demo_plant(department_files["enrollment"])

Called after the demo's department files are written, before they are imported. Each planted
row keeps its person's scheme, status and region, with the ID number mistyped (a digit, two
digits swapped, the 15-digit number of someone born in the 2000s, two digits of the birth day
and sequence, a digit changed with the check character recomputed so that the number is
valid and nobody's), and for some also the name written with a homophone or in traditional
characters. Those rows become INVALID_ID or
NOT_IN_POPULATION findings with a PROBABLE_MATCH naming the person, as in real data.
Deterministic (seeded) and idempotent: a file planted before (its SHA-256 beside it) is left
as it is.

Pure: polars and OpenCC, no Django.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl
from opencc import OpenCC

from shebao.identity.id_number import id_number_check_char

__all__ = ["HOMOPHONES", "probable_match_demo_plant"]

# Common given-name characters and a character of the same (tone-less) reading.
HOMOPHONES: Final[dict[str, str]] = {
    "静": "晶", "伟": "玮", "明": "铭", "华": "桦", "军": "君", "丽": "莉", "芳": "方",
    "红": "宏", "英": "瑛", "平": "萍", "玲": "琳", "强": "墙", "杰": "洁", "涛": "滔",
    "敏": "民", "燕": "艳", "霞": "侠", "刚": "钢", "磊": "蕾", "娟": "鹃", "勇": "永",
    "斌": "彬", "峰": "锋", "鹏": "朋", "辉": "晖", "秀": "绣", "兰": "岚", "梅": "玫",
}  # fmt: skip
_MARKER: Final[str] = ".probable-match-planted"
_ID: Final[str] = "公民身份号码"
_NAME: Final[str] = "姓名"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _typo(number: str, position: int) -> str:
    digit = str((int(number[position]) + 3) % 10)
    return number[:position] + digit + number[position + 1 :]


def _swap(number: str, position: int) -> str:
    for p in (*range(position, 16), *range(6, position)):
        if number[p] != number[p + 1]:
            return number[:p] + number[p + 1] + number[p] + number[p + 2 :]
    return _typo(number, position)


def _homophone(name: str) -> str:
    for i in range(len(name) - 1, 0, -1):
        if name[i] in HOMOPHONES:
            return name[:i] + HOMOPHONES[name[i]] + name[i + 1 :]
    return name


def probable_match_demo_plant(enrollment_csv: Path, *, count: int = 60, seed: int = 2026) -> int:
    """Rewrite `count` rows of `enrollment_csv` (the demo's enrollment file) with mistyped
    ID numbers and names; return how many rows were rewritten (0 if planted before)."""
    marker = enrollment_csv.with_name(enrollment_csv.name + _MARKER)
    if marker.exists() and marker.read_text(encoding="utf-8") == _digest(enrollment_csv):
        return 0
    frame = pl.read_csv(enrollment_csv, infer_schema=False)
    if frame.height == 0:
        return 0
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(frame.height, size=min(count, frame.height), replace=False))
    ids = frame[_ID].to_list()
    names = frame[_NAME].to_list()
    to_traditional = OpenCC("s2t")
    for n, index in enumerate(picked):
        number, name = str(ids[index]), str(names[index])
        position = 6 + int(rng.integers(0, 11))
        match n % 7:
            case 0:
                number = _typo(number, position)
            case 1:
                number = _swap(number, position)
            case 2:
                number, name = _typo(number, position), _homophone(name)
            case 3:
                number, name = _swap(number, position), to_traditional.convert(name)
            case 5:
                # The birth day and a sequence digit (the day 19 typed 11, say).
                number = _typo(_typo(number, 12 + position % 2), 14 + position % 3)
            case 6:
                body = _typo(number, position)[:17]
                number = body + id_number_check_char(body)
            case _:
                old = number[:6] + number[8:17]
                # The upgrade of a 1900s number is exact: those get a typo as well.
                number = old if number[6:8] == "20" else _typo(old, 6 + position % 9)
        ids[index], names[index] = number, name
    frame = frame.with_columns(pl.Series(_ID, ids), pl.Series(_NAME, names))
    frame.write_csv(enrollment_csv)
    marker.write_text(_digest(enrollment_csv), encoding="utf-8")
    return len(picked)
