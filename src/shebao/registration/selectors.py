"""Reads for registration: comparison runs, the findings queue (scoped by region, masked),
survey rosters and completeness, and coverage by region and scheme."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from django.db.models import Count, OuterRef, Q, QuerySet

from shebao.accounts.models import User
from shebao.accounts.scoping import Scope
from shebao.comparison.domain import Category
from shebao.errors import NotFound, PermissionDenied
from shebao.geo.models import Region
from shebao.identity.masking import mask_id_number, mask_name
from shebao.registration.choices import (
    GONE_OUTCOMES,
    SETTLED_OUTCOMES,
    UNINSURED_CATEGORIES,
    UNRESOLVED_STATUSES,
    FindingStatus,
    RegistrationState,
    RunStatus,
    VisitOutcome,
)
from shebao.registration.models import ComparisonRun, Finding, PersonRegistration, SurveyRecord
from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person, Scheme
from shebao.registry.selectors import person_scoped

__all__ = [
    "MEDICAL_GOAL",
    "PENSION_GOAL",
    "CoverageRow",
    "FindingFilter",
    "FindingRow",
    "RosterHousehold",
    "coverage_by_region",
    "finding_rows",
    "finding_visible",
    "findings_queue",
    "findings_scoped",
    "latest_run",
    "person_registration",
    "roster_for_village",
    "survey_completeness",
    "survey_villages",
]

PENSION_GOAL: Final[float] = 0.95
MEDICAL_GOAL: Final[float] = 1.0
FINDING_REGION_FIELDS: Final[tuple[str, ...]] = ("region__code",)


def latest_run() -> ComparisonRun | None:
    return (
        ComparisonRun.objects.filter(status=RunStatus.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .first()
    )


def findings_scoped(actor: User) -> QuerySet[Finding]:
    """Every finding the actor may see: those in their region subtree (findings that could
    not be placed in a region are seen by unrestricted users only)."""
    return Scope.for_user(actor).filter(Finding.objects.all(), region_fields=FINDING_REGION_FIELDS)


@dataclass(frozen=True)
class FindingFilter:
    run_id: int | None = None  # None: the latest run
    category: str = ""
    status: str = ""  # "" : unresolved (open or assigned); "all": every status
    region: str = ""  # a region code in the actor's scope
    mine: bool = False
    search: str = ""  # a name, or (part of) an ID number
    sort: str = ""  # a key of FINDING_SORTS, "-" in front for descending


# The findings list's sort keys: what a clerk clicks, and the columns it orders by.
FINDING_SORTS: Final[dict[str, tuple[str, ...]]] = {
    "region": ("region_id", "category", "id"),
    "id": ("id",),
    "category": ("category", "region_id", "id"),
    "name": ("name", "id"),
    "status": ("status", "region_id", "id"),
    "assignee": ("assignee__username", "region_id", "id"),
}
_ID_SEARCH_RE: Final = re.compile(r"[0-9]{2,17}[0-9Xx]?")


def _finding_search(queryset: QuerySet[Finding], text: str) -> QuerySet[Finding]:
    """A name (exact, or its part), or digits of an ID number (anywhere in it)."""
    text = text.strip()
    if not text:
        return queryset
    if _ID_SEARCH_RE.fullmatch(text):
        return queryset.filter(id_number__contains=text.upper())
    return queryset.filter(name__contains=text)


def _finding_order(sort: str) -> list[str]:
    key = sort.removeprefix("-")
    columns = FINDING_SORTS.get(key, FINDING_SORTS["region"])
    if sort.startswith("-") and key in FINDING_SORTS:
        return [f"-{c}" for c in columns]
    return list(columns)


def findings_queue(*, actor: User, query: FindingFilter) -> QuerySet[Finding]:
    run_id = query.run_id
    if run_id is None:
        run = latest_run()
        if run is None:
            return Finding.objects.none()
        run_id = run.pk
    queryset = findings_scoped(actor).filter(run_id=run_id)
    if query.category:
        queryset = queryset.filter(category=query.category)
    if query.status == "all":
        pass
    elif query.status:
        queryset = queryset.filter(status=query.status)
    else:
        queryset = queryset.filter(status__in=UNRESOLVED_STATUSES)
    if query.region:
        region = Region.objects.filter(code=query.region).first()
        if region is None:
            return Finding.objects.none()
        queryset = queryset.filter(region__code__startswith=region.prefix)
    if query.mine:
        queryset = queryset.filter(assignee=actor)
    queryset = _finding_search(queryset, query.search)
    return queryset.select_related("region", "assignee").order_by(*_finding_order(query.sort))


@dataclass(frozen=True)
class FindingRow:
    """A masked line of the findings queue."""

    pk: int
    category: str
    category_label: str
    id_number: str
    name: str
    source: str
    row: int | None
    region: str
    status: str
    status_label: str
    assignee: str
    match_probability: float | None


def finding_rows(findings: list[Finding]) -> list[FindingRow]:
    return [
        FindingRow(
            pk=f.pk,
            category=f.category,
            category_label=Category(f.category).label,
            id_number=mask_id_number(f.id_number),
            name=mask_name(f.name),
            source=f.source,
            row=f.row,
            region=f.region.name if f.region is not None else "（未能定位）",
            status=f.status,
            status_label=FindingStatus(f.status).label,
            assignee=str(f.assignee) if f.assignee is not None else "",
            match_probability=f.match_probability,
        )
        for f in findings
    ]


def finding_visible(*, actor: User, finding_id: int) -> Finding:
    finding = (
        findings_scoped(actor)
        .select_related(
            "region",
            "assignee",
            "resolved_by",
            "person__hukou_region",
            "person__household",
            "run",
        )
        .filter(pk=finding_id)
        .first()
    )
    if finding is None:
        # One answer for a finding outside the scope and one that does not exist: a
        # different one would tell a clerk which IDs exist elsewhere (ADR 0014).
        if actor.is_superuser or Scope.for_user(actor).unrestricted:
            raise NotFound("未找到该问题", code="FINDING_NOT_FOUND")
        raise PermissionDenied("未找到该问题，或该问题不在您的管辖范围内", code="OUT_OF_SCOPE")
    return finding


def finding_counts(*, actor: User, run: ComparisonRun) -> dict[str, dict[str, int]]:
    """category -> {"unresolved": n, "resolved": n} within the actor's scope."""
    rows = (
        findings_scoped(actor)
        .filter(run=run)
        .values("category")
        .annotate(
            unresolved=Count("id", filter=Q(status__in=UNRESOLVED_STATUSES)),
            total=Count("id"),
        )
    )
    return {
        r["category"]: {"unresolved": r["unresolved"], "resolved": r["total"] - r["unresolved"]}
        for r in rows
    }


