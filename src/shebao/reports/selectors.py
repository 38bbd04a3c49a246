"""Reads for targets, reported figures and bulletins. Progress figures are not personal data:
no per-user scoping applies here (pages restrict which regions a user may choose)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Final

from django.db.models import Q

from shebao.errors import NotFound
from shebao.geo.models import Region
from shebao.reports.domain.bulletin import (
    BankFigures,
    BulletinFigures,
    RegionFigures,
    previous_month,
)
from shebao.reports.domain.metrics import Metric
from shebao.reports.domain.regions import rollup
from shebao.reports.models import Bulletin, ReportedFigure, Target

__all__ = ["bulletin_figures", "bulletin_latest", "bulletins_for", "region_codes_known"]

_CHUNK: Final[int] = 500
_BULLETIN_METRICS: Final[tuple[Metric, ...]] = (
    Metric.SUBMITTED,
    Metric.PRODUCED,
    Metric.RECEIVED,
    Metric.OPENED,
)


def _chunks(items: Iterable[str], size: int = _CHUNK) -> Iterator[list[str]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def region_codes_known(codes: Iterable[str]) -> set[str]:
    """The codes among `codes` that exist in the region table."""
    known: set[str] = set()
    for chunk in _chunks(sorted(set(codes))):
        known.update(Region.objects.filter(code__in=chunk).values_list("code", flat=True))
    return known


def bulletin_figures(*, year: int, month: int, region_code: str) -> BulletinFigures:
    """The snapshot a bulletin of `region_code` for the month is computed from.

    Each subordinate region's figure is its own reported value, or else the sum over the
    regions below it (see `domain.regions.rollup`); the same for targets and for the region
    itself. Bank figures are the bank's rows at the region, or else summed from below.
    """
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        raise NotFound(f"区划代码“{region_code}”不存在", code="REGION_UNKNOWN")
    prev_year, prev_month = previous_month(year, month)

    tree = list(
        Region.objects.filter(code__startswith=region.prefix).values_list(
            "code", "parent_id", "name", "level"
        )
    )
    children: dict[str, list[str]] = defaultdict(list)
    for code, parent, _name, _level in tree:
        if parent is not None:
            children[parent].append(code)
    direct = sorted((c, n, lv) for c, p, n, lv in tree if p == region.code)

    # (metric, period) -> region -> value, for the regions' own rows (bank empty);
    # (metric, bank) -> region -> value for the banks' rows of the month.
    own: dict[tuple[str, int, int], dict[str, int]] = defaultdict(dict)
    by_bank: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    rows = ReportedFigure.objects.filter(
        region__code__startswith=region.prefix,
        metric__in=[m.value for m in _BULLETIN_METRICS],
    ).filter(year__in={year, prev_year}, month__in={month, prev_month})
    for code, y, m, bank, metric, value in rows.values_list(
        "region_id", "year", "month", "bank", "metric", "value"
    ):
        if (y, m) not in {(year, month), (prev_year, prev_month)}:
            continue
        if bank:
            if (y, m) == (year, month):
                by_bank[(metric, bank)][code] = value
        else:
            own[(metric, y, m)][code] = value

    annual: dict[str, int] = {}
    monthly: dict[str, int] = {}
    targets = Target.objects.filter(
        Q(month__isnull=True) | Q(month=month),
        region__code__startswith=region.prefix,
        year=year,
        bank="",
        metric=Metric.SUBMITTED.value,
    )
    for code, target_month, value in targets.values_list("region_id", "month", "value"):
        (annual if target_month is None else monthly)[code] = value

    def figures_of(code: str, name: str) -> RegionFigures:
        return RegionFigures(
            code=code,
            name=name,
            submitted=rollup(code, own[(Metric.SUBMITTED, year, month)], children),
            previous=rollup(code, own[(Metric.SUBMITTED, prev_year, prev_month)], children),
            annual_target=rollup(code, annual, children),
            month_target=rollup(code, monthly, children),
            produced=rollup(code, own[(Metric.PRODUCED, year, month)], children),
        )

    subordinates = []
    for code, name, _level in direct:
        f = figures_of(code, name)
        if any(
            v is not None
            for v in (f.submitted, f.previous, f.annual_target, f.month_target, f.produced)
        ):
            subordinates.append(f)

    banks = []
    for bank in sorted({b for (_metric, b) in by_bank}):
        banks.append(
            BankFigures(
                name=bank,
                received=rollup(region.code, by_bank[(Metric.RECEIVED, bank)], children),
                opened=rollup(region.code, by_bank[(Metric.OPENED, bank)], children),
            )
        )

    return BulletinFigures(
        year=year,
        month=month,
        region=figures_of(region.code, region.name),
        region_level=region.level,
        subordinate_level=min((lv for _c, _n, lv in direct), default=region.level + 1),
        subordinates=tuple(subordinates),
        banks=tuple(banks),
    )


def bulletin_latest(*, year: int, month: int, region_code: str) -> Bulletin | None:
    return (
        Bulletin.objects.filter(year=year, month=month, region_id=region_code)
        .order_by("-generated_at", "-id")
        .first()
    )


def bulletins_for(*, region_code: str) -> list[Bulletin]:
    return list(
        Bulletin.objects.filter(region_id=region_code)
        .select_related("region", "generated_by")
        .order_by("-year", "-month", "-generated_at")
    )
