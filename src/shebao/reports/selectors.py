"""Reads for targets, reported figures and bulletins. Progress figures are not personal data:
no per-user scoping applies here (pages restrict which regions a user may choose)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Final

from django.db.models import Prefetch, Q, QuerySet

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.accounts.scoping import Scope
from shebao.errors import NotFound
from shebao.geo.codes import level_of, parent_code_of
from shebao.geo.models import Region
from shebao.payments.selectors import paid_into_cards
from shebao.reports.domain.bulletin import (
    BankFigures,
    BulletinFigures,
    PaymentFigures,
    RegionFigures,
    UsageFigures,
    bank_sort_key,
)
from shebao.reports.domain.dashboard import Dashboard, DashboardInput, compute_dashboard
from shebao.reports.domain.metrics import Metric
from shebao.reports.domain.regions import rollup
from shebao.reports.domain.sources import Source, Sourced, carry_forward, choose_figures
from shebao.reports.models import (
    Bulletin,
    LiveFigure,
    LiveRefresh,
    ReportedFigure,
    Target,
    WorkPlan,
    WorkPlanItem,
)
from shebao.usage.selectors import usage_fields_of_month

__all__ = [
    "FigureSources",
    "RegionOption",
    "TargetLine",
    "bulletin_figures",
    "bulletin_latest",
    "bulletins_for",
    "dashboard_data",
    "figure_rows",
    "figure_sources",
    "month_has_figures",
    "periods_with_data",
    "region_codes_known",
    "report_region_options",
    "target_lines",
    "work_plan_can_manage",
    "work_plan_items_visible",
    "work_plan_sees_whole",
    "work_plans_visible",
]

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


FigureRow = tuple[str, int, int, str, str, int]  # region, year, month, bank, metric, value


def _codes_down_to(prefix: str, max_level: int) -> list[str]:
    return list(
        Region.objects.filter(code__startswith=prefix, level__lte=max_level).values_list(
            "code", flat=True
        )
    )


def _live_rows(condition: Q, codes: list[str]) -> list[QuerySet[LiveFigure]]:
    """Live figures of the given regions, by code (the index), in chunks."""
    return [LiveFigure.objects.filter(condition, region_id__in=chunk) for chunk in _chunks(codes)]


_BANK_METRICS: Final[frozenset[str]] = frozenset({Metric.RECEIVED.value, Metric.OPENED.value})


@dataclass(frozen=True, slots=True)
class FigureTables:
    """Month-end figures of a subtree, the reported and the live ones apart (the pages
    choose between them region by region: `domain.sources.choose_figures`)."""

    reported: list[FigureRow]
    live: list[FigureRow]


def _bank_totals(rows: list[FigureRow]) -> list[FigureRow]:
    """One definition of 接收开户数据 and 完成开户: where banks' figures exist for a region
    and month, the region's figure is their sum (the banks open the accounts), so that a
    summary and the bank table never disagree."""
    sums: dict[tuple[str, int, int, str], int] = defaultdict(int)
    for code, y, m, bank, metric, value in rows:
        if bank and metric in _BANK_METRICS:
            sums[(code, y, m, metric)] += value
    out = [
        (code, y, m, bank, metric, value)
        for code, y, m, bank, metric, value in rows
        if bank or (code, y, m, metric) not in sums
    ]
    out.extend((code, y, m, "", metric, value) for (code, y, m, metric), value in sums.items())
    return out


def figure_rows(prefix: str, condition: Q, *, live_max_level: int) -> FigureTables:
    """Month-end figures of the regions under `prefix` matching `condition`: the figures
    reported upward and the system's own (live) ones.

    Live figures are kept at every level up to the card centre's region, so a page reads
    only the levels it shows (down to `live_max_level`), by their codes: a province's
    dashboard does not scan the rows of its thirty thousand villages."""
    fields = ("region_id", "year", "month", "bank", "metric", "value")
    reported = ReportedFigure.objects.filter(condition, region__code__startswith=prefix)
    live: list[FigureRow] = []
    for query in _live_rows(condition, _codes_down_to(prefix, live_max_level)):
        live.extend(query.order_by().values_list(*fields))
    return FigureTables(
        reported=_bank_totals(list(reported.order_by().values_list(*fields))),
        live=_bank_totals(live),
    )


@dataclass(frozen=True, slots=True)
class FigureSources:
    """Where the figures of a region's month come from, for the pages to say so."""

    live: int  # figures computed from the system's own records
    reported: int  # figures reported upward by file
    # (region name, metric label, bank, source used) where a region's own figure exists both
    # ways: the live one is used only where it is not smaller (ADR 0007).
    both: tuple[tuple[str, str, str, str], ...]
    refreshed_at: datetime | None  # when live figures were last brought up to date