# ---------------------------------------------------------------- survey


@dataclass
class RosterMember:
    person_id: int
    id_number: str  # masked
    name: str  # masked on screen; the printed roster is for the surveyor of that village
    full_name: str
    gender: str
    birth_date: str
    relation: str
    items: list[str] = field(default_factory=list)  # what to verify, from unresolved findings
    surveyed: bool = False  # a visit settled the person (see SETTLED_OUTCOMES)
    outcome: str = ""  # the latest visit's outcome ("" : not visited)
    outcome_label: str = ""


@dataclass
class RosterHousehold:
    number: str
    address: str
    members: list[RosterMember] = field(default_factory=list)

    @property
    def visited(self) -> bool:
        return any(m.outcome and m.outcome != VisitOutcome.NOBODY_HOME for m in self.members)


_STANDARD_ITEMS: Final[tuple[str, ...]] = ("就业情况", "联系电话")


def _village(actor: User, village_code: str) -> Region:
    # Outside the scope and unknown get one answer: the refusal must not tell which
    # village codes exist (issue #14: 403 and 404 reveal nothing).
    if not Scope.for_user(actor).contains_region(village_code):
        raise PermissionDenied("该村（居）不在您的管辖范围内", code="OUT_OF_SCOPE")
    region = Region.objects.filter(code=village_code).first()
    if region is None:
        raise NotFound("未找到该村（居）委会", code="REGION_NOT_FOUND")
    return region


