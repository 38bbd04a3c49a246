"""Demo data for postal delivery and reissue production (issue #4 loose ends): the demo's
online application (postal delivery) is produced in a batch of its own, made by the vendor
and mailed by the card centre, waiting for its holder to confirm receipt on the self-service
page; an activated demo card is renewed (damaged), so the production page offers one
replacement card for a 补换卡 batch. Run after `issuing_demo_seed` and `demo_custody_seed`;
a second run changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from shebao.accounts.choices import OrganisationKind
from shebao.accounts.models import Organisation, User
from shebao.cards.domain.lifecycle import CardStatus, FeeKind, RenewalReason
from shebao.cards.models import (
    Application,
    ApplicationKind,
    ApplicationStatus,
    CardIssuingPolicy,
    CardReissue,
    PostalDispatch,
)
from shebao.cards.services.card_life import card_reissue
from shebao.cards.services.exchange import open_exchange_file
from shebao.cards.services.postal import postal_dispatch_record
from shebao.cards.services.production import (
    production_batch_export,
    production_batch_form,
    production_results_import,
    vendor_order_read,
    vendor_results_file,
)

DEMO_TRACKING = "EM202600000001CN"


@dataclass(frozen=True)
class PostalDemoSummary:
    mailed: int
    reissued: int


def _centre_user() -> User | None:
    return (
        User.objects.select_related("organisation")
        .filter(organisation__kind=OrganisationKind.CARD_CENTRE, is_active=True)
        .order_by("pk")
        .first()
    )


def _mail_online_application(centre_user: User) -> int:
    if PostalDispatch.objects.filter(tracking_number=DEMO_TRACKING).exists():
        return 0
    app = (
        Application.objects.filter(
            postal_delivery=True, status=ApplicationStatus.ELIGIBLE, production_batch__isnull=True
        )
        .select_related("region")
        .order_by("pk")
        .first()
    )
    vendor = Organisation.objects.filter(kind=OrganisationKind.CARD_VENDOR).first()
    if app is None or vendor is None:
        return 0
    with transaction.atomic():
        batch = production_batch_form(
            actor=centre_user,
            application_ids=[app.pk],
            kind=ApplicationKind.INDIVIDUAL,
            organisation=None,
            region=app.region,
        )
        if batch is None:
            return 0
        batch, sealed = production_batch_export(actor=centre_user, batch_id=batch.pk, vendor=vendor)
        rows = vendor_order_read(open_exchange_file(sealed).content).rows
        results = [(r["社保卡号"], r["社会保障号码"], True, "") for r in rows]
        production_results_import(actor=centre_user, data=vendor_results_file(batch, results))
        app.refresh_from_db()
        if app.card is None:
            return 0
        postal_dispatch_record(
            actor=centre_user, card_number=app.card.card_number, tracking_number=DEMO_TRACKING
        )
    return 1


def _renew_one(centre_user: User) -> int:
    from shebao.cards.models import Card

    if CardReissue.objects.exists():
        return 0
    card = (
        Card.objects.filter(status=CardStatus.ACTIVE.value, custodian__isnull=True)
        .order_by("pk")
        .first()
    )
    if card is None:
        return 0
    if not CardIssuingPolicy.objects.exists():
        CardIssuingPolicy.objects.create(
            replacement_fee=Decimal("20.00"), renewal_fee=Decimal("20.00")
        )
    card_reissue(
        actor=centre_user, card_id=card.pk, kind=FeeKind.RENEWAL, reason=RenewalReason.DAMAGED
    )
    return 1


def demo_postal_seed() -> PostalDemoSummary:
    centre_user = _centre_user()
    if centre_user is None:
        return PostalDemoSummary(0, 0)
    return PostalDemoSummary(_mail_online_application(centre_user), _renew_one(centre_user))
