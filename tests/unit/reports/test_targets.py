from shebao.reports.domain.metrics import Metric
from shebao.reports.domain.rows import ImportErrorCode
from shebao.reports.domain.targets import ANNUAL, DECREASING, parse_target_grid


def test_cells_become_target_rows_and_blanks_clear() -> None:
    grid = parse_target_grid(
        year=2026,
        metric=Metric.PRODUCED,
        cells={("420704", "", ANNUAL): "1,200", ("420704", "", 3): "300", ("420704", "", 4): " "},
    )
    assert not grid.errors
    assert sorted((r.month, r.value) for r in grid.rows if r.month) == [(3, 300)]
    assert [r.value for r in grid.rows if r.month is None] == [1200]
    assert grid.cleared == (("420704", "", 4),)


def test_a_month_target_below_an_earlier_month_is_refused_naming_both() -> None:
    grid = parse_target_grid(
        year=2026,
        metric=Metric.SUBMITTED,
        cells={("420704", "", 3): "300", ("420704", "", 5): "200", ("420704", "建设银行", 5): "1"},
    )
    assert [(e.period, e.code) for e in grid.errors] == [(5, DECREASING)]
    assert "5月目标200小于3月目标300" in grid.errors[0].message


def test_bad_values_and_bank_names_are_reported_per_cell() -> None:
    grid = parse_target_grid(
        year=2026,
        metric=Metric.SUBMITTED,
        cells={("420704", "", 1): "1.5", ("420704", "银" * 70, 1): "2", ("420704", "", 13): "3"},
    )
    codes = sorted(str(e.code) for e in grid.errors)
    assert codes == sorted(
        [
            ImportErrorCode.VALUE_NOT_INTEGER,
            ImportErrorCode.BANK_INVALID,
            ImportErrorCode.MONTH_INVALID,
        ]
    )
    assert not grid.rows
