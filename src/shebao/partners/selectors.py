"""Reads of the partners app. A partner operator sees its own partner only; the card
centre sees all; the application directory is public."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from shebao.accounts.choices import AuditAction, Role
from shebao.accounts.models import AuditEvent, User
from shebao.cards.models import Card
from shebao.errors import NotFound, PermissionDenied
from shebao.partners.choices import CardFunction, DirectoryStatus, PartnerField
from shebao.partners.models import DirectoryService, Partner, ServicePoint, Terminal
from shebao.registry.models import Person

__all__ = [
    "CallRow",
    "DirectoryEntry",
    "directory_entries",
    "partner_calls",
    "partner_for_operator",
    "partner_get",
    "partner_terminals",
    "partners_list",
    "verify_card_with_holder",
    "verify_current_card",
    "verify_person_by_id_number",
]

CARD_CENTRE_VIEW_ROLES = frozenset(
    {Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN, Role.AUDITOR, Role.LEADER_VIEWER}
)


def can_manage_partners(user: User) -> bool:
    """May see every partner (the card centre, its auditors and leaders)."""
    return user.is_superuser or user.has_role(*CARD_CENTRE_VIEW_ROLES)


def can_change_partners(user: User) -> bool:
    """May approve, suspend, grant and issue (the card centre's operators)."""
    return user.is_superuser or user.has_role(Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN)


def partners_list(
    *, actor: User, query: str = "", status: str = "", field: str = ""
) -> QuerySet[Partner]:
    if not can_manage_partners(actor):
        raise PermissionDenied("只有社保卡管理中心可以查看合作机构", code="CARD_CENTRE_ONLY")
    qs = Partner.objects.select_related("organisation__region").annotate(
        terminal_count=Count("service_points__terminals", distinct=True),
        point_count=Count("service_points", distinct=True),
    )
    if query.strip():
        q = query.strip()
        qs = qs.filter(Q(organisation__name__icontains=q) | Q(organisation__code__iexact=q))
    if status:
        qs = qs.filter(status=status)
    if field:
        qs = qs.filter(field=field)
    return qs.order_by("organisation__name")


def partner_get(*, actor: User, partner_id: int) -> Partner:
    """One partner: the card centre sees any, a partner operator only its own (another
    partner's is reported missing, not forbidden, so that its existence does not leak)."""
    partner = Partner.objects.select_related("organisation__region").filter(pk=partner_id).first()
    if partner is None:
        raise NotFound("未找到该合作机构", code="PARTNER_NOT_FOUND")
    if can_manage_partners(actor):
        return partner
    if actor.has_role(Role.PARTNER_OPERATOR) and actor.organisation_id == partner.organisation_id:
        return partner
    raise NotFound("未找到该合作机构", code="PARTNER_NOT_FOUND")


def partner_for_operator(*, actor: User) -> Partner:
    """The partner of a partner operator."""
    if not actor.has_role(Role.PARTNER_OPERATOR) or actor.organisation_id is None:
        raise PermissionDenied("仅合作机构经办人员可以访问", code="PARTNER_OPERATOR_ONLY")
    partner = (
        Partner.objects.select_related("organisation")
        .filter(organisation_id=actor.organisation_id)
        .first()
    )
    if partner is None:
        raise NotFound("本机构不是已登记的合作机构", code="PARTNER_NOT_FOUND")
    return partner


def partner_service_points(*, partner_id: int) -> QuerySet[ServicePoint]:
    return (
        ServicePoint.objects.filter(partner_id=partner_id)
        .select_related("region")
        .annotate(terminal_count=Count("terminals"))
    )


def partner_terminals(*, partner_id: int) -> QuerySet[Terminal]:
    return (
        Terminal.objects.filter(service_point__partner_id=partner_id)
        .select_related("service_point")
        .order_by("code")
    )


@dataclass(frozen=True)
class CallRow:
    at: datetime
    action: str
    action_label: str
    terminal: str
    method: str
    verified: bool | None
    purpose: str


_CALL_ACTIONS = (AuditAction.IDENTITY_VERIFY, AuditAction.QR_REDEEM)


def partner_calls(*, partner_id: int, limit: int = 100) -> list[CallRow]:
    """The partner's identity-service calls from the audit log, newest first. No person
    data: which terminal, how, and the answer."""
    partner = Partner.objects.only("organisation_id").filter(pk=partner_id).first()
    if partner is None:
        return []
    rows = (
        AuditEvent.objects.filter(organisation_id=partner.organisation_id, action__in=_CALL_ACTIONS)
        .order_by("-at", "-pk")
        .only("at", "action", "detail", "purpose")[: max(1, min(limit, 500))]
    )
    labels = dict(AuditAction.choices)
    out = []
    for row in rows:
        detail: dict[str, Any] = row.detail or {}
        verified = detail.get("verified", detail.get("ok"))
        out.append(
            CallRow(
                at=row.at,
                action=row.action,
                action_label=labels.get(row.action, row.action),
                terminal=str(detail.get("terminal", "")),
                method=str(detail.get("method", "")),
                verified=bool(verified) if verified is not None else None,
                purpose=row.purpose,
            )
        )
    return out


@dataclass(frozen=True)
class DirectoryEntry:
    name: str
    field: str
    field_label: str
    partner: str
    card_functions: list[str]
    card_function_labels: list[str]
    regions: list[str]
    service_points: list[str]
    since: date
    status: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _region_and_ancestors(code: str) -> list[str]:
    """A region code and the codes above it: province and city (GB/T 2260), county, town."""
    out = {code}
    if len(code) >= 6:
        out |= {code[:2] + "0000", code[:4] + "00", code[:6]}
    if len(code) >= 9:
        out.add(code[:9])
    return sorted(out)


def directory_entries(
    *, field: str | None = None, region: str | None = None
) -> list[DirectoryEntry]:
    """The public application directory: services in service (or being built), by field
    and region (a region matches its own entries and those of the regions above it: a
    city-wide service serves every district)."""
    qs = (
        DirectoryService.objects.exclude(status=DirectoryStatus.WITHDRAWN)
        .select_related("partner__organisation")
        .prefetch_related("regions", "service_points")
        .order_by("field", "name")
    )
    if field:
        qs = qs.filter(field=field)
    if region and region.strip():
        code = region.strip()
        qs = qs.filter(
            Q(regions__code__in=_region_and_ancestors(code)) | Q(regions__code__startswith=code)
        ).distinct()
    field_labels = dict(PartnerField.choices)
    function_labels = dict(CardFunction.choices)
    return [
        DirectoryEntry(
            name=e.name,
            field=e.field,
            field_label=field_labels.get(e.field, e.field),
            partner=e.partner.organisation.name,
            card_functions=list(e.card_functions),
            card_function_labels=[function_labels.get(f, f) for f in e.card_functions],
            regions=[r.name for r in e.regions.all()],
            service_points=[p.name for p in e.service_points.all()],
            since=e.since,
            status=e.get_status_display(),
        )
        for e in qs
    ]


def directory_of_partner(*, partner_id: int) -> QuerySet[DirectoryService]:
    return (
        DirectoryService.objects.filter(partner_id=partner_id)
        .prefetch_related("regions")
        .order_by("name")
    )


def directory_regions() -> list[tuple[str, str]]:
    """The regions that appear in the directory, for its filter."""
    from shebao.geo.models import Region

    codes = DirectoryService.regions.through.objects.values_list("region_id", flat=True).distinct()
    return list(Region.objects.filter(code__in=codes).order_by("code").values_list("code", "name"))


# ---------------------------------------------------------------- identity verification reads
# The verification path's lookups in SQL written once: through the ORM, building the SQL of
# `Card.objects.select_related("person").filter(...).first()` cost more CPU than the rest of
# the call together (issue #11, ADR 0016). Same rows, same order; the instances carry the
# columns verification reads (person: id, ID number, name, gender, birth date, life status;
# card: id, number, status, person).
# In the models' own field order: Model.from_db takes the values in that order.
_PERSON_FIELDS = tuple(
    f.attname
    for f in Person._meta.concrete_fields
    if f.attname in {"id", "id_number", "name", "gender", "birth_date", "life_status"}
)
_CARD_FIELDS = tuple(
    f.attname
    for f in Card._meta.concrete_fields
    if f.attname in {"id", "card_number", "status", "person_id"}
)
_BIRTH_DATE = _PERSON_FIELDS.index("birth_date")


def _columns(model: Any, names: tuple[str, ...], alias: str) -> str:
    return ", ".join(f"{alias}.{model._meta.get_field(n).column}" for n in names)


def _sql() -> dict[str, str]:
    person, card = Person._meta.db_table, Card._meta.db_table
    p, c = _columns(Person, _PERSON_FIELDS, "p"), _columns(Card, _CARD_FIELDS, "c")
    return {
        "by_card": (
            f"SELECT {c}, {p} FROM {card} c JOIN {person} p ON p.id = c.person_id "  # noqa: S608
            "WHERE c.card_number = %s ORDER BY c.id LIMIT 1"
        ),
        "by_id_number": f"SELECT {p} FROM {person} p WHERE p.id_number = %s LIMIT 1",  # noqa: S608
        "current_card": (
            f"SELECT {c} FROM {card} c WHERE c.person_id = %s AND c.status IN (%s) "  # noqa: S608
            "ORDER BY c.created_at DESC, c.id DESC LIMIT 1"
        ),
    }


_SQL: dict[str, str] = {}


def _statements() -> dict[str, str]:
    if not _SQL:
        _SQL.update(_sql())
    return _SQL


def _person(row: tuple[Any, ...]) -> Person:
    values = list(row)
    if isinstance(values[_BIRTH_DATE], str):  # SQLite hands dates back as text
        values[_BIRTH_DATE] = date.fromisoformat(values[_BIRTH_DATE])
    return Person.from_db(connection.alias, list(_PERSON_FIELDS), values)


def _card(row: tuple[Any, ...]) -> Card:
    return Card.from_db(connection.alias, list(_CARD_FIELDS), list(row))


def verify_card_with_holder(card_number: str) -> tuple[Card | None, Person | None]:
    """(card, its holder) for a card number, or (None, None)."""
    sql = _statements()
    with connection.cursor() as cursor:
        cursor.execute(sql["by_card"], [card_number])
        row = cursor.fetchone()
    if row is None:
        return None, None
    n = len(_CARD_FIELDS)
    return _card(row[:n]), _person(row[n:])


def verify_person_by_id_number(id_number: str) -> Person | None:
    """The registry person with this ID number, or None."""
    sql = _statements()
    with connection.cursor() as cursor:
        cursor.execute(sql["by_id_number"], [id_number])
        row = cursor.fetchone()
    return _person(row) if row is not None else None


def verify_current_card(person_id: int, statuses: tuple[str, ...]) -> Card | None:
    """The person's newest card among `statuses` (the cards with the holder), or None."""
    sql = _statements()
    marks = ", ".join(["%s"] * len(statuses))
    with connection.cursor() as cursor:
        cursor.execute(
            sql["current_card"].replace("IN (%s)", f"IN ({marks})"), [person_id, *statuses]
        )
        row = cursor.fetchone()
    return _card(row) if row is not None else None
