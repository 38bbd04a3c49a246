"""Reads of card use: a holder's own use, the card centre's list, and the statistics by
field, service, region and month that feed the dashboard, the bulletin and the directory's
metrics (评估指标). Statistics are GROUP BY queries in the database, never Python loops
over records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from django.db.models import Count, Q, QuerySet

from shebao.accounts.models import User
from shebao.accounts.scoping import Scope
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card
from shebao.geo.models import Region
from shebao.partners.models import ServicePoint
from shebao.registry.models import Person
from shebao.usage.domain.records import (
    CARD_FORM_LABELS,
    FIELD_LABELS,
    RESULT_LABELS,
    SERVICE_LABELS,
    UsageResult,
)
from shebao.usage.models import UsageRecord, UsageUpload

__all__ = [
    "FieldMonth",
    "FieldShare",
    "PersonUse",
    "UsageSummary",
    "UsageTotals",
    "holders_share_by_field",
    "service_points_per_region",
    "usage_by_field",
    "usage_by_month",
    "usage_by_region",
    "usage_by_service",
    "usage_fields_of_month",
    "usage_for_person",
    "usage_list",
    "usage_ok_total",
    "usage_summary",
    "usage_uploads_of",
]

_PERSON_LIMIT: Final[int] = 200
# Cards a holder can use: the statuses of a card in the holder's hands and working.
_USABLE: Final[tuple[str, ...]] = (CardStatus.ISSUED.value, CardStatus.ACTIVE.value)


@dataclass(frozen=True, slots=True)
class PersonUse:
    occurred_at: datetime
    field: str
    service: str
    place: str
    card_form: str
    result: str
    reason: str


def usage_for_person(person: Person, *, limit: int = _PERSON_LIMIT) -> list[PersonUse]:
    """The holder's own card use, newest first, in words (for the citizen's pages)."""
    rows = (
        UsageRecord.objects.filter(person=person)
        .select_related("service_point")
        .order_by("-occurred_at", "-pk")[:limit]
    )
    return [
        PersonUse(
            occurred_at=r.occurred_at,
            field=FIELD_LABELS.get(r.field, r.field),
            service=SERVICE_LABELS.get(r.service, r.service),
            place=r.service_point.name,
            card_form=CARD_FORM_LABELS.get(r.card_form, r.card_form),
            result=RESULT_LABELS.get(r.result, r.result),
            reason=r.reason,
        )
        for r in rows
    ]


def _scoped(actor: User) -> QuerySet[UsageRecord]:
    return Scope.for_user(actor).filter(UsageRecord.objects.all(), region_fields=("region__code",))


def usage_list(
    *,
    actor: User,
    field: str = "",
    service: str = "",
    region_prefix: str = "",
    result: str = "",
    card_number: str = "",
    month: date | None = None,
) -> QuerySet[UsageRecord]:
    """Records the actor's region scope covers, filtered; the page paginates it."""
    qs = _scoped(actor)
    if field:
        qs = qs.filter(field=field)
    if service:
        qs = qs.filter(service=service)
    if region_prefix:
        qs = qs.filter(region__code__startswith=region_prefix)
    if result:
        qs = qs.filter(result=result)
    if card_number:
        qs = qs.filter(card__card_number=card_number.strip().upper())
    if month is not None:
        qs = qs.filter(month=month)
    return qs.select_related("service_point", "partner__organisation", "card", "person", "region")


def usage_uploads_of(*, partner_id: int, limit: int = 20) -> list[UsageUpload]:
    return list(
        UsageUpload.objects.filter(partner_id=partner_id)
        .select_related("terminal")
        .order_by("-uploaded_at", "-pk")[:limit]
    )


@dataclass(frozen=True, slots=True)
class UsageTotals:
    key: str
    label: str
    ok: int
    refused: int


def _ok_refused(qs: QuerySet[UsageRecord], key: str) -> list[tuple[str, int, int]]:
    rows = (
        qs.values(key)
        .annotate(
            ok=Count("id", filter=Q(result=UsageResult.OK)),
            refused=Count("id", filter=Q(result=UsageResult.REFUSED)),
        )
        .order_by(key)
    )
    return [(str(r[key]), int(r["ok"]), int(r["refused"])) for r in rows]


def _base(region_prefix: str, since: date | None, until: date | None) -> QuerySet[UsageRecord]:
    qs = UsageRecord.objects.all()
    if region_prefix:
        qs = qs.filter(region__code__startswith=region_prefix)
    if since is not None:
        qs = qs.filter(month__gte=since)
    if until is not None:
        qs = qs.filter(month__lte=until)
    return qs


def usage_by_field(
    *, region_prefix: str = "", since: date | None = None, until: date | None = None
) -> list[UsageTotals]:
    return [
        UsageTotals(k, FIELD_LABELS.get(k, k), ok, refused)
        for k, ok, refused in _ok_refused(_base(region_prefix, since, until), "field")
    ]


def usage_by_service(
    *, region_prefix: str = "", since: date | None = None, until: date | None = None
) -> list[UsageTotals]:
    return [
        UsageTotals(k, SERVICE_LABELS.get(k, k), ok, refused)
        for k, ok, refused in _ok_refused(_base(region_prefix, since, until), "service")
    ]


def usage_by_month(
    *, region_prefix: str = "", since: date | None = None, until: date | None = None
) -> list[UsageTotals]:
    return [
        UsageTotals(k, k[:7], ok, refused)
        for k, ok, refused in _ok_refused(_base(region_prefix, since, until), "month")
    ]


