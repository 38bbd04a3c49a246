"""Reads of the region tree. Regions are public reference data: no scoping applies."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from shebao.geo.choices import RegionLevel
from shebao.geo.codes import is_region_code
from shebao.geo.models import Region

__all__ = [
    "VillageInfo",
    "region_ancestors",
    "region_children",
    "region_find_by_name",
    "region_get",
    "region_subtree",
    "region_subtree_codes",
    "region_villages",
]


def region_get(code: str) -> Region | None:
    """The region with this code, or None."""
    if not is_region_code(code):
        return None
    return Region.objects.filter(code=code).first()


def region_find_by_name(name: str, *, level: int | None = None) -> list[Region]:
    """Regions whose name or full name is exactly `name` (names repeat across the country:
    there are several 朝阳区), ordered by code."""
    name = name.strip()
    if not name:
        return []
    qs = Region.objects.filter(name=name)
    if level is not None:
        qs = qs.filter(level=level)
    found = list(qs.order_by("code"))
    if found:
        return found
    qs = Region.objects.filter(full_name=name)
    if level is not None:
        qs = qs.filter(level=level)
    return list(qs.order_by("code"))


def region_children(code: str) -> QuerySet[Region]:
    return Region.objects.filter(parent_id=code).order_by("code")


def region_ancestors(code: str) -> list[Region]:
    """The chain above a region, the province first, the region itself excluded."""
    chain: list[Region] = []
    region = Region.objects.filter(code=code).only("parent_id").first()
    if region is None:
        return chain
    # Structural candidates in one query, then follow the parent links among them
    # (municipalities and directly-administered counties skip a level).
    candidates = {code[:2] + "0000", code[:4] + "00", code[:6], code[:9]} - {code}
    by_code = {r.code: r for r in Region.objects.filter(code__in=candidates)}
    parent_id = region.parent_id
    while parent_id is not None:
        parent = by_code.get(parent_id) or Region.objects.filter(code=parent_id).first()
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.parent_id
    chain.reverse()
    return chain


def region_subtree(code: str, level: int | None = None) -> QuerySet[Region]:
    """The region and everything under it (optionally at one level), ordered by code."""
    region = Region.objects.filter(code=code).only("prefix").first()
    if region is None:
        return Region.objects.none()
    qs = Region.objects.filter(code__startswith=region.prefix)
    if level is not None:
        qs = qs.filter(level=level)
    return qs.order_by("code")


def region_subtree_codes(code: str, level: int | None = None) -> list[str]:
    return list(region_subtree(code, level).values_list("code", flat=True))


@dataclass(frozen=True, slots=True)
class VillageInfo:
    code: str
    name: str
    town_code: str
    town_name: str
    county_code: str
    county_name: str
    full_name: str


def region_villages(code: str) -> list[VillageInfo]:
    """The village and residential committees under a region, with their town and county."""
    villages = list(
        region_subtree(code, RegionLevel.VILLAGE)
        .select_related("parent", "parent__parent")
        .only(
            "code",
            "name",
            "full_name",
            "parent__code",
            "parent__name",
            "parent__parent__code",
            "parent__parent__name",
        )
    )
    out: list[VillageInfo] = []
    for v in villages:
        town = v.parent
        county = town.parent if town is not None else None
        out.append(
            VillageInfo(
                code=v.code,
                name=v.name,
                town_code=v.code[:9],
                town_name=town.name if town is not None else "",
                county_code=v.code[:6],
                county_name=county.name if county is not None else "",
                full_name=v.full_name or v.name,
            )
        )
    return out