def figure_sources(*, region: Region, year: int, month: int) -> FigureSources:
    condition = Q(year=year, month=month)
    keys = ("region_id", "bank", "metric", "value")
    live: dict[tuple[str, str, str], int] = {}
    for query in _live_rows(condition, _codes_down_to(region.prefix, region.level + 1)):
        live.update(((c, b, m), v) for c, b, m, v in query.values_list(*keys))
    reported = {
        (c, b, m): v
        for c, b, m, v in ReportedFigure.objects.filter(
            condition, region__code__startswith=region.prefix
        ).values_list(*keys)
    }
    both = sorted(live.keys() & reported.keys())[:200]
    names = dict(
        Region.objects.filter(code__in={code for code, _b, _m in both}).values_list("code", "name")
    )
    last = LiveRefresh.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
    return FigureSources(
        live=len(live),
        reported=len(reported),
        both=tuple(
            (
                names.get(code, code),
                Metric(metric).label,
                bank,
                Source.LIVE.label if live[key] >= reported[key] else Source.REPORTED.label,
            )
            for key in both
            for code, bank, metric in [key]
        ),
        refreshed_at=last.finished_at if last is not None else None,
    )


def bulletin_figures(*, year: int, month: int, region_code: str) -> BulletinFigures:
    """The snapshot a bulletin of `region_code` for the month is computed from.

    Each subordinate region's figure is its own reported value, or else the sum over the
    regions below it; a live figure only where it is not smaller (ADR 0007,
    `domain.sources.choose_figures`); targets are rolled up the same way
    (`domain.regions.rollup`). Bank figures are the bank's rows at the region, or else summed
    from below.
    """
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        raise NotFound(f"区划代码“{region_code}”不存在", code="REGION_UNKNOWN")

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

    # Reported and live figures of the year to the month (and the December before), so that
    # a region that has not reported this month shows its latest reported figure.
    tables = figure_rows(
        region.prefix,
        Q(metric__in=[m.value for m in _BULLETIN_METRICS])
        & (Q(year=year, month__lte=month) | Q(year=year - 1, month=12)),
        live_max_level=region.level + 1,
    )
    own, live, carried, by_bank, live_by_bank = _by_period(tables, year=year, month=month)
    at, prev_at = month, month - 1

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

    def chosen(metric: Metric, period: int, code: str) -> Sourced:
        return choose_figures(
            [code],
            reported=own.get((metric, period), {}),
            live=live.get((metric, period), {}),
            children=children,
            carried=carried.get((metric, period), {}),
        )[code]

    def figures_of(code: str, name: str) -> RegionFigures:
        submitted = chosen(Metric.SUBMITTED, at, code)
        produced = chosen(Metric.PRODUCED, at, code)
        return RegionFigures(
            code=code,
            name=name,
            submitted=submitted.value,
            previous=chosen(Metric.SUBMITTED, prev_at, code).value,
            annual_target=rollup(code, annual, children),
            month_target=rollup(code, monthly, children),
            produced=produced.value,
            submitted_source=submitted.label,
            produced_source=produced.label,
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
    for bank in sorted({b for (b, _m) in (*by_bank, *live_by_bank)}, key=bank_sort_key):
        values = {
            metric: choose_figures(
                [region.code],
                reported=by_bank.get((bank, metric), {}),
                live=live_by_bank.get((bank, metric), {}),
                children=children,
            )[region.code]
            for metric in (Metric.RECEIVED, Metric.OPENED)
        }
        banks.append(
            BankFigures(
                name=bank,
                received=values[Metric.RECEIVED].value,
                opened=values[Metric.OPENED].value,
            )
        )

    return BulletinFigures(
        payments=_payment_figures(region, year=year, month=month),
        usage=tuple(
            UsageFigures(field=f.label, uses=f.uses, ecard_uses=f.ecard_uses, users=f.users)
            for f in usage_fields_of_month(region_prefix=region.prefix, year=year, month=month)
        ),
        year=year,
        month=month,
        region=figures_of(region.code, region.name),
        region_level=region.level,
        subordinate_level=min((lv for _c, _n, lv in direct), default=region.level + 1),
        subordinates=tuple(subordinates),
        banks=tuple(banks),
    )


def _payment_figures(region: Region, *, year: int, month: int) -> tuple[PaymentFigures, ...]:
    """Payments into cards confirmed by the banks for periods starting in the month, per
    programme and county of the payees' residence (issue #12)."""
    start = date(year, month, 1)
    until = date(year + (month == 12), month % 12 + 1, 1)
    figures = paid_into_cards(region_prefix=region.prefix, since=start, until=until)
    names = dict(
        Region.objects.filter(code__in={f.region_code for f in figures}).values_list("code", "name")
    )
    totals: dict[tuple[str, str], list[int]] = {}
    for f in figures:
        key = (f.programme, names.get(f.region_code, f.region_code or "其他"))
        acc = totals.setdefault(key, [0, 0])
        acc[0] += f.count
        acc[1] += f.paid_fen
    return tuple(
        PaymentFigures(programme=p, region=r, count=c, paid_fen=fen)
        for (p, r), (c, fen) in sorted(totals.items())
    )


PeriodValues = dict[tuple[Metric, int], dict[str, int]]
BankValues = dict[tuple[str, Metric], dict[str, int]]


Carried = dict[tuple[Metric, int], dict[str, str]]


def _by_period(
    tables: FigureTables, *, year: int, month: int, last: int | None = None
) -> tuple[PeriodValues, PeriodValues, Carried, BankValues, BankValues]:
    """The rows of the year (month 0: the December before; up to `last`, default `month`)
    as (metric, month) -> region -> value, reported and live apart, the reported ones
    carried forward up to `month` (ADR 0007) with the carried ones named; and the banks'
    rows of `month`, (bank, metric) -> region -> value."""
    metrics = {m.value: m for m in Metric}
    last = month if last is None else last
    periods = list(range(0, month + 1))
    names = {p: (f"{year - 1}年12月" if p == 0 else f"{p}月") for p in periods}

    def split(rows: list[FigureRow]) -> dict[tuple[str, Metric], dict[int, dict[str, int]]]:
        out: dict[tuple[str, Metric], dict[int, dict[str, int]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        for code, y, m, bank, metric, value in rows:
            period = 0 if y != year else m
            if period <= last:
                out[(bank, metrics[metric])][period][code] = value
        return out

    reported_rows, live_rows = split(tables.reported), split(tables.live)
    own: PeriodValues = {}
    carried: dict[tuple[Metric, int], dict[str, str]] = {}
    by_bank: BankValues = {}
    for (bank, metric), by_period in reported_rows.items():
        filled, notes = carry_forward(by_period, periods, names)
        if bank:
            by_bank[(bank, metric)] = filled[month]
            continue
        for period in periods:
            own[(metric, period)] = filled[period]
            carried[(metric, period)] = notes[period]
        for period in range(month + 1, last + 1):  # after the month: as reported
            if period in by_period:
                own[(metric, period)] = dict(by_period[period])
    live: PeriodValues = {}
    live_by_bank: BankValues = {}
    for (bank, metric), by_period in live_rows.items():
        if bank:
            live_by_bank[(bank, metric)] = dict(by_period.get(month, {}))
            continue
        for period, values in by_period.items():
            live[(metric, period)] = dict(values)
    return own, live, carried, by_bank, live_by_bank


def bulletin_latest(*, year: int, month: int, region_code: str) -> Bulletin | None:
    return (
        Bulletin.objects.filter(year=year, month=month, region_id=region_code)
        .order_by("-generated_at", "-id")
        .first()
    )


def bulletins_for(*, region_code: str) -> list[Bulletin]:
    return list(
        Bulletin.objects.filter(region_id=region_code)
        .select_related("region", "generated_by", "superseded_by")
        .order_by("-year", "-month", "-generated_at", "-id")
    )


# ---------------------------------------------------------------- regions and periods


@dataclass(frozen=True, slots=True)
class RegionOption:
    code: str
    name: str
    level: int


def _with_ancestors(codes: Iterable[str], stop_prefix: str | None) -> set[str]:
    """The codes and their ancestors by code structure, not above the scope's root."""
    out: set[str] = set()
    for code in codes:
        current: str | None = code
        while current is not None and current not in out:
            if stop_prefix is not None and not current.startswith(stop_prefix):
                break
            out.add(current)
            current = parent_code_of(current)
    return out


def report_region_options(*, root: Region | None, max_level: int = 4) -> list[RegionOption]:
    """Regions a reports page offers: those with figures or targets, their ancestors, and the
    user's own region (`root`, None: every region), down to towns, ordered by code."""
    prefix = root.prefix if root is not None else ""
    codes: set[str] = set()
    for model in (ReportedFigure, Target):
        rows = model._default_manager.filter(region__code__startswith=prefix)
        codes.update(rows.order_by().values_list("region_id", flat=True).distinct())
    if LiveFigure.objects.exists():
        # Live figures reach up to the card centres' regions; below, the pages drill down.
        codes.update(
            Organisation.objects.filter(
                kind=OrganisationKind.CARD_CENTRE, region__code__startswith=prefix
            ).values_list("region_id", flat=True)
        )
    wanted = {c for c in _with_ancestors(codes, prefix or None) if level_of(c) <= max_level}
    if root is not None:
        wanted.add(root.code)
    found: list[RegionOption] = []
    for chunk in _chunks(sorted(wanted)):
        found.extend(
            RegionOption(code, name, level)
            for code, name, level in Region.objects.filter(code__in=chunk).values_list(
                "code", "name", "level"
            )
        )
    return sorted(found, key=lambda r: r.code)


def month_has_figures(*, region: Region, year: int, month: int) -> bool:
    """Whether anything was reported or counted live for the month in the region's subtree
    (a month with neither has no bulletin: carried-forward figures alone make none)."""
    condition = Q(year=year, month=month)
    if ReportedFigure.objects.filter(condition, region__code__startswith=region.prefix).exists():
        return True
    return any(
        q.exists() for q in _live_rows(condition, _codes_down_to(region.prefix, region.level + 1))
    )


def periods_with_data(*, region: Region) -> list[tuple[int, int]]:
    """(year, month) pairs with a figure anywhere in the region's subtree, latest first."""
    reported = ReportedFigure.objects.filter(region__code__startswith=region.prefix)
    live = _live_rows(Q(), _codes_down_to(region.prefix, region.level + 1))
    found: set[tuple[int, int]] = set()
    for query in [reported, *live]:
        # No ordering: the model's would join the DISTINCT.
        found.update(query.order_by().values_list("year", "month").distinct())
    return sorted(found, reverse=True)


# ---------------------------------------------------------------- dashboard


def dashboard_data(
    *, region: Region, year: int, month: int, metric: Metric = Metric.SUBMITTED
) -> Dashboard:
    """The dashboard of `region` for the month: three reads, whatever the number of regions.

    Figures are already aggregated per (month, region, bank, metric): the rows every
    subordinate region needs come in one query (not one per region), the targets in a
    second, the region tree in a third, and the roll-up to the subordinate regions (a
    region's own row, else the sum below it, as the bulletin counts) happens in memory
    (`domain.dashboard`). Only the rows drawn are read: the chosen metric month by month,
    every metric and the banks from the December before to the month (a region that has
    not reported the month shows its latest reported figure, ADR 0007).
    """
    prefix = region.prefix
    # The chosen metric for every month (and the December before, for January's increase);
    # every metric from the December before to the month (the figures at the top, carried
    # forward where a region has not reported the month yet); the banks likewise.
    year_rows = Q(year=year) | Q(year=year - 1, month=12)
    to_month = Q(year=year, month__lte=month) | Q(year=year - 1, month=12)
    bank_rows = Q(metric__in=sorted(_BANK_METRICS)) & ~Q(bank="")
    # Two levels below: the subordinates, and whether each can be drilled into.
    tables = figure_rows(
        prefix,
        (Q(bank="") & ((Q(metric=metric.value) & year_rows) | to_month)) | (bank_rows & to_month),
        live_max_level=region.level + 2,
    )
    own, live, carried, banks, live_banks = _by_period(tables, year=year, month=month, last=12)
    months: set[int] = set()
    codes: set[str] = set()
    for code, y, m, bank, metric_code, _value in (*tables.reported, *tables.live):
        codes.add(code)
        if not bank and y == year and metric_code == metric.value:
            months.add(m)
    metrics = {m.value: m for m in Metric}

    annual: dict[Metric, dict[str, int]] = defaultdict(dict)
    monthly: dict[tuple[Metric, int], dict[str, int]] = defaultdict(dict)
    targets = Target.objects.filter(
        Q(metric=metric.value) | Q(month__isnull=True) | Q(month=month),
        region__code__startswith=prefix,
        year=year,
        bank="",
    ).order_by()
    for code, target_month, metric_code, value in targets.values_list(
        "region_id", "month", "metric", "value"
    ):
        codes.add(code)
        if target_month is None:
            annual[metrics[metric_code]][code] = value
        else:
            monthly[(metrics[metric_code], target_month)][code] = value

    # The tree down to the deepest level that has rows (a province's towns are not read
    # when only its counties report), and always the region's direct subordinates.
    deepest = max((level_of(c) for c in codes), default=region.level + 1)
    tree = Region.objects.filter(
        code__startswith=prefix, level__lte=max(deepest, region.level + 1)
    ).values_list("code", "parent_id", "name")
    children: dict[str, list[str]] = defaultdict(list)
    direct: list[tuple[str, str]] = []
    for code, parent, name in tree:
        if parent is not None:
            children[parent].append(code)
        if parent == region.code:
            direct.append((code, name))
    direct.sort()
    # Show the subordinates that have something to show (a province lists 14 prefectures,
    # not the regions of its tree that never reported).
    with_rows = codes
    shown = [
        (code, name)
        for code, name in direct
        if code in with_rows or any(c.startswith(_prefix_of(code)) for c in with_rows)
    ]
    return compute_dashboard(
        DashboardInput(
            region_code=region.code,
            region_name=region.name,
            region_level=region.level,
            year=year,
            month=month,
            metric=metric,
            direct=shown,
            children=children,
            own=own,
            annual=annual,
            monthly=monthly,
            banks=banks,
            months_with_data=sorted(months),
            live=live,
            live_banks=live_banks,
            carried=carried,
        )
    )


def _prefix_of(code: str) -> str:
    level = level_of(code)
    return {1: code[:2], 2: code[:4]}.get(level, code)


# ---------------------------------------------------------------- work plan

# Leaders read whole plans; the card offices that run a plan read (and import) it whole too.
_PLAN_MANAGERS = frozenset({Role.CARD_CENTRE_OPERATOR, Role.DISTRICT_CLERK, Role.SYSTEM_ADMIN})
_PLAN_READERS = _PLAN_MANAGERS | {Role.LEADER_VIEWER}


def work_plan_can_manage(*, user: User, plan: WorkPlan | None = None) -> bool:
    """Whether `user` may import (replace) a plan of their area."""
    if not (user.is_superuser or user.has_role(*_PLAN_MANAGERS)):
        return False
    return plan is None or Scope.for_user(user).contains_region(plan.region_id)


def work_plan_sees_whole(*, user: User, plan: WorkPlan) -> bool:
    """Leaders, administrators and the card offices see every item of their area's plans."""
    reader = user.is_superuser or user.has_role(*_PLAN_READERS)
    return reader and Scope.for_user(user).contains_region(plan.region_id)


def _region_prefixes(code: str) -> list[str]:
    """The subtree prefixes of a region and of every region above it, by code structure."""
    return sorted({code[:n] for n in (2, 4, 6, 9, 12) if n <= len(code)})


def _involved(user: User) -> Q:
    """The items the user's organisation leads or cooperates in."""
    org = user.organisation
    if org is None:
        return Q(pk__in=[])
    return (
        Q(lead=org)
        | Q(cooperating=org)
        # "各镇（街）": every town office of the plan's area.
        | Q(groups__kind=org.kind, plan__region__prefix__in=_region_prefixes(org.region_id))
    )


def work_plans_visible(*, user: User) -> list[WorkPlan]:
    """The plans of the user's area for those who read whole plans, and the plans in which
    the user's organisation leads or cooperates in an item (possibly of an area above)."""
    condition = Q(pk__in=WorkPlanItem.objects.filter(_involved(user)).values("plan_id"))
    if user.is_superuser or user.has_role(*_PLAN_READERS):
        scope = Scope.for_user(user)
        if scope.unrestricted:
            condition = Q()
        elif not scope.empty and scope.region_prefix is not None:
            condition |= Q(region__code__startswith=scope.region_prefix)
    plans = WorkPlan.objects.select_related("region").filter(condition)
    return list(plans.order_by("-updated_at", "title"))


def work_plan_items_visible(*, user: User, plan: WorkPlan) -> list[WorkPlanItem]:
    """The items of `plan` that `user` sees, in the plan's order, with their organisations."""
    items: QuerySet[WorkPlanItem] = WorkPlanItem.objects.filter(plan=plan)
    if not work_plan_sees_whole(user=user, plan=plan):
        items = items.filter(pk__in=WorkPlanItem.objects.filter(_involved(user)).values("pk"))
    return list(
        items.select_related("lead")
        .prefetch_related(
            Prefetch("cooperating", queryset=Organisation.objects.order_by("code")),
            "groups",
        )
        .order_by("position")
    )


# ---------------------------------------------------------------- target entry


@dataclass(frozen=True, slots=True)
class TargetLine:
    """One row of the target page: a region's own target or a bank's at the region."""

    region_code: str
    region_name: str
    bank: str
    values: dict[int, int]  # period (0 annual, 1-12 months) -> target


def target_lines(*, region: Region, year: int, metric: Metric) -> list[TargetLine]:
    """The region, its direct subordinates, and the banks with targets or figures at the
    region, with the targets stored for the year and metric."""
    direct = list(
        Region.objects.filter(parent_id=region.code).order_by("code").values_list("code", "name")
    )
    regions = [(region.code, region.name), *direct]
    codes = [c for c, _n in regions]
    stored: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for code, bank, month, value in Target.objects.filter(
        year=year, metric=metric.value, region_id__in=codes
    ).values_list("region_id", "bank", "month", "value"):
        stored[(code, bank)][month or 0] = value
    banks = set(
        ReportedFigure.objects.filter(region_id=region.code)
        .exclude(bank="")
        .values_list("bank", flat=True)
        .distinct()
    )
    banks.update(b for (c, b) in stored if c == region.code and b)
    lines = [TargetLine(c, n, "", stored.get((c, ""), {})) for c, n in regions]
    lines += [
        TargetLine(region.code, region.name, b, stored.get((region.code, b), {}))
        for b in sorted(banks)
    ]
    return lines
