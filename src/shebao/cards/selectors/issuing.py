"""Reads of card issuing: application batches each level may see, their rows (masked for
lists), production batches, account-opening requests and their work queues.

Who sees what:
- the card centre, district card offices and the bureau: everything in their region subtree;
- every other level (unit, department, town, village): the batches it sent, holds or passed
  on, and only those;
- banks: their own account-opening requests (Scope's bank narrowing);
- the card vendor: the production batches sent to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from django.db.models import Q, QuerySet

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.accounts.scoping import Scope
from shebao.cards.domain.progress import application_progress
from shebao.cards.models import (
    AccountItemStatus,
    AccountOpeningItem,
    AccountOpeningRequest,
    Application,
    ApplicationBatch,
    ApplicationStatus,
    ProductionBatch,
)
from shebao.identity.masking import mask_id_number, mask_name, mask_phone

__all__ = [
    "ApplicationRow",
    "account_failures_visible",
    "account_requests_visible",
    "application_batches_visible",
    "application_rows",
    "applications_visible",
    "production_batches_visible",
]

_REGION_WIDE: Final[frozenset[str]] = frozenset(
    {OrganisationKind.CARD_CENTRE, OrganisationKind.DISTRICT_CARD_OFFICE, OrganisationKind.BUREAU}
)


def _admin(actor: User) -> bool:
    return bool(actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN))


def application_batches_visible(actor: User) -> QuerySet[ApplicationBatch]:
    qs = ApplicationBatch.objects.select_related("submitter", "holder", "region")
    scope = Scope.for_user(actor)
    if scope.empty:
        return qs.none()
    if _admin(actor):
        return qs
    org = actor.organisation
    if org is None or org.kind in (OrganisationKind.BANK, OrganisationKind.BANK_BRANCH):
        return qs.none()
    on_path = Q(submitter=org) | Q(holder=org) | Q(path__contains=f",{org.code},")
    if org.kind in _REGION_WIDE:
        # A unit anchored above the office's region (a city-wide employer reporting to this
        # district card office) sends its batches through the office: the office sees what it
        # holds or passed on, wherever the unit is registered.
        return qs.filter(Q(region__code__startswith=org.region.prefix) | on_path)
    return qs.filter(on_path).filter(region__code__startswith=org.region.prefix)


def applications_visible(actor: User) -> QuerySet[Application]:
    """Applications in visible batches, plus (region-wide offices) online and instant ones of
    their region."""
    qs = Application.objects.select_related("batch", "bank", "person", "card")
    if _admin(actor):
        return qs
    org = actor.organisation
    if org is None:
        return qs.none()
    batches = application_batches_visible(actor).values("pk")
    if org.kind in _REGION_WIDE:
        return qs.filter(
            Q(batch_id__in=batches)
            | Q(batch__isnull=True, region__code__startswith=org.region.prefix)
        )
    if org.kind in (OrganisationKind.BANK, OrganisationKind.BANK_BRANCH):
        root = org.bank_root
        return qs.filter(channel="instant", bank=root)
    return qs.filter(batch_id__in=batches)


@dataclass(frozen=True, slots=True)
class ApplicationRow:
    """One application for a list: personal data masked."""

    pk: int
    row: int
    id_number: str
    name: str
    phone: str
    bank: str
    channel: str
    status: str
    status_code: str
    messages: str
    card_number: str


def application_rows(applications: QuerySet[Application]) -> list[ApplicationRow]:
    """Rows for a list. Once an application has its card, its status is the card's progress
    (已制卡, on its way, awaiting pickup, mailed, issued, activated — see
    `cards.domain.progress`), not the 已制卡 the application row was left at."""
    centres = set(
        Organisation.objects.filter(kind=OrganisationKind.CARD_CENTRE).values_list("pk", flat=True)
    )
    return [_application_row(a, centres) for a in applications]


def _application_row(a: Application, centres: set[int]) -> ApplicationRow:
    card = a.card if a.card_id else None
    return ApplicationRow(
        pk=a.pk,
        row=a.row,
        id_number=mask_id_number(a.id_number),
        name=mask_name(a.name),
        phone=mask_phone(a.phone),
        bank=a.bank_name,
        channel=a.get_channel_display(),
        status=application_progress(
            a.get_status_display(),
            card.status if card is not None else None,
            custodian_is_card_centre=card is None
            or card.custodian_id is None
            or card.custodian_id in centres,
            postal_delivery=a.postal_delivery,
        ),
        status_code=a.status,
        messages=a.messages,
        card_number=card.card_number if card is not None else "",
    )


def ineligible_of(batch: ApplicationBatch) -> QuerySet[Application]:
    return Application.objects.filter(batch=batch, status=ApplicationStatus.INELIGIBLE).order_by(
        "row", "pk"
    )


def production_batches_visible(actor: User) -> QuerySet[ProductionBatch]:
    qs = ProductionBatch.objects.select_related("organisation", "region", "vendor", "card_centre")
    if _admin(actor):
        return qs
    org = actor.organisation
    if org is None or Scope.for_user(actor).empty:
        return qs.none()
    if org.kind == OrganisationKind.CARD_VENDOR:
        return qs.filter(vendor=org).exclude(status="formed")
    if org.kind == OrganisationKind.CARD_CENTRE:
        # Its own batches wherever the holders live (a replacement for a holder registered
        # outside the city forms a batch of the holder's town).
        return qs.filter(Q(region__code__startswith=org.region.prefix) | Q(card_centre=org))
    if org.kind in _REGION_WIDE:
        return qs.filter(region__code__startswith=org.region.prefix)
    return qs.filter(organisation=org)


def account_requests_visible(actor: User) -> QuerySet[AccountOpeningRequest]:
    """A bank (or its branch) sees its own bank's requests; a branch only its own branch's
    and the head bank's undivided ones."""
    qs = Scope.for_user(actor).filter(
        AccountOpeningRequest.objects.select_related("bank", "branch", "region"),
        region_fields=("region__code",),
        bank_field="bank_id",
    )
    org = actor.organisation
    if org is not None and org.kind == OrganisationKind.BANK_BRANCH and not _admin(actor):
        qs = qs.filter(Q(branch=org) | Q(branch__isnull=True))
    return qs


def account_failures_visible(actor: User) -> QuerySet[AccountOpeningItem]:
    """The clean-up queue: failed items of visible requests."""
    return AccountOpeningItem.objects.filter(
        request__in=account_requests_visible(actor).values("pk"),
        status=AccountItemStatus.FAILED,
    ).select_related("request", "request__bank", "person")
