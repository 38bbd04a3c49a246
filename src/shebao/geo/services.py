"""Writes to the region tree: the national division table and generated village committees.

Both are idempotent: a second run with the same input creates and changes nothing. Rows are
compared with what the database holds and only new or changed rows are written, in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from django.db import connection, transaction

from shebao.errors import NotFound, ValidationFailed
from shebao.geo.choices import RegionLevel
from shebao.geo.data import TOWN_LEVEL, DivisionRow, division_table
from shebao.geo.models import Region

__all__ = [
    "RegionLoadResult",
    "VillageGenerateResult",
    "regions_load",
    "villages_generate",
]

_FIELDS: Final[tuple[str, ...]] = ("name", "level", "parent", "prefix", "full_name")
_BATCH: Final[int] = 2000


@dataclass(frozen=True)
class RegionLoadResult:
    created: int
    updated: int
    unchanged: int
    by_level: dict[int, int] = field(default_factory=dict)
    data_as_of: str = ""
    source: str = ""

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def _key(row: DivisionRow) -> tuple[str, int, str | None, str, str]:
    return (row.name, row.level, row.parent_code, row.prefix, row.full_name)


def _region(row: DivisionRow) -> Region:
    return Region(
        code=row.code,
        name=row.name,
        level=row.level,
        parent_id=row.parent_code,
        prefix=row.prefix,
        full_name=row.full_name,
    )


def _insert(rows: list[DivisionRow]) -> None:
    """Insert new rows in bulk: COPY on PostgreSQL; executemany on SQLite, which is several
    times faster than bulk_create there (its 999-parameter limit means 166 rows a statement)."""
    if not rows:
        return
    table = connection.ops.quote_name(Region._meta.db_table)
    columns = "code, name, level, parent_id, prefix, full_name"
    params = [(r.code, r.name, r.level, r.parent_code, r.prefix, r.full_name) for r in rows]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with (
                cursor.connection.cursor() as raw,
                raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in params:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s)"  # noqa: S608
        for start in range(0, len(params), _BATCH * 10):
            cursor.executemany(sql, params[start : start + _BATCH * 10])


def _upsert(rows: Iterable[DivisionRow]) -> tuple[int, int, int]:
    """Write the rows that are new or differ from the database; (created, updated, same)."""
    rows = list(rows)
    wanted = {row.code for row in rows}
    existing: dict[str, tuple[str, int, str | None, str, str]] = {}
    levels = {row.level for row in rows}
    for code, name, level, parent_id, prefix, full_name in Region.objects.filter(
        level__in=levels
    ).values_list("code", "name", "level", "parent_id", "prefix", "full_name"):
        if code in wanted:
            existing[code] = (name, level, parent_id, prefix, full_name)
    new = [row for row in rows if row.code not in existing]
    changed = [
        _region(row) for row in rows if row.code in existing and existing[row.code] != _key(row)
    ]
    with transaction.atomic():
        # Rows come parents first, so each parent exists before its children reference it.
        _insert(new)
        if changed:
            Region.objects.bulk_create(
                changed,
                batch_size=_BATCH,
                update_conflicts=True,
                unique_fields=["code"],
                update_fields=list(_FIELDS),
            )
    return len(new), len(changed), len(rows) - len(new) - len(changed)


def regions_load(*, towns: bool = True) -> RegionLoadResult:
    """Load the whole country (provinces, prefectures, counties; and towns unless `towns` is
    False) from the packaged Ministry of Civil Affairs table. Regions the table no longer
    lists are kept: people and organisations may still refer to them."""
    table = division_table()
    rows = table.at_most(TOWN_LEVEL if towns else RegionLevel.COUNTY)
    created, updated, unchanged = _upsert(rows)
    by_level: dict[int, int] = {}
    for row in rows:
        by_level[row.level] = by_level.get(row.level, 0) + 1
    return RegionLoadResult(
        created=created,
        updated=updated,
        unchanged=unchanged,
        by_level=by_level,
        data_as_of=table.data_as_of,
        source=table.source,
    )


# --- generated village and residential committees ---------------------------------------

# Parts of village names as they are found across Hubei (湾, 畈, 垴, 咀 are local forms).
_VILLAGE_HEADS: Final[str] = (
    "东西南北新老石黄白龙凤鹤莲杨柳竹梅桃桂花马牛金银铁沙泉塘林峰岭桥港湖洲山田"
    "程胡刘陈张李王吴周徐熊万邓余曹袁汪舒夏付涂罗彭"
)
_VILLAGE_TAILS: Final[tuple[str, ...]] = (
    "湾", "畈", "垴", "咀", "岭", "桥", "冲", "湖", "山", "洲", "铺", "店", "庙", "港",
    "岗", "塘", "坝", "园", "家湾", "家畈", "家咀", "家铺", "家岭", "家桥",
)  # fmt: skip
_COMMUNITY_HEADS: Final[str] = "文明滨临望和安康泰兴华凤龙吉祥瑞嘉新育光胜友民南北东西长寿永丰"
_COMMUNITY_TAILS: Final[str] = "星湖江园苑港湾塘桥泉山城阳光华丰和安街楼门路岭"

_COMMUNITY_FIRST: Final[int] = 1  # 居委会: 001–199
_VILLAGE_FIRST: Final[int] = 201  # 村委会: 200–399
_MAX_PER_KIND: Final[int] = 199


@dataclass(frozen=True)
class VillageGenerateResult:
    created: int
    total: int
    towns: int


def _is_rural(town_name: str) -> bool:
    return town_name.endswith(("镇", "乡"))


def _unique_names(
    rng: np.random.Generator, heads: str, tails: tuple[str, ...] | str, count: int
) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    attempts = 0
    while len(names) < count:
        attempts += 1
        head = heads[int(rng.integers(len(heads)))]
        tail = tails[int(rng.integers(len(tails)))]
        name = head + tail
        if head == tail or name in seen:
            if attempts > 50 * count:  # pool exhausted: number the rest
                name = f"{name}{len(names) + 1}"
            else:
                continue
        seen.add(name)
        names.append(name)
    return names


def _town_villages(town: Region, count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """(code, name) of the generated committees of one town."""
    if not _is_rural(town.name):
        names = _unique_names(rng, _COMMUNITY_HEADS, _COMMUNITY_TAILS, count)
        return [
            (f"{town.code}{_COMMUNITY_FIRST + i:03d}", f"{n}社区居民委员会")
            for i, n in enumerate(names)
        ]
    # A town (镇) has a community at its seat; a township (乡) is all villages.
    communities = 1 if town.name.endswith("镇") and count > 1 else 0
    out = [
        (f"{town.code}{_COMMUNITY_FIRST + i:03d}", f"{n}社区居民委员会")
        for i, n in enumerate(_unique_names(rng, _COMMUNITY_HEADS, _COMMUNITY_TAILS, communities))
    ]
    villages = _unique_names(rng, _VILLAGE_HEADS, _VILLAGE_TAILS, count - communities)
    out += [
        (f"{town.code}{_VILLAGE_FIRST + i:03d}", f"{n}村村委会") for i, n in enumerate(villages)
    ]
    return out


@transaction.atomic
def villages_generate(
    *, city_code: str, per_town: tuple[int, int] = (3, 8), seed: int = 42
) -> VillageGenerateResult:
    """Create village (村委会) and residential (居委会) committees under the real towns of a
    city (or of any region): codes are the town's 9 digits plus 001–199 for residential
    committees and 201–399 for villages. Deterministic by seed and town code, so a second
    run creates nothing."""
    low, high = per_town
    if not (1 <= low <= high <= _MAX_PER_KIND):
        raise ValidationFailed(
            f"每个乡镇（街道）的村（居）数量范围无效：{low}–{high}", code="PER_TOWN_INVALID"
        )
    city = Region.objects.filter(code=city_code).first()
    if city is None:
        raise NotFound(f"区划代码 {city_code} 不存在，请先加载行政区划", code="REGION_UNKNOWN")
    towns = list(
        Region.objects.filter(prefix__startswith=city.prefix, level=RegionLevel.TOWN).order_by(
            "code"
        )
    )
    if not towns:
        raise ValidationFailed(
            f"{city.name}（{city_code}）下没有乡镇（街道），请先加载行政区划（含乡镇）",
            code="NO_TOWNS",
        )
    planned: list[Region] = []
    for town in towns:
        rng = np.random.default_rng([seed, int(town.code)])
        count = int(rng.integers(low, high + 1))
        for code, name in _town_villages(town, count, rng):
            planned.append(
                Region(
                    code=code,
                    name=name,
                    level=RegionLevel.VILLAGE,
                    parent_id=town.code,
                    prefix=code,
                    full_name=f"{town.full_name or town.name}{name}",
                )
            )
    existing = set(
        Region.objects.filter(code__in=[r.code for r in planned]).values_list("code", flat=True)
    )
    new = [r for r in planned if r.code not in existing]
    Region.objects.bulk_create(new, batch_size=_BATCH)
    return VillageGenerateResult(created=len(new), total=len(planned), towns=len(towns))
