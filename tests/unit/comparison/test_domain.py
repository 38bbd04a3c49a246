"""The comparison's rules that are plain arithmetic: the pension age cut-off, categories,
which categories need which sources, coverage rates."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shebao.comparison.domain import (
    FINDINGS_COLUMNS,
    Category,
    CoverageRow,
    Level,
    SchemeGroup,
    age_on,
    category_skip_reason,
    pension_birth_cutoff,
    scheme_group_of,
)
from shebao.intake.formats import SourceKind

pytestmark = pytest.mark.unit

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))


@given(birth=dates, as_of=dates)
def test_the_birth_cutoff_agrees_with_age_in_full_years(birth: dt.date, as_of: dt.date) -> None:
    ymd = birth.year * 10000 + birth.month * 100 + birth.day
    if birth <= as_of:
        assert (ymd <= pension_birth_cutoff(as_of)) == (age_on(birth, as_of) >= 16)


def test_leap_day_births_turn_16_on_the_first_of_march_of_a_common_year() -> None:
    birth = 20840229  # 2100 is not a leap year
    assert birth > pension_birth_cutoff(dt.date(2100, 2, 28))
    assert birth <= pension_birth_cutoff(dt.date(2100, 3, 1))
    assert age_on(dt.date(2084, 2, 29), dt.date(2100, 2, 28)) == 15


def test_categories_levels_and_order() -> None:
    assert FINDINGS_COLUMNS == (
        "category", "source", "row", "id_number", "name",
        "matched_id_number", "match_probability", "detail",
    )  # fmt: skip
    assert [c.order for c in Category] == list(range(len(Category)))
    row_level = {c for c in Category if c.level is Level.ROW}
    assert row_level == {
        Category.INVALID_ID,
        Category.NOT_IN_POPULATION,
        Category.NAME_MISMATCH,
        Category.DUPLICATE_RECORD,
        Category.PROBABLE_MATCH,
    }
    assert all(c.label for c in Category)


def test_scheme_groups() -> None:
    codes = ("110", "120", "170", "310", "390", "210", "410")
    assert [scheme_group_of(code) for code in codes] == [
        SchemeGroup.PENSION, SchemeGroup.PENSION, SchemeGroup.PENSION,
        SchemeGroup.MEDICAL, SchemeGroup.MEDICAL, None, None,
    ]  # fmt: skip


def test_population_comparisons_are_skipped_without_a_population_base() -> None:
    without = frozenset({SourceKind.ENROLLMENT, SourceKind.DEATH})
    assert category_skip_reason(Category.NOT_IN_POPULATION, without)
    assert category_skip_reason(Category.NAME_MISMATCH, without)
    assert category_skip_reason(Category.DECEASED_ACTIVE, without) is None
    with_population = without | {SourceKind.POPULATION}
    assert category_skip_reason(Category.NOT_IN_POPULATION, with_population) is None
    assert category_skip_reason(Category.PROBABLE_MATCH, without)
    assert category_skip_reason(Category.PROBABLE_MATCH, with_population) is None


def test_coverage_rates() -> None:
    row = CoverageRow("420702", "梁子湖区", population=200, pension_eligible=150,
                      pension_insured=141, medical_insured=198)  # fmt: skip
    assert (row.pension_rate, row.medical_rate) == (0.94, 0.99)
    empty = CoverageRow("420703", "华容区", 0, 0, 0, 0)
    assert (empty.pension_rate, empty.medical_rate) == (None, None)
