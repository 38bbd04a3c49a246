"""Reads of the custody chain and the card's life: the issuing policy, cards within an
actor's reach, handovers and receipts of an organisation, overdue cards, the work subsidy per
town, and the custodian invariant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery

from shebao.accounts.models import Organisation, User
from shebao.accounts.scoping import Scope
from shebao.cards.domain.custody import (
    HandoverStatus,
    IssuingPolicy,
    ReceiptLineOutcome,
    recall_cutoff,
    subsidy_amount,
)
from shebao.cards.domain.lifecycle import (
    CardEvent,
    CardPhase,
    CardPolicy,
    CardStatus,
    FeeKind,
    FeeSchedule,
    RenewalReason,
    fee_for,
)
from shebao.cards.models import (
    Card,
    CardHistory,
    CardIssuingPolicy,
    Handover,
    Receipt,
    ReceiptLine,
)
from shebao.geo.models import Region

CARD_REGION_FIELDS = (
    "person__hukou_region__code",
    "person__residence_region__code",
    "custodian__region__code",
)
CARD_BANK_FIELD = "bank_id"
CARD_EMPLOYER_FIELD = "person__enrollments__employer__credit_code"


def issuing_policy_row() -> CardIssuingPolicy | None:
    return CardIssuingPolicy.objects.order_by("-updated_at", "-pk").first()


def issuing_policy() -> IssuingPolicy:
    row = issuing_policy_row()
    if row is None:
        return IssuingPolicy()
    return IssuingPolicy(
        recall_after_days=row.recall_after_days, subsidy_per_card=row.subsidy_per_card
    )


def card_policy() -> CardPolicy:
    row = issuing_policy_row()
    if row is None:
        return CardPolicy()
    fees = (
        FeeSchedule(replacement=row.replacement_fee, renewal=row.renewal_fee)
        if row.replacement_fee is not None and row.renewal_fee is not None
        else None
    )
    return CardPolicy(temporary_loss_days=row.temporary_loss_days, fees=fees)


@dataclass(frozen=True, slots=True)
class ReissueFee:
    """One line of the 补领/换领 price list shown at the counter: `fee` None when the card
    centre has not configured its fees yet (the business is then refused)."""

    action: str
    reason: str
    label: str
    fee: Decimal | None

    @property
    def reason_label(self) -> str:
        return self.label.partition("：")[2]


def reissue_fees(policy: CardPolicy | None = None) -> list[ReissueFee]:
    """The 工本费 of 补领 and of 换领 per reason, as the configured schedule gives them."""
    fees = (policy or card_policy()).fees
    rows = [
        ReissueFee(
            "replace",
            "",
            "补领（挂失后）",
            fee_for(FeeKind.REPLACEMENT, fees=fees) if fees else None,
        )
    ]
    rows.extend(
        ReissueFee(
            "renew",
            reason.value,
            f"换领：{reason.label}",
            fee_for(FeeKind.RENEWAL, fees=fees, renewal_reason=reason) if fees else None,
        )
        for reason in RenewalReason
    )
    return rows


def cards_scoped(actor: User) -> QuerySet[Card]:
    """The cards an actor may see or act on: by the holder's region or the custodian's, for a
    bank its own customers' cards, for a unit its staff's cards."""
    return Scope.for_user(actor).filter(
        Card.objects.all(),
        region_fields=CARD_REGION_FIELDS,
        bank_field=CARD_BANK_FIELD,
        employer_field=CARD_EMPLOYER_FIELD,
    )


def cards_in_custody(*, organisation: Organisation) -> QuerySet[Card]:
    return (
        Card.objects.filter(custodian=organisation).select_related("person").order_by("card_number")
    )


def handovers_of(*, organisation: Organisation) -> QuerySet[Handover]:
    return (
        Handover.objects.filter(Q(from_organisation=organisation) | Q(to_organisation=organisation))
        .select_related("from_organisation", "to_organisation")
        .order_by("-created_at", "-pk")
    )


def handover_for(*, actor: User, handover_id: int) -> Handover | None:
    """A handover the actor's organisation sends or receives (or any, for an administrator)."""
    qs = Handover.objects.select_related("from_organisation", "to_organisation")
    if not (actor.is_superuser or Scope.for_user(actor).unrestricted):
        org_id = actor.organisation_id or -1
        qs = qs.filter(Q(from_organisation_id=org_id) | Q(to_organisation_id=org_id))
    return qs.filter(pk=handover_id).first()


