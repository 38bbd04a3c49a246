"""Progress figures from the work the system records itself (live figures).

Work is counted per day, at the finest region it happened in (a village, a town) — the
daily counts are the pre-aggregate that a refresh updates incrementally, re-counting only
the days since its last run. Month-end cumulative figures, in the shape of the figures other
levels report upward, are then derived for every month since the earliest re-counted day,
rolled up the region tree as far as the system runs the programme (its card centres'
regions): above that, regions are summed from what each subordinate shows, live or reported,
as the bulletin's rule does, so a province that runs one city live and receives the others
by file adds them up correctly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from shebao.geo.codes import level_of, parent_code_of
from shebao.reports.domain.metrics import Metric

__all__ = [
    "CountKey",
    "LiveFigureRow",
    "month_end_figures",
    "months_between",
    "rollup_chain",
]

CountKey = tuple[str, str, Metric]  # (region code, bank or "", metric)


@dataclass(frozen=True, slots=True)
class LiveFigureRow:
    year: int
    month: int
    region_code: str
    bank: str
    metric: Metric
    value: int


def months_between(start: date, end: date) -> list[tuple[int, int]]:
    """The (year, month) of every month from `start`'s to `end`'s, inclusive."""
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def rollup_chain(
    code: str, *, roots: Iterable[str], known: Callable[[str], bool]
) -> tuple[str, ...]:
    """The region and its ancestors that live figures are kept for: up to and including the
    first of `roots` (a card centre's region) met on the way up; when no root lies above,
    up to the county. Codes the region table lacks are skipped (municipalities skip a
    level)."""
    root_set = set(roots)
    chain: list[str] = []
    current: str | None = code
    above_root = any(_is_within(code, r) for r in root_set)
    while current is not None:
        if known(current):
            chain.append(current)
        if current in root_set:
            break
        if not above_root and level_of(current) <= 3:
            break
        current = parent_code_of(current)
    return tuple(chain)


def _is_within(code: str, root: str) -> bool:
    level = level_of(root)
    prefix = {1: root[:2], 2: root[:4]}.get(level, root)
    return code.startswith(prefix)


def month_end_figures(
    *,
    before: Mapping[CountKey, int],
    increments: Mapping[tuple[int, int], Mapping[CountKey, int]],
    months: Sequence[tuple[int, int]],
    chain: Callable[[str], Sequence[str]],
) -> list[LiveFigureRow]:
    """Cumulative figures at each month's end: the counts before the first month, plus each
    month's increments, rolled up along `chain`. Keys that never counted anything get no row
    (as a region that reports nothing)."""
    running: dict[CountKey, int] = defaultdict(int)
    for key, count in before.items():
        running[key] += count
    rows: list[LiveFigureRow] = []
    chains: dict[str, Sequence[str]] = {}
    for year, month in months:
        for key, count in increments.get((year, month), {}).items():
            running[key] += count
        totals: dict[CountKey, int] = defaultdict(int)
        for (region, bank, metric), value in running.items():
            if region not in chains:
                chains[region] = chain(region)
            for code in chains[region]:
                totals[(code, bank, metric)] += value
        rows.extend(
            LiveFigureRow(year, month, region, bank, metric, value)
            for (region, bank, metric), value in sorted(totals.items())
            if value > 0
        )
    return rows
