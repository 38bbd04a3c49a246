"""Hunan's province and fourteen prefectures (STANDARDS.md), created directly in Region."""

from __future__ import annotations

import pytest

from shebao.geo.codes import level_of, parent_code_of, prefix_of
from shebao.geo.models import Region

HUNAN = {
    "430000": "湖南省",
    "430100": "长沙市",
    "430200": "株洲市",
    "430300": "湘潭市",
    "430400": "衡阳市",
    "430500": "邵阳市",
    "430600": "岳阳市",
    "430700": "常德市",
    "430800": "张家界市",
    "430900": "益阳市",
    "431000": "郴州市",
    "431100": "永州市",
    "431200": "怀化市",
    "431300": "娄底市",
    "433100": "湘西土家族苗族自治州",
}


def make_region(code: str, name: str) -> Region:
    parent = parent_code_of(code)
    return Region.objects.create(
        code=code,
        name=name,
        level=level_of(code),
        parent_id=parent if parent and Region.objects.filter(code=parent).exists() else None,
        prefix=prefix_of(code),
        full_name=name,
    )


@pytest.fixture
def hunan(db: None) -> dict[str, Region]:
    return {code: make_region(code, name) for code, name in HUNAN.items()}