def receipts_held_by(*, organisation: Organisation) -> QuerySet[Receipt]:
    return (
        Receipt.objects.filter(Q(holder=organisation) | Q(organisation=organisation))
        .select_related("organisation", "holder")
        .annotate(
            lines_total=Count("lines"),
            lines_picked=Count("lines", filter=Q(lines__outcome=ReceiptLineOutcome.PICKED_UP)),
            lines_pending=Count("lines", filter=Q(lines__outcome=ReceiptLineOutcome.PENDING)),
        )
        .order_by("-created_at", "-pk")
    )


def receipt_for(*, actor: User, receipt_id: int) -> Receipt | None:
    qs = Receipt.objects.select_related("organisation", "holder", "handover")
    scope = Scope.for_user(actor)
    if scope.empty:
        return None
    if not scope.unrestricted:
        qs = qs.filter(organisation__region__code__startswith=scope.region_prefix or "\0")
    return qs.filter(pk=receipt_id).first()


def receipt_lines(*, receipt: Receipt) -> QuerySet[ReceiptLine]:
    return (
        ReceiptLine.objects.filter(receipt=receipt)
        .select_related("card", "card__person")
        .order_by("pk")
    )


def arrived_at_subquery() -> Subquery:
    return Subquery(
        CardHistory.objects.filter(card=OuterRef("pk"), event=CardEvent.ARRIVE_FOR_PICKUP.value)
        .order_by()
        .values("card")
        .annotate(last=Max("at"))
        .values("last")[:1]
    )


def cards_overdue(
    *, now: datetime, policy: IssuingPolicy, within: QuerySet[Card] | None = None
) -> QuerySet[Card]:
    """Cards waiting at a point of issue since before the recall cut-off."""
    qs = within if within is not None else Card.objects.all()
    return (
        qs.filter(status=CardStatus.AWAITING_PICKUP.value)
        .annotate(arrived_at=arrived_at_subquery())
        .filter(arrived_at__lte=recall_cutoff(now, policy))
        .select_related("custodian", "person")
        .order_by("custodian_id", "card_number")
    )


@dataclass(frozen=True)
class SubsidyRow:
    town_code: str
    town_name: str
    cards_distributed: int
    amount: Decimal


def subsidy_by_town(
    *, actor: User, start: date | None = None, end: date | None = None
) -> tuple[list[SubsidyRow], IssuingPolicy]:
    """工作补助经费: cards handed to their holders (signed receipt lines) per town of the point
    of issue, in [start, end], times the configured amount per card."""
    policy = issuing_policy()
    scope = Scope.for_user(actor)
    lines = ReceiptLine.objects.filter(outcome=ReceiptLineOutcome.PICKED_UP.value)
    if scope.empty or scope.bank_id is not None or scope.employer_credit_code is not None:
        return [], policy
    if not scope.unrestricted:
        lines = lines.filter(
            receipt__organisation__region__code__startswith=scope.region_prefix or "\0"
        )
    if start is not None:
        lines = lines.filter(picked_up_at__date__gte=start)
    if end is not None:
        lines = lines.filter(picked_up_at__date__lte=end)
    per_region = lines.values("receipt__organisation__region_id").annotate(n=Count("id"))
    per_town: dict[str, int] = {}
    for row in per_region:
        code = row["receipt__organisation__region_id"]
        town = code[:9] if len(code) >= 9 else code
        per_town[town] = per_town.get(town, 0) + row["n"]
    names = dict(Region.objects.filter(code__in=list(per_town)).values_list("code", "name"))
    rows = [
        SubsidyRow(code, names.get(code, code), n, subsidy_amount(n, policy))
        for code, n in sorted(per_town.items())
    ]
    return rows, policy


def custody_invariant_violations() -> QuerySet[Card]:
    """Cards breaking the custody rule: before issue a card has a custodian organisation;
    with its holder it has none (closed cards may be either)."""
    before = [s.value for s in CardStatus if s.phase is CardPhase.BEFORE_ISSUE]
    with_holder = [s.value for s in CardStatus if s.phase is CardPhase.WITH_HOLDER]
    return Card.objects.filter(
        Q(status__in=before, custodian__isnull=True)
        | Q(status__in=with_holder, custodian__isnull=False)
    )


def open_handover_cards() -> QuerySet[Card]:
    return Card.objects.filter(
        handover_items__is_open=True,
        handover_items__handover__status__in=[
            HandoverStatus.DRAFT.value,
            HandoverStatus.DISPATCHED.value,
        ],
    )


def card_by_number(*, actor: User, card_number: str) -> Card | None:
    return (
        cards_scoped(actor)
        .select_related("person", "custodian", "bank")
        .filter(card_number=card_number)
        .first()
    )


def card_history(*, card: Card) -> QuerySet[CardHistory]:
    return CardHistory.objects.filter(card=card).select_related("organisation").order_by("at", "pk")
