"""Region names in running text, and rolling figures up the region tree."""

from __future__ import annotations

import pytest

from shebao.reports.domain.regions import area_word, rollup, short_name, subordinates_word

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("湘西土家族苗族自治州", "湘西州"),
        ("黔东南苗族侗族自治州", "黔东南州"),
        ("延边朝鲜族自治州", "延边州"),
        ("博尔塔拉蒙古自治州", "博尔塔拉州"),
        ("海南藏族自治州", "海南州"),
        ("永州市", "永州市"),
        ("锡林郭勒盟", "锡林郭勒盟"),
    ],
)
def test_short_names_drop_the_peoples_of_autonomous_prefectures(name: str, short: str) -> None:
    assert short_name(name) == short


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("湖南省", "全省"),
        ("广西壮族自治区", "全区"),
        ("鄂州市", "全市"),
        ("湘西土家族苗族自治州", "全州"),
        ("鄂城区", "全区"),
        ("东海县", "全县"),
        ("凤凰街道", "全街道"),
        ("太和镇", "全镇"),
    ],
)
def test_area_word(name: str, word: str) -> None:
    assert area_word(name) == word


def test_subordinates_word_follows_the_level_below() -> None:
    assert subordinates_word(2) == "市州"
    assert subordinates_word(3) == "县市区"


TREE = {"P": ["A", "B"], "A": ["A1", "A2"], "B": ["B1"]}


def test_rollup_sums_subordinates_when_a_region_reports_nothing_itself() -> None:
    assert rollup("P", {"A1": 3, "A2": 4, "B1": 5}, TREE) == 12
    assert rollup("A", {"A1": 3}, TREE) == 3


def test_rollup_trusts_a_regions_own_figure_over_the_sum_below() -> None:
    assert rollup("P", {"A": 100, "A1": 3, "A2": 4, "B1": 5}, TREE) == 105
    assert rollup("P", {"P": 1, "A": 100}, TREE) == 1


def test_rollup_is_none_when_nothing_below_reports() -> None:
    assert rollup("B", {"A1": 3}, TREE) is None
    assert rollup("B", {"B1": 0}, TREE) == 0
