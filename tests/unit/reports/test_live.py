"""Live figures: daily counts become month-end cumulative figures, rolled up the region tree
as far as the system runs the programme."""

from datetime import date

from shebao.reports.domain.live import month_end_figures, months_between, rollup_chain
from shebao.reports.domain.metrics import Metric

KNOWN = {"420000", "420700", "420704", "420704001", "420704001201", "110101", "110101001"}


def test_months_between_crosses_the_year() -> None:
    assert months_between(date(2025, 11, 20), date(2026, 2, 1)) == [
        (2025, 11),
        (2025, 12),
        (2026, 1),
        (2026, 2),
    ]


def test_counts_roll_up_to_the_card_centres_region_and_no_further() -> None:
    chain = rollup_chain("420704001201", roots={"420700"}, known=KNOWN.__contains__)
    assert chain == ("420704001201", "420704001", "420704", "420700")
    # Without a card centre above, to the county: a province is summed from what its
    # subordinates show, live or reported.
    assert rollup_chain("420704001201", roots=set(), known=KNOWN.__contains__) == (
        "420704001201",
        "420704001",
        "420704",
    )
    # A municipality's district has no prefecture in the table (1101 00 is skipped).
    assert rollup_chain("110101001", roots={"110000"}, known=KNOWN.__contains__) == (
        "110101001",
        "110101",
    )


def test_month_end_figures_are_cumulative_and_carry_forward() -> None:
    village, town = "420704001201", "420704001"
    rows = month_end_figures(
        before={(village, "", Metric.PRODUCED): 5},
        increments={
            (2026, 9): {(village, "", Metric.PRODUCED): 3, (town, "", Metric.DISTRIBUTED): 2},
            (2026, 11): {(village, "", Metric.PRODUCED): 1},
        },
        months=[(2026, 9), (2026, 10), (2026, 11)],
        chain=lambda code: (code, "420704001", "420704") if code == village else (code, "420704"),
    )
    got = {(r.month, r.region_code, r.metric): r.value for r in rows}
    assert got[(9, village, Metric.PRODUCED)] == 8
    assert got[(9, "420704", Metric.PRODUCED)] == 8
    assert got[(10, "420704001", Metric.PRODUCED)] == 8  # no work in October: carried forward
    assert got[(11, "420704", Metric.PRODUCED)] == 9
    assert got[(11, "420704", Metric.DISTRIBUTED)] == 2
    assert (9, "420000", Metric.PRODUCED) not in got
