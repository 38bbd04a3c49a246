"""The demo's card use and province (`demo_seed()`, called by `shebao.demo.services.demo_build`
after the partners step):

* four months of card use at every demo terminal whose partner may upload it, services of
  the partner's field, cards of the city's holders, a few refusals; stored through the same
  upload service (one bulk insert per terminal), idempotent by the terminals' sequences;
* a second city's card centre in the province (黄石市) with a few cards, to show that its
  card numbers come from a series of its own (a letter prefix);
* a few home-service appointments (上门服务) for elderly holders in the demo town, one
  booked, one assigned to the town clerk, one visited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import numpy as np
from django.db import transaction
from django.utils import timezone

from shebao.accounts.choices import OrganisationKind
from shebao.accounts.models import Organisation, User
from shebao.accounts.services import organisation_create
from shebao.cards.domain.home_service import HomeServiceStatus
from shebao.cards.models import Card, HomeServiceAppointment
from shebao.cards.services.numbering import CARD_VALID_YEARS, add_years, next_card_codes
from shebao.geo.models import Region
from shebao.partners.choices import PartnerStatus
from shebao.partners.models import Terminal
from shebao.registry.models import Person
from shebao.usage.choices import UploadChannel
from shebao.usage.domain.records import (
    SERVICE_FIELD,
    CardForm,
    UsageResult,
    UsageRow,
    UsageService,
)
from shebao.usage.services import usage_upload

__all__ = ["UsageDemoSummary", "demo_seed"]

MONTHS: Final[int] = 4
PER_TERMINAL: Final[int] = 1_500
CARDS_SAMPLED: Final[int] = 4_000
SECOND_CITY: Final[str] = "420200"
_REFUSALS: Final[tuple[str, ...]] = ("卡片已挂失", "余额不足", "二维码已过期", "卡片未激活")


@dataclass(frozen=True, slots=True)
class UsageDemoSummary:
    records_added: int
    second_city_cards: int
    appointments: int


def _services_of(field: str) -> list[UsageService]:
    return [UsageService(s) for s, f in SERVICE_FIELD.items() if f.value == field]


def _usage(city_code: str, now: datetime, rng: np.random.Generator) -> int:
    cards = list(
        Card.objects.filter(
            status__in=["issued", "active"], person__hukou_region__code__startswith=city_code[:4]
        )
        .order_by("pk")
        .values_list("card_number", flat=True)[:CARDS_SAMPLED]
    )
    if not cards:
        return 0
    terminals = (
        Terminal.objects.filter(
            is_active=True, service_point__partner__status=PartnerStatus.APPROVED
        )
        .select_related("service_point__partner", "service_user")
        .order_by("code")
    )
    start = now - timedelta(days=30 * MONTHS)
    span = (now - start).total_seconds() - 3600
    added = 0
    for terminal in terminals:
        partner = terminal.service_point.partner
        services = _services_of(partner.field)
        if "upload_usage" not in (partner.granted_services or []) or not services:
            continue
        n = PER_TERMINAL
        picks = rng.integers(0, len(cards), n)
        offsets = np.sort(rng.uniform(0, span, n))
        kinds = rng.integers(0, len(services), n)
        ecard = rng.random(n) < 0.35
        refused = rng.random(n) < 0.03
        reasons = rng.integers(0, len(_REFUSALS), n)
        rows = [
            UsageRow(
                row=i + 1,
                sequence=i + 1,
                occurred_at=start + timedelta(seconds=float(offsets[i])),
                service=services[int(kinds[i])],
                card_form=CardForm.ECARD if ecard[i] else CardForm.PHYSICAL,
                card_number=cards[int(picks[i])],
                result=UsageResult.REFUSED if refused[i] else UsageResult.OK,
                reason=_REFUSALS[int(reasons[i])] if refused[i] else "",
            )
            for i in range(n)
        ]
        added += usage_upload(
            actor=terminal.service_user,
            terminal=terminal,
            rows=rows,
            channel=UploadChannel.API,
            file_name="demo",
        ).added
    return added


def _second_city() -> int:
    """黄石市's card centre with a few cards of its own series (the platform is provincial)."""
    city = Region.objects.filter(code=SECOND_CITY).first()
    if city is None:
        return 0
    centre = Organisation.objects.filter(
        kind=OrganisationKind.CARD_CENTRE, region_id=SECOND_CITY
    ).first()
    if centre is None:
        centre = organisation_create(
            actor=None,
            code="DEMO-HS-CENTRE",
            name=f"{city.name}社会保障卡管理中心",
            kind=OrganisationKind.CARD_CENTRE,
            region=city,
        )
    if Card.objects.filter(issuing_region_id=SECOND_CITY).exists():
        return Card.objects.filter(issuing_region_id=SECOND_CITY).count()
    # Holders who live in the city: its residents in the registry, if the demo has any;
    # else a few people of the demo city who moved there (their cards are 黄石's).
    holders = list(
        Person.objects.filter(hukou_region__code__startswith=SECOND_CITY[:4])
        .exclude(cards__isnull=False)
        .order_by("pk")[:5]
    ) or list(Person.objects.filter(cards__isnull=True).order_by("pk")[:5])
    today = timezone.localdate()
    made = 0
    for person in holders:
        with transaction.atomic():
            number, id_code = next_card_codes(city)
            Card.objects.create(
                card_number=number,
                card_id_code=id_code,
                person=person,
                status="made",
                issuing_region=city,
                issued_on=today,
                expires_on=add_years(today, CARD_VALID_YEARS),
                custodian=centre,
            )
        made += 1
    return made


def _appointments(city_code: str, now: datetime) -> int:
    if HomeServiceAppointment.objects.exists():
        return HomeServiceAppointment.objects.count()
    clerk = User.objects.filter(username="town").first()
    town_prefix = (
        clerk.organisation.region.prefix
        if clerk is not None and clerk.organisation
        else city_code[:4]
    )
    elders = list(
        Person.objects.filter(
            hukou_region__code__startswith=town_prefix, birth_date__lt=date(1950, 1, 1)
        ).order_by("pk")[:3]
    )
    states = [HomeServiceStatus.BOOKED, HomeServiceStatus.ASSIGNED, HomeServiceStatus.VISITED]
    for n, (person, state) in enumerate(zip(elders, states, strict=False)):
        assigned = clerk if state is not HomeServiceStatus.BOOKED else None
        HomeServiceAppointment.objects.create(
            reference=f"SMDEMO{n + 1:04d}",
            person=person,
            region_id=person.residence_region_id or person.hukou_region_id,
            kind=["activate", "apply", "replace"][n],
            reason=["elderly", "ill", "disabled"][n],
            booker_name="演示亲属",
            booker_relation="子女",
            phone=f"1390000{n:04d}",
            address=f"{person.hukou_region.name if person.hukou_region else ''}演示地址{n + 1}号",
            preferred_date=timezone.localdate() + timedelta(days=n + 2),
            status=state.value,
            assigned_to=assigned,
            assigned_at=now if assigned else None,
            visited_at=now if state is HomeServiceStatus.VISITED else None,
            outcome="已上门办理（演示）" if state is HomeServiceStatus.VISITED else "",
        )
    return len(elders)


def demo_seed(*, city_code: str, seed: int = 2026) -> UsageDemoSummary:
    now = timezone.now().astimezone(UTC)
    rng = np.random.default_rng(seed)
    return UsageDemoSummary(
        records_added=_usage(city_code, now, rng),
        second_city_cards=_second_city(),
        appointments=_appointments(city_code, now),
    )