def _surveys_in_force(run: ComparisonRun, first_runs: Mapping[int, int]) -> dict[int, SurveyRecord]:
    """The latest survey record of each person of `first_runs` (person -> the first run
    that found the earliest of their current findings) made since that run: a visit made
    while the person's findings were already known counts in every later comparison that
    still finds them; a visit for older, settled problems does not."""
    latest: dict[int, SurveyRecord] = {}
    for record in SurveyRecord.objects.filter(
        person_id__in=list(first_runs), run_id__isnull=False, run_id__lte=run.pk
    ).order_by("surveyed_at", "id"):
        if record.run_id is not None and record.run_id >= first_runs[record.person_id]:
            latest[record.person_id] = record
    return latest


def _first_runs(findings: Sequence[tuple[int, int | None, int]]) -> dict[int, int]:
    """person -> the smallest first run of their findings ((person, first run, run))."""
    out: dict[int, int] = {}
    for person_id, first_run_id, run_id in findings:
        first = first_run_id or run_id
        out[person_id] = min(out.get(person_id, first), first)
    return out


def roster_for_village(*, actor: User, village_code: str) -> tuple[Region, list[RosterHousehold]]:
    """入户调查花名册: the households of the village that have a person with an unresolved
    finding of the latest run, or visited for one of its findings (households stay on the
    roster once visited, across comparisons, so that completeness can be counted), with all
    their members and the items to verify."""
    village = _village(actor, village_code)
    run = latest_run()
    if run is None:
        return village, []
    in_village = list(
        findings_scoped(actor)
        .filter(run=run, region__code__startswith=village.prefix, person__isnull=False)
        .values_list("person_id", "category", "status", "first_run_id", "run_id")
    )
    first_runs = _first_runs([(p, first, r) for p, _, _, first, r in in_village])
    surveyed_ids = set(_surveys_in_force(run, first_runs))
    wanted = {p for p, _, status, _, _ in in_village if status in UNRESOLVED_STATUSES}
    wanted |= surveyed_ids
    items: dict[int, set[str]] = defaultdict(set)
    for person_id, category, _, _, _ in in_village:
        if person_id in wanted:
            items[person_id].add(Category(category).label)
    flagged = Person.objects.filter(pk__in=list(items)).values_list("household_id", "pk")
    households = {h for h, _ in flagged if h is not None}
    solo = [pk for h, pk in flagged if h is None]
    members = list(
        Person.objects.filter(Q(household_id__in=households) | Q(pk__in=solo))
        .select_related("household")
        .order_by("household__number", "relation_to_head", "birth_date", "pk")
    )
    # Members without findings of their own count from the village's earliest finding.
    earliest = min(first_runs.values(), default=run.pk)
    visits = _surveys_in_force(run, {p.pk: first_runs.get(p.pk, earliest) for p in members})
    out: dict[str, RosterHousehold] = {}
    for person in members:
        key = person.household.number if person.household is not None else f"（无户号）{person.pk}"
        household = out.setdefault(
            key,
            RosterHousehold(
                number=key,
                address=person.household.address if person.household is not None else "",
            ),
        )
        household.members.append(
            RosterMember(
                person_id=person.pk,
                id_number=mask_id_number(person.id_number),
                name=mask_name(person.name),
                full_name=person.name,
                gender=person.get_gender_display(),
                birth_date=person.birth_date.isoformat(),
                relation=person.relation_to_head,
                items=[*sorted(items.get(person.pk, set())), *_STANDARD_ITEMS],
                surveyed=person.pk in visits and visits[person.pk].outcome in SETTLED_OUTCOMES,
                outcome=visits[person.pk].outcome if person.pk in visits else "",
                outcome_label=(
                    VisitOutcome(visits[person.pk].outcome).label if person.pk in visits else ""
                ),
            )
        )
    return village, list(out.values())


