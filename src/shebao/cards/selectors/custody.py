"""Reads of the custody chain and the card's life: the issuing policy, cards within an
actor's reach, handovers and receipts of an organisation, overdue cards, the work subsidy per
town, and the custodian invariant."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery

from shebao.accounts.models import Organisation, User
from shebao.accounts.scoping import Scope
from shebao.cards.domain.custody import (
    HandoverItemOutcome,
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
    HandoverItem,
    PostalDispatch,
    PostalDispatchStatus,
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
    free = frozenset(
        reason
        for code in row.free_renewal_reasons.split(",")
        if (reason := RenewalReason.parse(code.strip())) is not None
    )
    fees = (
        FeeSchedule(
            replacement=row.replacement_fee, renewal=row.renewal_fee, free_renewal_reasons=free
        )
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
    if scope.empty or scope.bank_id is not None:
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


# ---------------------------------------------------------------- the chain's next hop


_REGIONAL_KINDS = frozenset(
    {"card_centre", "district_card_office", "town_office", "village_committee"}
)


@dataclass(frozen=True)
class RecipientOption:
    """A unit the actor's organisation may send cards down to: `cards` of the cards it holds
    (made, not mailed) go that way; `label` tells equal names apart."""

    organisation: Organisation
    label: str
    cards: int = 0


def _next_hop_counts(organisation: Organisation, children: dict[int, Organisation]) -> Counter[int]:
    """For the made cards `organisation` holds, the child each should go to: towards the unit
    or village that applied (its chain of parents), else towards the holder's region."""
    rows = (
        Card.objects.filter(custodian=organisation, status=CardStatus.MADE.value)
        .exclude(application__postal_delivery=True)
        .order_by()
        .values(
            "application__submitter_id",
            "application__region_id",
            "person__residence_region_id",
            "person__hukou_region_id",
        )
        .annotate(n=Count("id"))
    )
    counts: Counter[int] = Counter()
    parents: dict[int, int | None] = {}
    # Towards the holder's region only along the regional chain (district office, town,
    # village): a unit is reached through the application that names it.
    by_region = sorted(
        (o for o in children.values() if o.kind in _REGIONAL_KINDS),
        key=lambda o: -len(o.region.prefix),
    )

    def ancestors_to_child(org_id: int) -> int | None:
        seen: set[int] = set()
        current: int | None = org_id
        while current is not None and current not in seen:
            if current in children:
                return current
            seen.add(current)
            if current not in parents:
                parents.update(
                    Organisation.objects.filter(pk=current).values_list("pk", "parent_id")
                )
            current = parents.get(current)
        return None

    for row in rows:
        hop: int | None = None
        submitter = row["application__submitter_id"]
        if submitter is not None and submitter != organisation.pk:
            hop = ancestors_to_child(submitter)
        if hop is None:
            region = (
                row["application__region_id"]
                or row["person__residence_region_id"]
                or row["person__hukou_region_id"]
                or ""
            )
            hop = next(
                (o.pk for o in by_region if region and region.startswith(o.region.prefix)), None
            )
        if hop is not None:
            counts[hop] += row["n"]
    return counts


def recipient_options(*, organisation: Organisation) -> list[RecipientOption]:
    """Where `organisation` may send cards down the chain: the next hops of the cards it
    holds first (most cards first), then its other active children within its own region
    (not the units of other districts attached to it); names made distinct by their region
    and code."""
    prefix = organisation.region.prefix
    every = {
        o.pk: o
        for o in Organisation.objects.filter(parent=organisation, is_active=True)
        .select_related("region")
        .order_by("code")
    }
    counts = _next_hop_counts(organisation, every)
    children = {pk: o for pk, o in every.items() if o.region_id.startswith(prefix) or counts[pk]}
    names = Counter(o.name for o in children.values())

    def label(o: Organisation) -> str:
        base = o.name if names[o.name] == 1 else f"{o.name}（{o.region.name}，{o.code}）"
        return f"{base}（待下发 {counts[o.pk]} 张）" if counts[o.pk] else base

    ordered = sorted(children.values(), key=lambda o: (-counts[o.pk], o.code))
    return [RecipientOption(o, label(o), counts[o.pk]) for o in ordered]


# ---------------------------------------------------------------- discrepancy queue


def shortages_for(*, actor: User, resolved: bool = False) -> QuerySet[HandoverItem]:
    """Cards short in handovers the actor's organisation sent or received (all, for an
    administrator): open ones (the queue) or settled ones."""
    qs = HandoverItem.objects.filter(
        outcome=HandoverItemOutcome.MISSING.value, card__isnull=False
    ).select_related(
        "handover",
        "handover__from_organisation",
        "handover__to_organisation",
        "card",
        "card__person",
        "card__custodian",
        "resolved_by",
    )
    qs = qs.exclude(resolution="") if resolved else qs.filter(resolution="")
    if not (actor.is_superuser or Scope.for_user(actor).unrestricted):
        org_id = actor.organisation_id or -1
        qs = qs.filter(
            Q(handover__from_organisation_id=org_id) | Q(handover__to_organisation_id=org_id)
        )
    return qs.order_by("-handover__confirmed_at", "handover_id", "code")


# ---------------------------------------------------------------- totals per town and village


