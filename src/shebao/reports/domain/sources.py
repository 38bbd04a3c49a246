"""Which figure a region shows for a month when the system counts some work itself (live) and
levels below report figures by file (ADR 0007, amending 0006).

All figures are cumulative counts at a month's end. A live count smaller than a reported
count of the same region and period is partial — the system started counting after part of
the work was done, or records only part of it — so it never replaces the reported one:

* at each region of the roll-up, the reported value is the region's own reported figure,
  else the sum of what its subordinates show (each chosen by this same rule);
* the live figure is used where there is no reported value, or where it is at least the
  reported value (the system then records everything that was reported, and more);
* a region that reported a metric for an earlier month but not (yet) for this one shows its
  latest reported figure, labelled with the month it was reported for (`carry_forward`),
  rather than dropping to a partial live count.

Every value carries its source so that pages can say, per region and metric, where it
comes from.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

__all__ = ["NOTHING", "Source", "Sourced", "carry_forward", "choose_figures", "source_label"]

K = TypeVar("K", bound=Hashable)


class Source(StrEnum):
    REPORTED = "reported"
    LIVE = "live"
    MIXED = "mixed"  # a sum over subordinates, some reported and some live

    @property
    def label(self) -> str:
        return {"reported": "上报", "live": "实时", "mixed": "上报+实时"}[self.value]


@dataclass(frozen=True, slots=True)
class Sourced:
    """A figure and where it comes from; `as_of` names the month of a reported figure that
    was carried forward (e.g. "11月"), empty when the figure is the month's own."""

    value: int | None
    source: Source | None = None
    as_of: str = ""

    @property
    def label(self) -> str:
        return source_label(self.source, self.as_of)


NOTHING = Sourced(None)


def source_label(source: Source | None, as_of: str = "") -> str:
    """`上报` / `实时` / `上报+实时` / `上报（截至11月）`; empty without a figure."""
    if source is None:
        return ""
    if as_of:
        return f"{source.label}（截至{as_of}）"
    return source.label


def choose_figures(
    roots: Iterable[str],
    *,
    reported: Mapping[str, int],
    live: Mapping[str, int],
    children: Mapping[str, Sequence[str]],
    carried: Mapping[str, str] | None = None,
) -> dict[str, Sourced]:
    """Each root's figure by the rule above. `reported` and `live` hold the regions' own
    figures by code; `carried` names, for reported figures carried forward from an earlier
    month, that month."""
    carried = carried or {}
    memo: dict[str, Sourced] = {}

    def reported_value(code: str) -> Sourced:
        if code in reported:
            return Sourced(reported[code], Source.REPORTED, carried.get(code, ""))
        # Recursion is bounded: region trees are at most five levels deep.
        parts = [p for p in (value(c) for c in children.get(code, ())) if p.value is not None]
        if not parts:
            return NOTHING
        sources = {p.source for p in parts}
        source = parts[0].source if len(sources) == 1 else Source.MIXED
        as_of = {p.as_of for p in parts}
        return Sourced(
            sum(p.value or 0 for p in parts), source, as_of.pop() if len(as_of) == 1 else ""
        )

    def value(code: str) -> Sourced:
        if code in memo:
            return memo[code]
        chosen = reported_value(code)
        counted = live.get(code)
        if counted is not None and (chosen.value is None or counted >= chosen.value):
            chosen = Sourced(counted, Source.LIVE)
        memo[code] = chosen
        return chosen

    return {root: value(root) for root in roots}


def carry_forward(
    by_period: Mapping[int, Mapping[K, int]], periods: Sequence[int], names: Mapping[int, str]
) -> tuple[dict[int, dict[K, int]], dict[int, dict[K, str]]]:
    """Reported figures of each period in `periods` (in order), with every key that reported
    in an earlier period of the sequence but not in this one given its latest earlier
    figure. Returns the filled figures and, per period, the carried keys with the name of
    the period their figure is from (`names`)."""
    filled: dict[int, dict[K, int]] = {}
    carried: dict[int, dict[K, str]] = {}
    last: dict[K, tuple[int, int]] = {}  # key -> (value, period)
    for period in periods:
        own = dict(by_period.get(period, {}))
        notes: dict[K, str] = {}
        for key, (value, source_period) in last.items():
            if key not in own:
                own[key] = value
                notes[key] = names.get(source_period, str(source_period))
        for key, value in by_period.get(period, {}).items():
            last[key] = (value, period)
        filled[period] = own
        carried[period] = notes
    return filled, carried