def survey_villages(*, actor: User, limit: int = 500) -> list[Region]:
    """The villages of the actor's scope with households to survey for the latest run: an
    unresolved finding, or a visit made for one of its findings (so that a village whose
    households were all visited stays listed, with its progress)."""
    run = latest_run()
    if run is None:
        return []
    scope = Scope.for_user(actor)
    codes = set(
        run.findings.filter(status__in=UNRESOLVED_STATUSES, region__level=5)
        .values_list("region_id", flat=True)
        .distinct()
    )
    visited = SurveyRecord.objects.filter(
        run_id__lte=run.pk,
        region__level=5,
        person_id__in=Finding.objects.filter(
            run=run, person_id=OuterRef("person_id"), first_run_id__lte=OuterRef("run_id")
        ).values("person_id"),
    )
    codes |= set(visited.values_list("region_id", flat=True).distinct())
    return [
        r
        for r in Region.objects.filter(code__in=codes).order_by("code")
        if scope.contains_region(r.code)
    ][:limit]


@dataclass(frozen=True)
class Completeness:
    """三不漏 for one village: no household, no person, no item missed."""

    village_code: str
    village_name: str
    households: int
    households_visited: int
    members: int
    members_recorded: int
    items_required: int
    items_filled: int

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def households_share(self) -> float | None:
        return self._share(self.households_visited, self.households)

    @property
    def members_share(self) -> float | None:
        return self._share(self.members_recorded, self.members)

    @property
    def items_share(self) -> float | None:
        return self._share(self.items_filled, self.items_required)


def _items(record: SurveyRecord, uninsured: bool) -> tuple[int, int]:
    """(required, filled): employment and contact always; reason and scheme wanted when the
    person was found uninsured. Nothing is required of a person the visit found gone (moved
    away, dead, unknown); an unanswered visit (nobody home, refused) fills nothing."""
    if record.outcome in GONE_OUTCOMES:
        return 0, 0
    required = 2 + (2 if uninsured else 0)
    filled = bool(record.employment) + bool(record.phone)
    if uninsured:
        filled += bool(record.reason_uninsured) + bool(
            record.scheme_wanted or record.reason_uninsured == "insured_elsewhere"
        )
    return required, filled


def survey_completeness(*, actor: User, village_code: str) -> Completeness:
    village, households = roster_for_village(actor=actor, village_code=village_code)
    run = latest_run()
    member_ids = [m.person_id for h in households for m in h.members]
    records: dict[int, SurveyRecord] = {}
    if run is not None:
        # Members without findings of their own count from the household's first finding.
        flagged = list(
            Finding.objects.filter(run=run, person_id__in=member_ids).values_list(
                "person_id", "first_run_id", "run_id"
            )
        )
        first_runs = _first_runs(flagged)
        household_first = min(first_runs.values(), default=run.pk)
        records = _surveys_in_force(
            run, {p: first_runs.get(p, household_first) for p in member_ids}
        )  # the latest visit counts
    uninsured = set(
        Finding.objects.filter(
            run=run, person_id__in=member_ids, category__in=UNINSURED_CATEGORIES
        ).values_list("person_id", flat=True)
    )
    required = filled = 0
    for person_id in member_ids:
        visit = records.get(person_id)
        if visit is None:
            required += 2 + (2 if person_id in uninsured else 0)
            continue
        r, f = _items(visit, person_id in uninsured)
        required += r
        filled += f
    return Completeness(
        village_code=village.code,
        village_name=village.name,
        households=len(households),
        households_visited=sum(1 for h in households if h.visited),
        members=len(member_ids),
        members_recorded=sum(1 for r in records.values() if r.outcome in SETTLED_OUTCOMES),
        items_required=required,
        items_filled=filled,
    )


# ---------------------------------------------------------------- coverage


