"""Which figure a region shows when live counts and reported figures meet (ADR 0007): a
partial live count never replaces a reported total; every figure names its source."""

from __future__ import annotations

import pytest

from shebao.reports.domain.sources import Source, carry_forward, choose_figures

pytestmark = pytest.mark.unit

# A city with three districts; the towns of 鄂城区 report, the other districts report totals.
CHILDREN = {
    "420700": ["420702", "420703", "420704"],
    "420704": ["420704001", "420704002"],
}


def test_a_partial_live_count_never_replaces_the_reported_total() -> None:
    reported = {"420702": 300_000, "420703": 250_000, "420704001": 200_000, "420704002": 208_000}
    # The system has recorded 19 account openings this month, counted up to the city.
    live = {"420700": 19, "420704": 19, "420704001": 19}
    got = choose_figures(
        ["420700", "420702", "420704", "420704001"],
        reported=reported,
        live=live,
        children=CHILDREN,
    )
    assert got["420700"].value == 958_000
    assert got["420700"].source is Source.REPORTED and got["420700"].label == "上报"
    assert got["420704"].value == 408_000
    assert got["420704001"].value == 200_000


def test_a_live_count_that_covers_everything_reported_is_used() -> None:
    got = choose_figures(
        ["420700", "420702", "420703"],
        reported={"420702": 300, "420703": 250},
        live={"420700": 700, "420702": 320, "420703": 10},
        children=CHILDREN,
    )
    assert (got["420702"].value, got["420702"].label) == (320, "实时")
    assert (got["420703"].value, got["420703"].label) == (250, "上报")
    # The city's own live count (700) is larger than what its districts show (570).
    assert (got["420700"].value, got["420700"].label) == (700, "实时")
    mixed = choose_figures(
        ["420700"],
        reported={"420702": 300, "420703": 250},
        live={"420700": 400, "420702": 320},
        children=CHILDREN,
    )["420700"]
    assert (mixed.value, mixed.source, mixed.label) == (570, Source.MIXED, "上报+实时")


def test_only_live_figures_where_nothing_is_reported() -> None:
    got = choose_figures(["420700"], reported={}, live={"420700": 19}, children=CHILDREN)
    assert (got["420700"].value, got["420700"].label) == (19, "实时")
    none = choose_figures(["420703"], reported={}, live={}, children=CHILDREN)["420703"]
    assert (none.value, none.label) == (None, "")


def test_a_month_not_yet_reported_carries_the_latest_reported_figure() -> None:
    by_month = {10: {"A": 5, "B": 7}, 11: {"A": 6}, 12: {}}
    filled, carried = carry_forward(by_month, [10, 11, 12], {10: "10月", 11: "11月", 12: "12月"})
    assert filled[11] == {"A": 6, "B": 7} and carried[11] == {"B": "10月"}
    assert filled[12] == {"A": 6, "B": 7} and carried[12] == {"A": "11月", "B": "10月"}
    got = choose_figures(
        ["A"], reported=filled[12], live={"A": 2}, children={}, carried=carried[12]
    )["A"]
    assert (got.value, got.label) == (6, "上报（截至11月）")
