"""Demo data for the custody chain: cards for people of the demo village, moved from the
card centre through the district card office and the town to the village with the demo
accounts (`district`, `town`, `village`, `bank`), some handed out with signed receipts, one
handover with a missing card, one card activated and one reported lost — so that every
custody and counter page has something to show.

Called once from `shebao demo` (`demo_custody_seed()`); a second call does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from shebao.accounts.choices import OrganisationKind
from shebao.accounts.models import Organisation, User
from shebao.cards.domain.codes import card_id_code
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card, CardIssuingPolicy, Handover
from shebao.cards.services.card_life import card_activate, card_report_temporary_loss
from shebao.cards.services.custody import (
    PickupInput,
    card_pickup,
    handover_confirm,
    handover_create,
)
from shebao.cards.services.numbering import (
    card_numbers,
    card_numbers_allocate,
    issuing_region_of,
    unique_part,
)
from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person

DEMO_NOTE = "演示数据：卡片交接"
DEMO_CARDS = 12


@dataclass(frozen=True)
class CustodyDemoSummary:
    cards: int
    handovers: int
    issued: int
    skipped: bool = False


def _user(username: str) -> User | None:
    return User.objects.select_related("organisation").filter(username=username).first()


def demo_custody_seed() -> CustodyDemoSummary:
    if Handover.objects.filter(note=DEMO_NOTE).exists():
        return CustodyDemoSummary(0, 0, 0, skipped=True)
    district, town, village, bank_user = (
        _user("district"), _user("town"), _user("village"), _user("bank"),
    )  # fmt: skip
    if not (district and town and village and bank_user):
        return CustodyDemoSummary(0, 0, 0, skipped=True)
    village_org = village.organisation
    town_org = town.organisation
    district_org = district.organisation
    if village_org is None or town_org is None or district_org is None:
        return CustodyDemoSummary(0, 0, 0, skipped=True)
    centre = district_org.parent
    if centre is None or centre.kind != OrganisationKind.CARD_CENTRE:
        return CustodyDemoSummary(0, 0, 0, skipped=True)
    bank = bank_user.organisation.bank_root if bank_user.organisation else None
    people = list(
        Person.objects.filter(
            residence_region_id=village_org.region_id,
            life_status=LifeStatus.ALIVE,
            cards__isnull=True,
        )
        .exclude(phone="")
        .order_by("id_number")[:DEMO_CARDS]
    )
    if len(people) < DEMO_CARDS:
        # The story below needs its dozen cards (a box for the town, one missing at the
        # village, a handover still open); a tiny demo city goes without it.
        return CustodyDemoSummary(0, 0, 0, skipped=True)

    with transaction.atomic():
        if not CardIssuingPolicy.objects.exists():
            CardIssuingPolicy.objects.create(
                recall_after_days=90,
                subsidy_per_card=Decimal("5.00"),
                temporary_loss_days=5,
                replacement_fee=Decimal("20.00"),
                renewal_fee=Decimal("20.00"),
            )
        # Numbered from the issuing region's series, like every card production makes.
        issuing = issuing_region_of(centre)
        series, first, first_unique = card_numbers_allocate(region=issuing, count=len(people))
        numbers = card_numbers(series, first, len(people))
        now = timezone.now()
        cards = Card.objects.bulk_create(
            [
                Card(
                    card_number=numbers[i],
                    card_id_code=card_id_code(issuing.code[:6], unique_part(first_unique + i)),
                    person=person,
                    status=CardStatus.MADE.value,
                    issuing_region=issuing,
                    issued_on=now.date(),
                    expires_on=date(now.year + 10, now.month, min(now.day, 28)),
                    bank=bank,
                    custodian=centre,
                    created_at=now,
                    updated_at=now,
                )
                for i, person in enumerate(people)
            ]
        )
    cards = list(Card.objects.filter(pk__in=[c.pk for c in cards]).select_related("person"))
    numbers = [c.card_number for c in cards]
    centre_user = (
        User.objects.filter(organisation=centre, is_active=True).order_by("pk").first() or district
    )
    handovers = 0

    def send(
        sender: User, to: Organisation, receiver: User, sent: list[str], got: list[str]
    ) -> None:
        nonlocal handovers
        h = handover_create(
            actor=sender, to_organisation_id=to.pk, card_numbers="\n".join(sent), note=DEMO_NOTE
        )
        handover_confirm(actor=receiver, handover_id=h.pk, arrived="\n".join(got))
        handovers += 1

    send(centre_user, district_org, district, numbers, numbers)
    send(district, town_org, town, numbers[:10], numbers[:10])
    # One card did not arrive at the village: the handover shows it missing.
    send(town, village_org, village, numbers[:9], numbers[:8])
    # A handover still waiting for the town to confirm it.
    h = handover_create(
        actor=district,
        to_organisation_id=town_org.pk,
        card_numbers="\n".join(numbers[10:]),
        note=DEMO_NOTE,
    )
    handovers += 1 if h.pk else 0
    issued = 0
    for card in cards[:5]:
        card_pickup(
            actor=village,
            data=PickupInput(card.card_number, card.person.id_number, signed=True),
        )
        issued += 1
    if bank is not None:
        card_activate(actor=bank_user, card_id=cards[0].pk)
        card_activate(actor=bank_user, card_id=cards[1].pk)
        # A third active card: the postal demo renews one, and one should stay 正常.
        card_activate(actor=bank_user, card_id=cards[2].pk)
        card_report_temporary_loss(actor=None, card_id=cards[1].pk, channel="phone")
    return CustodyDemoSummary(len(cards), handovers, issued)