@dataclass
class CoverageRow:
    code: str
    name: str
    population: int = 0  # alive persons of the registry
    registered: int = 0
    pension_eligible: int = 0
    pension_insured: int = 0
    medical_insured: int = 0
    by_scheme: dict[str, int] = field(default_factory=dict)
    drillable: bool = False

    @property
    def pension_rate(self) -> float | None:
        return self.pension_insured / self.pension_eligible if self.pension_eligible else None

    @property
    def medical_rate(self) -> float | None:
        return self.medical_insured / self.population if self.population else None

    @property
    def pension_meets_goal(self) -> bool:
        return self.pension_rate is not None and self.pension_rate >= PENSION_GOAL

    @property
    def medical_meets_goal(self) -> bool:
        return self.medical_rate is not None and self.medical_rate >= MEDICAL_GOAL

    def add(self, other: Mapping[str, Any]) -> None:
        self.population += other["n_population"]
        self.registered += other["n_registered"]
        self.pension_eligible += other["n_pension_eligible"]
        self.pension_insured += other["n_pension_insured"]
        self.medical_insured += other["n_medical_insured"]


def coverage_by_region(*, actor: User, region: Region) -> tuple[CoverageRow, list[CoverageRow]]:
    """Coverage of `region` and of each of its child regions, from persons' registration
    status: population (alive), pension coverage of the eligible (16 and over), medical
    coverage of everyone, and persons per scheme."""
    if not Scope.for_user(actor).contains_region(region.code):
        raise PermissionDenied("该地区不在您的管辖范围内", code="OUT_OF_SCOPE")
    alive = ~Q(state=RegistrationState.NOT_APPLICABLE)
    base = PersonRegistration.objects.filter(alive, region__code__startswith=region.prefix)
    per_region = list(
        base.values("region_id").annotate(
            n_population=Count("person_id"),
            n_registered=Count("person_id", filter=Q(state=RegistrationState.REGISTERED)),
            n_pension_eligible=Count("person_id", filter=Q(pension_eligible=True)),
            n_pension_insured=Count(
                "person_id", filter=Q(pension_eligible=True) & ~Q(pension_scheme="")
            ),
            n_medical_insured=Count("person_id", filter=~Q(medical_scheme="")),
        )
    )
    per_scheme: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for column in ("pension_scheme", "medical_scheme"):
        for row in (
            base.exclude(**{column: ""}).values("region_id", column).annotate(n=Count("person_id"))
        ):
            per_scheme[row["region_id"]][row[column]] += row["n"]
    children = list(Region.objects.filter(parent=region).order_by("code"))
    has_children = set(
        Region.objects.filter(parent__in=children).values_list("parent_id", flat=True).distinct()
    )
    total = CoverageRow(code=region.code, name=region.name)
    rows = [
        CoverageRow(code=c.code, name=c.name, drillable=c.code in has_children) for c in children
    ]
    by_prefix = sorted(
        ((c.prefix, row) for c, row in zip(children, rows, strict=True)), key=lambda x: -len(x[0])
    )
    for entry in per_region:
        code = entry["region_id"]
        total.add(entry)
        for scheme, n in per_scheme.get(code, {}).items():
            total.by_scheme[scheme] = total.by_scheme.get(scheme, 0) + n
        for prefix, row in by_prefix:
            if code.startswith(prefix):
                row.add(entry)
                for scheme, n in per_scheme.get(code, {}).items():
                    row.by_scheme[scheme] = row.by_scheme.get(scheme, 0) + n
                break
    return total, rows


def scheme_names() -> dict[str, str]:
    return dict(Scheme.objects.values_list("code", "name"))


@dataclass(frozen=True)
class SchemeCoverage:
    group: str  # 养老保险 / 医疗保险
    code: str  # "" : not covered
    name: str
    required: bool  # whether the person should be covered (eligible)
    status_label: str = ""  # what the page says, in agreement with the state and findings
    status_class: str = ""  # ok / warn / neutral / off


@dataclass(frozen=True)
class PersonRegistrationView:
    """A person's registration status, coverage per scheme group and unresolved findings
    (masked, only those in the actor's scope)."""

    state: str
    state_label: str
    pension_eligible: bool
    coverage: list[SchemeCoverage]
    open_findings: int
    findings: list[FindingRow]
    run_id: int | None
    as_of: Any
    updated_at: Any