@dataclass
class PlaceTotal:
    """One row of a per-town table: a town, or a village (point of issue) under it."""

    code: str
    name: str
    level: str  # "town" or "village"
    counts: dict[str, int]
    amount: Decimal = Decimal("0.00")


def _town_of(code: str) -> str:
    return code[:9] if len(code) >= 9 else code


def _towns_and_villages(
    places: dict[tuple[str, str], dict[str, int]], keys: tuple[str, ...]
) -> list[PlaceTotal]:
    """Town rows (summed) each followed by its village rows, from (region code, name) →
    counts."""
    towns: dict[str, list[PlaceTotal]] = {}
    for (code, name), counts in sorted(places.items()):
        towns.setdefault(_town_of(code), []).append(
            PlaceTotal(code, name, "village", {k: counts.get(k, 0) for k in keys})
        )
    town_names = dict(Region.objects.filter(code__in=list(towns)).values_list("code", "name"))
    out: list[PlaceTotal] = []
    for town, villages in sorted(towns.items()):
        out.append(
            PlaceTotal(
                town,
                town_names.get(town, town),
                "town",
                {k: sum(v.counts[k] for v in villages) for k in keys},
            )
        )
        out.extend(villages)
    return out


def overdue_totals(overdue: QuerySet[Card]) -> list[PlaceTotal]:
    """逾期未领取 per town and per point of issue (village or unit)."""
    places: dict[tuple[str, str], dict[str, int]] = {}
    rows = (
        overdue.order_by().values("custodian__region_id", "custodian__name").annotate(n=Count("id"))
    )
    for row in rows:
        key = (row["custodian__region_id"] or "", row["custodian__name"] or "")
        places.setdefault(key, {"cards": 0})["cards"] += row["n"]
    return _towns_and_villages(places, ("cards",))


def subsidy_by_village(
    *, actor: User, start: date | None = None, end: date | None = None
) -> tuple[list[PlaceTotal], IssuingPolicy]:
    """工作补助经费 per town and village: cards handed to their holders at the point of issue
    (signed receipt lines, by the point's region) and cards delivered by post (confirmed
    receipt, by the applicant's region), in [start, end], times the amount per card."""
    policy = issuing_policy()
    scope = Scope.for_user(actor)
    if scope.empty or scope.bank_id is not None or scope.employer_credit_code is not None:
        return [], policy
    lines = ReceiptLine.objects.filter(outcome=ReceiptLineOutcome.PICKED_UP.value)
    posted = PostalDispatch.objects.filter(status=PostalDispatchStatus.DELIVERED)
    if not scope.unrestricted:
        prefix = scope.region_prefix or "\0"
        lines = lines.filter(receipt__organisation__region__code__startswith=prefix)
        posted = posted.filter(
            Q(card__application__region__code__startswith=prefix)
            | Q(
                card__application__isnull=True,
                card__person__hukou_region__code__startswith=prefix,
            )
        )
    if start is not None:
        lines = lines.filter(picked_up_at__date__gte=start)
        posted = posted.filter(delivered_on__gte=start)
    if end is not None:
        lines = lines.filter(picked_up_at__date__lte=end)
        posted = posted.filter(delivered_on__lte=end)
    places: dict[tuple[str, str], dict[str, int]] = {}
    village_names: dict[str, str] = {}
    for point in (
        lines.order_by()
        .values("receipt__organisation__region_id", "receipt__organisation__name")
        .annotate(n=Count("id"))
    ):
        code = point["receipt__organisation__region_id"]
        village_names.setdefault(code, point["receipt__organisation__name"])
        key = (code, point["receipt__organisation__name"])
        places.setdefault(key, {"picked_up": 0, "posted": 0})["picked_up"] += point["n"]
    posted_rows = list(
        posted.order_by()
        .values("card__application__region_id", "card__person__hukou_region_id")
        .annotate(n=Count("id"))
    )
    codes = {
        r["card__application__region_id"] or r["card__person__hukou_region_id"] or ""
        for r in posted_rows
    }
    village_names.update(
        Organisation.objects.filter(
            region_id__in=[c for c in codes if c not in village_names],
            kind="village_committee",
        ).values_list("region_id", "name")
    )
    region_names = dict(Region.objects.filter(code__in=list(codes)).values_list("code", "name"))
    for row in posted_rows:
        code = row["card__application__region_id"] or row["card__person__hukou_region_id"] or ""
        name = village_names.get(code) or region_names.get(code, code)
        places.setdefault((code, name), {"picked_up": 0, "posted": 0})["posted"] += row["n"]
    table = _towns_and_villages(places, ("picked_up", "posted"))
    for place in table:
        place.counts["total"] = place.counts["picked_up"] + place.counts["posted"]
        place.amount = subsidy_amount(place.counts["total"], policy)
    return table, policy


def card_of_holder(*, actor: User, id_number: str) -> Card | None:
    """The card a holder presents at the counter without it (by their ID number): within the
    actor's scope, the newest card not closed, else the newest."""
    cards = list(
        cards_scoped(actor)
        .select_related("person", "custodian", "bank")
        .filter(person__id_number=id_number)
        .order_by("-created_at", "-pk")[:20]
    )
    open_cards = [c for c in cards if not CardStatus(c.status).is_terminal]
    return (open_cards or cards)[0] if cards else None
