"""The leader's dashboard: progress per subordinate region, the month-by-month trend, the banks
and the ranking, computed from aggregated rows (cumulative counts per month, region, bank and
metric) and targets.

A region's figure is its own reported value or else the sum of the regions below it (the
bulletin's rule, `regions.rollup`); a live figure is used only where it is not smaller than
that (ADR 0007, `sources.choose_figures`), and every figure says where it comes from.
Percentages are exact ratios rounded half up when written, as the bulletin rounds them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shebao.reports.domain.bulletin import bank_sort_key
from shebao.reports.domain.metrics import Metric
from shebao.reports.domain.numbers import percent
from shebao.reports.domain.sources import NOTHING, Sourced, choose_figures

__all__ = [
    "METRIC_UNITS",
    "BankProgress",
    "Dashboard",
    "DashboardInput",
    "MetricProgress",
    "RegionProgress",
    "TrendPoint",
    "compute_dashboard",
    "rollup_many",
]

# Cards are counted in 张, everything else in 人.
METRIC_UNITS: dict[Metric, str] = {
    m: ("张" if m in {Metric.PRODUCED, Metric.DISTRIBUTED, Metric.ACTIVATED} else "人")
    for m in Metric
}

Values = Mapping[str, int]  # region code -> cumulative value


def rollup_many(
    roots: Iterable[str], own: Values, children: Mapping[str, Sequence[str]]
) -> dict[str, int | None]:
    """`regions.rollup` for many roots at once, sharing the walk of the tree."""
    memo: dict[str, int | None] = {}

    def value(code: str) -> int | None:
        if code in memo:
            return memo[code]
        if code in own:
            memo[code] = own[code]
            return memo[code]
        parts = [v for v in (value(c) for c in children.get(code, ())) if v is not None]
        memo[code] = sum(parts) if parts else None
        return memo[code]

    return {root: value(root) for root in roots}


@dataclass(frozen=True, slots=True)
class DashboardInput:
    """What the selector read: the region, its tree below, and the rows of the year.

    `own[(metric, month)]` holds the regions' own rows (bank empty); month 0 is December of
    the previous year (for January's increase). Targets likewise, `annual[metric]` and
    `monthly[(metric, month)]`. `banks[(bank, metric)]` are the banks' rows of the month.
    """

    region_code: str
    region_name: str
    region_level: int
    year: int
    month: int
    metric: Metric
    direct: Sequence[tuple[str, str]]  # (code, name) of the subordinate regions, by code
    children: Mapping[str, Sequence[str]]
    own: Mapping[tuple[Metric, int], Values]
    annual: Mapping[Metric, Values]
    monthly: Mapping[tuple[Metric, int], Values]
    banks: Mapping[tuple[str, Metric], Values]
    months_with_data: Sequence[int]
    # The system's own (live) figures, in the shapes of `own` and `banks`; `carried` names,
    # per (metric, month), the regions whose reported figure is an earlier month's.
    live: Mapping[tuple[Metric, int], Values] = field(default_factory=dict)
    live_banks: Mapping[tuple[str, Metric], Values] = field(default_factory=dict)
    carried: Mapping[tuple[Metric, int], Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MetricProgress:
    """One metric of the region for the month (the figures at the top of the dashboard)."""

    metric: Metric
    value: int | None
    increase: int | None
    annual_target: int | None
    month_target: int | None
    source: str = ""  # 上报 / 实时 / 上报+实时 / 上报（截至11月）

    @property
    def annual_percent(self) -> Decimal | None:
        return None if self.value is None else percent(self.value, self.annual_target, 1)

    @property
    def month_percent(self) -> Decimal | None:
        return None if self.value is None else percent(self.value, self.month_target, 1)


@dataclass(frozen=True, slots=True)
class RegionProgress:
    code: str
    name: str
    value: int | None
    increase: int | None
    annual_target: int | None
    month_target: int | None
    drillable: bool  # figures or targets exist below it
    source: str = ""

    @property
    def annual_percent(self) -> Decimal | None:
        return None if self.value is None else percent(self.value, self.annual_target, 1)

    @property
    def month_percent(self) -> Decimal | None:
        return None if self.value is None else percent(self.value, self.month_target, 1)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    month: int
    value: int | None
    increase: int | None
    month_target: int | None


@dataclass(frozen=True, slots=True)
class BankProgress:
    name: str
    received: int | None
    opened: int | None
    source: str = ""

    @property
    def not_opened(self) -> int | None:
        if self.received is None or self.opened is None:
            return None
        return max(self.received - self.opened, 0)

    @property
    def rate(self) -> Decimal | None:
        return None if self.opened is None else percent(self.opened, self.received, 1)


@dataclass(frozen=True, slots=True)
class Dashboard:
    region_code: str
    region_name: str
    region_level: int
    year: int
    month: int
    metric: Metric
    metrics: tuple[MetricProgress, ...]
    subordinates: tuple[RegionProgress, ...]  # by code
    trend: tuple[TrendPoint, ...]  # months 1..12
    annual_target: int | None  # of the chosen metric, for the region
    banks: tuple[BankProgress, ...]
    months_with_data: tuple[int, ...]

    @property
    def unit(self) -> str:
        return METRIC_UNITS[self.metric]

    @property
    def ranking(self) -> tuple[RegionProgress, ...]:
        """Most complete against the annual target first; regions without one last; ties by
        code, as the bulletin breaks them."""
        with_target = [r for r in self.subordinates if r.annual_percent is not None]
        without = [r for r in self.subordinates if r.annual_percent is None]
        # Exact ratios order the regions; the rounded percentages only label them.
        with_target.sort(key=lambda r: (-(r.value or 0) / (r.annual_target or 1), r.code))
        return (*with_target, *without)

    def to_json(self) -> dict[str, Any]:
        def num(value: Decimal | None) -> float | None:
            return None if value is None else float(value)

        def region(r: RegionProgress) -> dict[str, Any]:
            return {
                "code": r.code,
                "name": r.name,
                "value": r.value,
                "increase": r.increase,
                "annual_target": r.annual_target,
                "month_target": r.month_target,
                "annual_percent": num(r.annual_percent),
                "month_percent": num(r.month_percent),
                "drillable": r.drillable,
                "source": r.source,
            }

        return {
            "region": {
                "code": self.region_code,
                "name": self.region_name,
                "level": self.region_level,
            },
            "year": self.year,
            "month": self.month,
            "months_with_data": list(self.months_with_data),
            "metric": {"code": str(self.metric), "label": self.metric.label, "unit": self.unit},
            "metrics": [
                {
                    "code": str(m.metric),
                    "label": m.metric.label,
                    "unit": METRIC_UNITS[m.metric],
                    "value": m.value,
                    "increase": m.increase,
                    "annual_target": m.annual_target,
                    "month_target": m.month_target,
                    "annual_percent": num(m.annual_percent),
                    "month_percent": num(m.month_percent),
                    "source": m.source,
                }
                for m in self.metrics
            ],
            "subordinates": [region(r) for r in self.subordinates],
            "ranking": [region(r) for r in self.ranking],
            "trend": {
                "annual_target": self.annual_target,
                "points": [
                    {
                        "month": p.month,
                        "value": p.value,
                        "increase": p.increase,
                        "month_target": p.month_target,
                    }
                    for p in self.trend
                ],
            },
            "banks": [
                {
                    "name": b.name,
                    "received": b.received,
                    "opened": b.opened,
                    "not_opened": b.not_opened,
                    "rate": num(b.rate),
                    "source": b.source,
                }
                for b in self.banks
            ],
        }


def _minus(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a - b


def compute_dashboard(data: DashboardInput) -> Dashboard:
    root = data.region_code
    direct_codes = [code for code, _name in data.direct]
    everything = [root, *direct_codes]
    empty: dict[str, int] = {}

    def values(own: Values) -> dict[str, int | None]:
        return rollup_many(everything, own, data.children)

    # Cumulative values of every metric and month for the region and its subordinates,
    # reported or live by the rule of ADR 0007.
    chosen_by: dict[tuple[Metric, int], dict[str, Sourced]] = {
        key: choose_figures(
            everything,
            reported=data.own.get(key, empty),
            live=data.live.get(key, empty),
            children=data.children,
            carried=data.carried.get(key, {}),
        )
        for key in {*data.own, *data.live}
    }
    annual_by = {metric: values(rows) for metric, rows in data.annual.items()}
    monthly_by = {key: values(rows) for key, rows in data.monthly.items()}

    def sourced(metric: Metric, month: int, code: str) -> Sourced:
        return chosen_by.get((metric, month), {}).get(code, NOTHING)

    def at(metric: Metric, month: int, code: str) -> int | None:
        return sourced(metric, month, code).value

    def annual(metric: Metric, code: str) -> int | None:
        return annual_by.get(metric, empty).get(code)

    def monthly(metric: Metric, month: int, code: str) -> int | None:
        return monthly_by.get((metric, month), empty).get(code)

    month, metric = data.month, data.metric
    metrics = tuple(
        MetricProgress(
            metric=m,
            value=at(m, month, root),
            increase=_minus(at(m, month, root), at(m, month - 1, root)),
            annual_target=annual(m, root),
            month_target=monthly(m, month, root),
            source=sourced(m, month, root).label,
        )
        for m in Metric
    )
    # A subordinate is drillable when rows exist strictly below it.
    below: set[str] = set()
    for rows in (
        *data.own.values(),
        *data.live.values(),
        *data.annual.values(),
        *data.monthly.values(),
    ):
        below.update(rows)
    parents_with_rows = _ancestors_within(below, set(direct_codes), data.children)
    subordinates = tuple(
        RegionProgress(
            code=code,
            name=name,
            value=at(metric, month, code),
            increase=_minus(at(metric, month, code), at(metric, month - 1, code)),
            annual_target=annual(metric, code),
            month_target=monthly(metric, month, code),
            drillable=code in parents_with_rows,
            source=sourced(metric, month, code).label,
        )
        for code, name in data.direct
    )
    trend = tuple(
        TrendPoint(
            month=m,
            value=at(metric, m, root),
            increase=_minus(at(metric, m, root), at(metric, m - 1, root)),
            month_target=monthly(metric, m, root),
        )
        for m in range(1, 13)
    )
    bank_names = sorted({bank for bank, _m in (*data.banks, *data.live_banks)}, key=bank_sort_key)

    def bank_value(bank: str, metric: Metric) -> Sourced:
        return choose_figures(
            [root],
            reported=data.banks.get((bank, metric), empty),
            live=data.live_banks.get((bank, metric), empty),
            children=data.children,
        )[root]

    banks = []
    for bank in bank_names:
        received, opened = bank_value(bank, Metric.RECEIVED), bank_value(bank, Metric.OPENED)
        labels = dict.fromkeys(x.label for x in (received, opened) if x.label)
        banks.append(
            BankProgress(
                name=bank,
                received=received.value,
                opened=opened.value,
                source="、".join(labels),
            )
        )
    return Dashboard(
        region_code=root,
        region_name=data.region_name,
        region_level=data.region_level,
        year=data.year,
        month=month,
        metric=metric,
        metrics=metrics,
        subordinates=subordinates,
        trend=trend,
        annual_target=annual(metric, root),
        banks=tuple(banks),
        months_with_data=tuple(data.months_with_data),
    )


def _ancestors_within(
    codes: set[str], candidates: set[str], children: Mapping[str, Sequence[str]]
) -> set[str]:
    """The candidates that have one of `codes` strictly below them."""
    found: set[str] = set()
    for candidate in candidates:
        stack = list(children.get(candidate, ()))
        while stack:
            code = stack.pop()
            if code in codes:
                found.add(candidate)
                break
            stack.extend(children.get(code, ()))
    return found
