"""Loading the national division table, generating villages, and reading the region tree."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from shebao.errors import NotFound, ValidationFailed
from shebao.geo.models import Region
from shebao.geo.selectors import (
    region_ancestors,
    region_children,
    region_find_by_name,
    region_get,
    region_subtree_codes,
    region_villages,
)
from shebao.geo.services import regions_load, villages_generate

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

# Counts of the Ministry of Civil Affairs table as of 2025-12-31.
COUNTS = {1: 33, 2: 333, 3: 2845, 4: 38723}


@pytest.fixture(scope="module")
def country(django_db_setup, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The whole country, loaded once for the module and removed afterwards."""
    with django_db_blocker.unblock():
        result = regions_load()
        assert result.created == sum(COUNTS.values())
        yield
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {Region._meta.db_table}")  # noqa: S608


def test_loads_every_level_and_a_second_run_changes_nothing(country: None) -> None:
    for level, count in COUNTS.items():
        assert Region.objects.filter(level=level).count() == count
    again = regions_load()
    assert (again.created, again.updated, again.unchanged) == (0, 0, sum(COUNTS.values()))
    assert again.by_level == COUNTS
    assert again.data_as_of == "2025-12-31"


def test_the_demo_city_and_its_districts(country: None) -> None:
    town = Region.objects.get(code="420704001")
    assert town.name == "凤凰街道"
    assert town.level == 4
    assert town.parent_id == "420704"
    assert town.prefix == "420704001"
    assert town.full_name == "湖北省鄂州市鄂城区凤凰街道"
    city = Region.objects.get(code="420700")
    assert (city.name, city.level, city.parent_id, city.prefix) == ("鄂州市", 2, "420000", "4207")
    assert [(r.code, r.name) for r in region_children("420700")] == [
        ("420702", "梁子湖区"),
        ("420703", "华容区"),
        ("420704", "鄂城区"),
    ]
    assert Region.objects.get(code="420000").prefix == "42"


def test_divisions_that_skip_a_level_hang_under_what_exists(country: None) -> None:
    # 省直辖县级行政区划: 429000 does not exist.
    xiantao = Region.objects.get(code="429004")
    assert (xiantao.name, xiantao.level, xiantao.parent_id) == ("仙桃市", 3, "420000")
    assert xiantao.full_name == "湖北省仙桃市"
    # Municipalities: 110100 does not exist.
    dongcheng = Region.objects.get(code="110101")
    assert dongcheng.parent_id == "110000"
    assert dongcheng.full_name == "北京市东城区"
    # Prefecture-level cities without counties: towns hang under the prefecture.
    dongguan_town = Region.objects.filter(code__startswith="441900", level=4).first()
    assert dongguan_town is not None and dongguan_town.parent_id == "441900"
    # Every parent exists and sits one or more levels up.
    orphans = Region.objects.filter(level__gt=1, parent__isnull=True).count()
    assert orphans == 0


def test_a_changed_row_is_repaired_and_villages_are_left_alone(country: None) -> None:
    Region.objects.filter(code="420704").update(name="旧名", full_name="旧全称")
    Region.objects.create(
        code="420704001001", name="试点社区居民委员会", level=5, parent_id="420704001",
        prefix="420704001001", full_name="湖北省鄂州市鄂城区凤凰街道试点社区居民委员会",
    )  # fmt: skip
    result = regions_load()
    assert (result.created, result.updated) == (0, 1)
    assert Region.objects.get(code="420704").name == "鄂城区"
    assert Region.objects.filter(code="420704001001").exists()


def test_without_towns_only_three_levels_are_loaded(country: None) -> None:
    result = regions_load(towns=False)
    assert result.by_level == {1: 33, 2: 333, 3: 2845}
    assert result.created == 0


def test_villages_are_generated_under_the_real_towns(country: None) -> None:
    result = villages_generate(city_code="420700", per_town=(2, 5), seed=42)
    towns = Region.objects.filter(code__startswith="4207", level=4).count()
    assert result.towns == towns == 25
    villages = list(Region.objects.filter(level=5, code__startswith="4207").order_by("code"))
    assert len(villages) == result.created == result.total
    per_town: dict[str, int] = {}
    for v in villages:
        town = Region.objects.get(code=v.code[:9])
        per_town[town.code] = per_town.get(town.code, 0) + 1
        assert v.parent_id == town.code and v.prefix == v.code
        assert v.full_name == town.full_name + v.name
        number = int(v.code[9:])
        if town.name.endswith("街道"):
            assert 1 <= number <= 199
            assert v.name.endswith("社区居民委员会")
        elif 1 <= number <= 199:  # the community at a town's seat
            assert town.name.endswith("镇") and v.name.endswith("社区居民委员会")
        else:
            assert 200 <= number <= 399
            assert re.fullmatch(r"\w{2,4}村村委会", v.name), v.name
    assert all(2 <= n <= 5 for n in per_town.values())
    assert len(per_town) == towns
    names = [(v.code[:9], v.name) for v in villages]
    assert len(set(names)) == len(names)  # no two committees of a town share a name


def test_villages_are_deterministic_and_idempotent(country: None) -> None:
    villages_generate(city_code="420700", per_town=(3, 6), seed=7)
    first = list(Region.objects.filter(level=5).values_list("code", "name").order_by("code"))
    again = villages_generate(city_code="420700", per_town=(3, 6), seed=7)
    assert again.created == 0 and again.total == len(first)
    Region.objects.filter(level=5).delete()
    villages_generate(city_code="420700", per_town=(3, 6), seed=7)
    assert (
        list(Region.objects.filter(level=5).values_list("code", "name").order_by("code")) == first
    )


def test_villages_need_a_known_city_with_towns(country: None) -> None:
    with pytest.raises(NotFound):
        villages_generate(city_code="999999", per_town=(1, 2), seed=1)
    with pytest.raises(ValidationFailed):
        villages_generate(city_code="420700", per_town=(5, 2), seed=1)


def test_selectors(country: None) -> None:
    assert region_get("420704") is not None
    assert region_get("nonsense") is None
    assert region_get("999999") is None
    assert [r.code for r in region_find_by_name("鄂城区")] == ["420704"]
    assert len(region_find_by_name("朝阳区")) >= 2  # Beijing and Changchun
    assert [r.code for r in region_find_by_name("朝阳区", level=3)] == [
        r.code for r in region_find_by_name("朝阳区")
    ]
    assert [r.code for r in region_find_by_name("湖北省鄂州市鄂城区凤凰街道")] == ["420704001"]
    assert region_find_by_name("凤凰街道", level=2) == []
    assert [r.code for r in region_ancestors("420704001")] == ["420000", "420700", "420704"]
    assert [r.code for r in region_ancestors("429004")] == ["420000"]
    assert region_ancestors("420000") == []
    assert region_subtree_codes("420700", level=3) == ["420702", "420703", "420704"]
    subtree = region_subtree_codes("420704")
    assert subtree[0] == "420704" and "420704001" in subtree
    assert all(code.startswith("420704") for code in subtree)
    assert region_subtree_codes("999999") == []
    villages_generate(city_code="420700", per_town=(1, 1), seed=3)
    rows = region_villages("420704001")
    assert len(rows) == 1
    assert rows[0].town_name == "凤凰街道" and rows[0].county_name == "鄂城区"
    assert rows[0].county_code == "420704" and rows[0].town_code == "420704001"


def test_load_regions_command_reports_a_summary(country: None) -> None:
    out = StringIO()
    call_command("load_regions", stdout=out)
    text = out.getvalue()
    assert "新增 0 条" in text and "未变 41,934 条" in text
    assert "2025-12-31" in text