def usage_by_region(
    *,
    region_prefix: str = "",
    since: date | None = None,
    until: date | None = None,
    level_digits: int = 4,
) -> list[UsageTotals]:
    """Use per region, rolled up to the region whose code is the first `level_digits`
    digits padded with zeros (4: the prefecture, 6: the district)."""
    per_region = _ok_refused(_base(region_prefix, since, until), "region_id")
    rolled: dict[str, list[int]] = {}
    for code, ok, refused in per_region:
        key = code[:level_digits].ljust(6, "0")
        acc = rolled.setdefault(key, [0, 0])
        acc[0] += ok
        acc[1] += refused
    names = dict(Region.objects.filter(code__in=rolled).values_list("code", "name"))
    return [
        UsageTotals(code, names.get(code, code), ok, refused)
        for code, (ok, refused) in sorted(rolled.items())
    ]


def usage_ok_total(
    *, region_prefix: str = "", since: date | None = None, until: date | None = None
) -> int:
    return _base(region_prefix, since, until).filter(result=UsageResult.OK).count()


@dataclass(frozen=True, slots=True)
class FieldShare:
    field: str
    label: str
    users: int
    holders: int

    @property
    def share_percent(self) -> float:
        return round(100.0 * self.users / self.holders, 1) if self.holders else 0.0


def holders_share_by_field(
    *, region_prefix: str = "", since: date | None = None, until: date | None = None
) -> list[FieldShare]:
    """评估指标: of the holders of a usable card (issued or activated) in the region, how many
    used the card successfully in each field in the period (distinct persons)."""
    holders_qs = Card.objects.filter(status__in=_USABLE)
    if region_prefix:
        holders_qs = holders_qs.filter(person__hukou_region__code__startswith=region_prefix)
    holders = holders_qs.values("person_id").distinct().count()
    users = dict(
        _base(region_prefix, since, until)
        .filter(result=UsageResult.OK, person__isnull=False)
        .values("field")
        .annotate(n=Count("person_id", distinct=True))
        .values_list("field", "n")
    )
    return [
        FieldShare(code, label, int(users.get(code, 0)), holders)
        for code, label in FIELD_LABELS.items()
    ]


def service_points_per_region(
    *, region_prefix: str = "", level_digits: int = 4
) -> list[UsageTotals]:
    """评估指标: active service points per region (prefecture by default); `refused` is 0."""
    qs = ServicePoint.objects.filter(is_active=True)
    if region_prefix:
        qs = qs.filter(region__code__startswith=region_prefix)
    rolled: dict[str, int] = {}
    for code, n in qs.values("region_id").annotate(n=Count("id")).values_list("region_id", "n"):
        key = str(code)[:level_digits].ljust(6, "0")
        rolled[key] = rolled.get(key, 0) + int(n)
    names = dict(Region.objects.filter(code__in=rolled).values_list("code", "name"))
    return [UsageTotals(code, names.get(code, code), n, 0) for code, n in sorted(rolled.items())]


@dataclass(frozen=True, slots=True)
class UsageSummary:
    """The month's card use in a region, as the dashboard and the bulletin show it."""

    month: date
    ok: int  # successful uses in the month
    refused: int
    ecard: int  # successful uses with the e-card
    year_to_month: int  # successful uses from January to the month
    by_field: tuple[UsageTotals, ...]
    by_service: tuple[UsageTotals, ...]
    shares: tuple[FieldShare, ...]

    @property
    def ecard_percent(self) -> float:
        return round(100.0 * self.ecard / self.ok, 1) if self.ok else 0.0


def usage_summary(*, region_prefix: str, year: int, month: int) -> UsageSummary:
    """Five GROUP BY reads over the month's records of the region."""
    first = date(year, month, 1)
    base = _base(region_prefix, first, first)
    totals = base.aggregate(
        ok=Count("id", filter=Q(result=UsageResult.OK)),
        refused=Count("id", filter=Q(result=UsageResult.REFUSED)),
        ecard=Count("id", filter=Q(result=UsageResult.OK, card_form="ecard")),
    )
    return UsageSummary(
        month=first,
        ok=int(totals["ok"] or 0),
        refused=int(totals["refused"] or 0),
        ecard=int(totals["ecard"] or 0),
        year_to_month=usage_ok_total(
            region_prefix=region_prefix, since=date(year, 1, 1), until=first
        ),
        by_field=tuple(
            sorted(
                usage_by_field(region_prefix=region_prefix, since=first, until=first),
                key=lambda t: (-t.ok, t.key),
            )
        ),
        by_service=tuple(
            sorted(
                usage_by_service(region_prefix=region_prefix, since=first, until=first),
                key=lambda t: (-t.ok, t.key),
            )
        ),
        shares=tuple(holders_share_by_field(region_prefix=region_prefix, since=first, until=first)),
    )


@dataclass(frozen=True, slots=True)
class FieldMonth:
    field: str
    label: str
    uses: int  # successful uses in the month
    ecard_uses: int
    users: int  # distinct holders who used the card successfully


def usage_fields_of_month(*, region_prefix: str, year: int, month: int) -> list[FieldMonth]:
    """The month's successful card use per field in a region (for the bulletin), one
    GROUP BY; fields without use are left out."""
    first = date(year, month, 1)
    rows = (
        _base(region_prefix, first, first)
        .filter(result=UsageResult.OK)
        .values("field")
        .annotate(
            uses=Count("id"),
            ecard_uses=Count("id", filter=Q(card_form="ecard")),
            users=Count("person_id", distinct=True),
        )
        .order_by("field")
    )
    order = list(FIELD_LABELS)
    out = [
        FieldMonth(
            str(r["field"]),
            FIELD_LABELS.get(str(r["field"]), str(r["field"])),
            int(r["uses"]),
            int(r["ecard_uses"]),
            int(r["users"]),
        )
        for r in rows
    ]
    return sorted(out, key=lambda f: order.index(f.field) if f.field in order else len(order))
