"""Targets typed on the target page: one metric and year, a grid of regions (and banks) by
period. The cells are checked the way an imported targets file is checked, and a month's
target — the cumulative count due at the month's end — may not fall below an earlier month's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

from shebao.reports.domain.metrics import Metric
from shebao.reports.domain.rows import ImportErrorCode, TargetRow, _BadCell, _bank, _value

__all__ = [
    "ANNUAL",
    "CellError",
    "GridKey",
    "RollupDifference",
    "TargetGrid",
    "parse_target_grid",
    "rollup_differences",
]

ANNUAL: Final[int] = 0  # the period of the annual target in a grid; months are 1-12
DECREASING: Final[str] = "MONTH_TARGET_DECREASING"
ABOVE_ANNUAL: Final[str] = "MONTH_TARGET_ABOVE_ANNUAL"

GridKey = tuple[str, str, int]  # (region code, bank or "", period)


@dataclass(frozen=True, slots=True)
class CellError:
    region_code: str
    bank: str
    period: int
    code: str
    message: str

    def as_dict(self) -> dict[str, str | int]:
        return {
            "region": self.region_code,
            "bank": self.bank,
            "period": self.period,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class TargetGrid:
    """What to keep (rows) and what to remove (keys of cells left blank)."""

    rows: tuple[TargetRow, ...]
    cleared: tuple[GridKey, ...]
    errors: tuple[CellError, ...]


def _period_label(period: int) -> str:
    return "年度目标" if period == ANNUAL else f"{period}月目标"


def parse_target_grid(*, year: int, metric: Metric, cells: Mapping[GridKey, str]) -> TargetGrid:
    """Check every cell; a blank cell clears that target. Errors name region, bank and period."""
    rows: list[TargetRow] = []
    cleared: list[GridKey] = []
    errors: list[CellError] = []
    values: dict[tuple[str, str], dict[int, int]] = {}
    for (region, bank_text, period), raw in sorted(cells.items()):
        try:
            bank = _bank(bank_text)
        except _BadCell as exc:
            errors.append(CellError(region, bank_text, period, exc.code, exc.message))
            continue
        if not 0 <= period <= 12:
            errors.append(
                CellError(region, bank, period, ImportErrorCode.MONTH_INVALID, "月份应为1至12")
            )
            continue
        if str(raw).strip() == "":
            cleared.append((region, bank, period))
            continue
        try:
            value = _value(raw, _period_label(period))
        except _BadCell as exc:
            errors.append(CellError(region, bank, period, exc.code, exc.message))
            continue
        values.setdefault((region, bank), {})[period] = value
        rows.append(
            TargetRow(
                row=0,
                year=year,
                month=None if period == ANNUAL else period,
                region_code=region,
                bank=bank,
                metric=metric,
                value=value,
            )
        )
    for (region, bank), by_period in sorted(values.items()):
        months = sorted(p for p in by_period if p != ANNUAL)
        annual = by_period.get(ANNUAL)
        for month in months:
            if annual is not None and by_period[month] > annual:
                errors.append(
                    CellError(
                        region,
                        bank,
                        month,
                        ABOVE_ANNUAL,
                        f"{month}月目标{by_period[month]}大于年度目标{annual}："
                        "月度目标是截至月底的累计数，不能超过全年目标",
                    )
                )
        for earlier, later in pairwise(months):
            if by_period[later] < by_period[earlier]:
                errors.append(
                    CellError(
                        region,
                        bank,
                        later,
                        DECREASING,
                        f"{later}月目标{by_period[later]}小于{earlier}月目标{by_period[earlier]}："
                        "月度目标是截至月底的累计数，应逐月不减",
                    )
                )
    return TargetGrid(rows=tuple(rows), cleared=tuple(cleared), errors=tuple(errors))


@dataclass(frozen=True, slots=True)
class RollupDifference:
    """A region's own target that differs from the sum of its subordinates' targets: once
    saved, the region's own figure is used and the subordinates' roll-up no longer is."""

    region_code: str
    period: int
    own: int
    rollup: int  # the sum of the subordinates' targets for the period
    subordinates: int  # how many subordinates have one

    def message(self, name: str) -> str:
        what = _period_label(self.period)
        return (
            f"{name}{what}{self.own:,}与其{self.subordinates}个下级地区的目标合计"
            f"{self.rollup:,}不一致：保存后{name}以本级目标{self.own:,}为准，"
            "不再按下级合计"
        )

    def as_dict(self) -> dict[str, str | int]:
        return {
            "region": self.region_code,
            "period": self.period,
            "own": self.own,
            "rollup": self.rollup,
        }


def rollup_differences(
    values: Mapping[tuple[str, int], int],
    children: Mapping[str, Sequence[str]],
    changed: set[tuple[str, int]],
) -> list[RollupDifference]:
    """The regions whose own target (values: (region, period) -> target, as they would be
    saved) differs from the sum of their direct subordinates' targets for the same period,
    where this save changes either side."""
    out = []
    for (region, period), own in sorted(values.items()):
        parts = [values[(c, period)] for c in children.get(region, ()) if (c, period) in values]
        if not parts or sum(parts) == own:
            continue
        touched = (region, period) in changed or any(
            (c, period) in changed for c in children.get(region, ())
        )
        if touched:
            out.append(RollupDifference(region, period, own, sum(parts), len(parts)))
    return out