def _coverage(
    group: str, code: str, name: str, required: bool, alive: bool, finding: str
) -> SchemeCoverage:
    """One scheme group's line, saying what `bulk.registration_refresh` decides the state
    from: an unresolved or confirmed uninsured finding says 应参未参 whatever the registry
    holds; a settled one (corrected or dismissed) counts the group as covered."""
    if not alive:
        label, css = "不适用", "off"
    elif finding in UNRESOLVED_STATUSES:
        label, css = "应参未参（比对发现，待核实）", "warn"
    elif required and finding == FindingStatus.CONFIRMED:
        label, css = "应参未参（已核实）", "warn"
    elif code:
        label, css = "已参保", "ok"
    elif required and finding == FindingStatus.CORRECTED:
        label, css = "已参保（已更正，人员库待补录）", "ok"
    elif required and finding == FindingStatus.DISMISSED:
        label, css = "已核实参保（已排除）", "ok"
    elif required:
        label, css = "应参未参", "warn"
    else:
        label, css = "未参保", "neutral"
    return SchemeCoverage(group, code, name, required, label, css)


def person_registration(*, actor: User, person_id: int) -> PersonRegistrationView | None:
    """The registration status of a person in the actor's scope (None when no comparison
    has set it yet). Raises NotFound/PermissionDenied like the registry's selectors."""
    if not person_scoped(actor).filter(pk=person_id).exists():
        if Person.objects.filter(pk=person_id).exists():
            raise PermissionDenied("该人员不在您的管辖范围内", code="OUT_OF_SCOPE")
        raise NotFound("未找到该人员", code="PERSON_NOT_FOUND")
    status = PersonRegistration.objects.select_related("run").filter(person_id=person_id).first()
    if status is None:
        return None
    names = scheme_names()
    # A death recorded since the comparison (an exact civil-affairs record) ends the duty to
    # register now, not at the next run: the page must not say 已登记 beside 死亡.
    life = Person.objects.filter(pk=person_id).values_list("life_status", flat=True).first()
    still_alive = life == LifeStatus.ALIVE
    alive = status.state != RegistrationState.NOT_APPLICABLE and still_alive
    state = status.state if still_alive else RegistrationState.NOT_APPLICABLE
    state_label = RegistrationState(state).label
    if not still_alive and life is not None:
        state_label = f"{state_label}（{LifeStatus(life).label}）"
    run_id = status.run_id
    uninsured: dict[str, str] = {}  # category -> status of the run's finding
    if run_id is not None:
        for category, finding_status in Finding.objects.filter(
            run_id=run_id, person_id=person_id, category__in=UNINSURED_CATEGORIES
        ).values_list("category", "status"):
            uninsured[category] = finding_status
    coverage = [
        _coverage(
            "养老保险",
            status.pension_scheme,
            names.get(status.pension_scheme, ""),
            alive and status.pension_eligible,
            alive,
            uninsured.get(Category.PENSION_UNINSURED.value, ""),
        ),
        _coverage(
            "医疗保险",
            status.medical_scheme,
            names.get(status.medical_scheme, ""),
            alive,
            alive,
            uninsured.get(Category.MEDICAL_UNINSURED.value, ""),
        ),
    ]
    findings: list[Finding] = []
    if run_id is not None:
        findings = list(
            findings_scoped(actor)
            .filter(run_id=run_id, person_id=person_id, status__in=UNRESOLVED_STATUSES)
            .select_related("region", "assignee")
            .order_by("category", "id")
        )
    return PersonRegistrationView(
        state=state,
        state_label=state_label,
        pension_eligible=status.pension_eligible,
        coverage=coverage,
        open_findings=status.open_findings,
        findings=finding_rows(findings),
        run_id=run_id,
        as_of=status.run.as_of if status.run is not None else None,
        updated_at=status.updated_at,
    )
