"""Region names as bulletins write them, and rolling figures up the region tree."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = ["area_word", "rollup", "short_name", "subordinates_word"]

# Peoples named in the names of autonomous prefectures ("湘西土家族苗族自治州" is written
# "湘西州" in documents, "博尔塔拉蒙古自治州" "博尔塔拉州").
_PEOPLES = "柯尔克孜|哈萨克|朝鲜|土家|布依|哈尼|景颇|傈僳|蒙古|苗|藏|羌|彝|侗|壮|傣|白|回"
_AUTONOMOUS_PREFECTURE = re.compile(rf"^(.+?)(?:(?:{_PEOPLES})族?)+自治州$")

# Longest suffix first: the word a bulletin uses for "the whole of" a region of that kind.
_AREA_SUFFIXES = (
    ("自治区", "全区"),
    ("自治州", "全州"),
    ("自治县", "全县"),
    ("自治旗", "全旗"),
    ("街道", "全街道"),
    ("地区", "全地区"),
    ("省", "全省"),
    ("市", "全市"),
    ("州", "全州"),
    ("盟", "全盟"),
    ("区", "全区"),
    ("县", "全县"),
    ("旗", "全旗"),
    ("镇", "全镇"),
    ("乡", "全乡"),
)

_SUBORDINATES_BY_LEVEL = {2: "市州", 3: "县市区", 4: "乡镇（街道）", 5: "村（居）"}


def short_name(name: str) -> str:
    """The name used in running text: autonomous prefectures lose their peoples' names."""
    match = _AUTONOMOUS_PREFECTURE.match(name)
    return f"{match.group(1)}州" if match else name


def area_word(name: str) -> str:
    """`全省` for 湖南省, `全市` for 鄂州市, `全州` for 湘西土家族苗族自治州 …"""
    for suffix, word in _AREA_SUFFIXES:
        if name.endswith(suffix):
            return word
    return "全辖区"


def subordinates_word(level: int) -> str:
    """What a bulletin calls the subordinate regions of a level (seed 004: `市州`)."""
    return _SUBORDINATES_BY_LEVEL.get(level, "下级区划")


def rollup(
    root: str,
    own: Mapping[str, int],
    children: Mapping[str, Iterable[str]],
) -> int | None:
    """A region's figure: its own reported value where it has one, else the sum over its
    subordinates (recursively, each by the same rule); None when nothing below reports.

    A level that reports its own total is trusted over the sum of the levels below it: the
    reporting level may count people that its subordinates' files do not carry.
    """
    memo: dict[str, int | None] = {}

    def value(code: str) -> int | None:
        if code in memo:
            return memo[code]
        if code in own:
            memo[code] = own[code]
            return memo[code]
        # Recursion is bounded: region trees are at most five levels deep.
        parts = [v for v in (value(c) for c in children.get(code, ())) if v is not None]
        memo[code] = sum(parts) if parts else None
        return memo[code]

    return value(root)
