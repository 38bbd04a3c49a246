"""Changing a card's status: the one door through which every life-cycle event passes.

`card_apply_event` changes one card; `cards_apply_event` the same event on many cards at once
(a handover's arrival, a recall), with set-based updates, one history row per card and one
audit row for the lot. A refused transition raises CardTransitionError after writing a
DENIED audit row (kept even when the caller's transaction is rolled back only if the caller
is not itself inside one, as the pages and commands are not).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Role
from shebao.accounts.models import User
from shebao.cards.domain.lifecycle import (
    HANDS_TO_HOLDER,
    CardEvent,
    CardStatus,
    CardTransitionError,
    FeeKind,
    RenewalReason,
    Transition,
    fee_for,
    transition,
)
from shebao.cards.models import Card, CardHistory, CardReissue
from shebao.cards.services.numbering import (
    CARD_VALID_YEARS,
    SPEC_VERSION,
    add_years,
    card_centre_for,
    next_card_codes,
)
from shebao.cards.services.setwise import chunks, db_datetime, insert_from_cards, param
from shebao.cards.signals import card_replaced, card_status_changed
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.registry.choices import LifeStatus


def _audit_refused(
    *, actor: User | None, card_id: int, person_id: int | None, exc: CardTransitionError
) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.DENIED,
            target_type="card",
            target_id=card_id,
            person_id=person_id,
            detail={
                "event": exc.event.value,
                "status": exc.card_status.value,
                "code": exc.code,
                "reason": "not_applied",
            },
        )


def card_apply_event(
    *,
    card_id: int,
    event: CardEvent,
    actor: User | None,
    channel: str = "",
    note: str = "",
) -> tuple[Card, Transition]:
    """Apply `event` to the card, locking its row so that two clerks acting at once produce
    one result: the second sees the first's status and is refused if the event no longer
    applies (CardTransitionError, code CARD_INVALID_TRANSITION), which is audited as denied."""
    try:
        with transaction.atomic():
            card = Card.objects.select_for_update().get(pk=card_id)
            step = transition(CardStatus(card.status), event)
            now = timezone.now()
            card.status = step.to_status.value
            card.updated_at = now
            update_fields = ["status", "updated_at"]
            if event is CardEvent.REPORT_TEMPORARY_LOSS:
                card.temporary_loss_reported_on = timezone.localdate()
                update_fields.append("temporary_loss_reported_on")
            elif step.from_status is CardStatus.TEMPORARY_LOSS:
                card.temporary_loss_reported_on = None
                update_fields.append("temporary_loss_reported_on")
            if event in HANDS_TO_HOLDER:
                # Handed to the holder: no organisation holds it any more.
                card.custodian = None
                update_fields.append("custodian")
            card.save(update_fields=update_fields)
            CardHistory.objects.create(
                card=card,
                at=now,
                event=event.value,
                from_status=step.from_status.value,
                to_status=step.to_status.value,
                actor=actor if actor is not None and actor.pk is not None else None,
                organisation_id=actor.organisation_id if actor is not None else None,
                channel=channel,
                note=note[:255],
            )
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                target_type="card",
                target_id=card.pk,
                person_id=card.person_id,
                detail={
                    "event": event.value,
                    "from": step.from_status.value,
                    "to": step.to_status.value,
                    **({"channel": channel} if channel else {}),
                },
            )
            if step.to_status is not step.from_status:
                card_status_changed.send(
                    sender=Card, card_ids=[card.pk], event=event, to_status=step.to_status
                )
    except CardTransitionError as exc:
        person_id = Card.objects.filter(pk=card_id).values_list("person_id", flat=True).first()
        _audit_refused(actor=actor, card_id=card_id, person_id=person_id, exc=exc)
        raise
    return card, step


def cards_apply_event(
    *,
    card_ids: Sequence[int],
    event: CardEvent,
    actor: User | None,
    channel: str = "",
    note: str = "",
    notes: Mapping[int, str] | None = None,
) -> int:
    """Apply `event` to every card in `card_ids` in one transaction, or to none: the rows are
    locked (in chunks, primary-key order), every transition checked first by the same state
    machine as `card_apply_event` (the first refusal raises CardTransitionError and nothing
    changes), then the history is inserted set-based and the statuses set per from-status,
    and one audit row is written for the lot. `notes` gives a card its own history note (the
    vendor's failure reason, say) in place of `note`. Returns the number of cards changed."""
    if not card_ids:
        return 0
    notes = notes or {}
    ids = sorted(set(card_ids))
    with transaction.atomic():
        rows: list[tuple[int, str]] = []
        for chunk in chunks(ids):
            rows.extend(
                Card.objects.select_for_update()
                .filter(pk__in=list(chunk))
                .order_by("pk")
                .values_list("pk", "status")
            )
        # (from-status, note) → cards: one set-based history insert per group.
        groups: dict[tuple[CardStatus, str], list[int]] = defaultdict(list)
        steps: dict[CardStatus, Transition] = {}
        for pk, status in rows:
            from_status = CardStatus(status)
            if from_status not in steps:
                steps[from_status] = transition(from_status, event)
            groups[(from_status, notes.get(pk, note)[:255])].append(pk)
        now = timezone.now()
        actor_id = actor.pk if actor is not None and actor.pk is not None else None
        org_id = actor.organisation_id if actor is not None else None
        for (from_status, card_note), pks in groups.items():
            # History first, while the cards still show their from-status.
            insert_from_cards(
                CardHistory,
                pks,
                {
                    "card_id": "id",
                    "at": param(db_datetime(now)),
                    "event": param(event.value),
                    "from_status": "status",
                    "to_status": param(steps[from_status].to_status.value),
                    "actor_id": param(actor_id),
                    "organisation_id": param(org_id),
                    "channel": param(channel),
                    "note": param(card_note),
                },
            )
        for from_status, step in steps.items():
            fields: dict[str, object] = {"status": step.to_status.value, "updated_at": now}
            if event in HANDS_TO_HOLDER:
                fields["custodian"] = None
            if from_status is CardStatus.TEMPORARY_LOSS:
                fields["temporary_loss_reported_on"] = None
            pks = [pk for (f, _), group in groups.items() if f is from_status for pk in group]
            for chunk in chunks(pks):
                Card.objects.filter(pk__in=list(chunk), status=from_status.value).update(**fields)
            if step.to_status is not from_status:
                card_status_changed.send(
                    sender=Card, card_ids=pks, event=event, to_status=step.to_status
                )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="card",
            detail={
                "event": event.value,
                "count": len(rows),
                "note": note[:120],
                **({"channel": channel} if channel else {}),
            },
        )
    return len(rows)


# ---------------------------------------------------------------- the card's life at the counter
#
# One function per business, each a thin, checked call of `card_apply_event`: who may act
# (the holder's scope; activation, loss and unlock at a bank branch for its own customers, or
# at a card-centre counter), the channel recorded, and for 补领 / 换领 the new card and fee.

COUNTER_ROLES = frozenset(
    {
        Role.BANK_OPERATOR,
        Role.CARD_CENTRE_OPERATOR,
        Role.DISTRICT_CLERK,
        Role.TOWN_CLERK,
        Role.SYSTEM_ADMIN,
    }
)
BANK_ROLES = frozenset({Role.BANK_OPERATOR, Role.SYSTEM_ADMIN})
CHANNELS = {"counter": "柜面", "bank": "银行网点", "online": "网上", "phone": "电话"}


def _scoped_card(actor: User, card_id: int, roles: frozenset[str]) -> Card:
    from shebao.cards.selectors.custody import cards_scoped

    if not (actor.is_superuser or actor.has_role(*roles)):
        raise PermissionDenied("您的角色不能办理该项卡片业务", code="CARD_SERVICE_FORBIDDEN")
    card = cards_scoped(actor).filter(pk=card_id).first()
    if card is None:
        raise NotFound("未找到该卡，或该卡不在您的服务范围内", code="CARD_NOT_FOUND")
    return card


def card_activate(*, actor: User, card_id: int) -> Card:
    """激活 at the card's bank (a bank branch sees only its own bank's cards), once its bank
    account is opened (`card_account_require_opened`)."""
    from shebao.cards.services.banking import card_account_require_opened

    card = _scoped_card(actor, card_id, BANK_ROLES)
    card_account_require_opened(actor=actor, card_id=card.pk)
    return card_apply_event(card_id=card.pk, event=CardEvent.ACTIVATE, actor=actor, channel="bank")[
        0
    ]


def card_report_temporary_loss(
    *, actor: User | None, card_id: int, channel: str = "counter"
) -> Card:
    """临时挂失 by phone, online (the citizen, `actor` None, identity checked by the caller) or
    at a counter; it lapses after `CardPolicy.temporary_loss_days` unless made formal."""
    if actor is not None:
        _scoped_card(actor, card_id, COUNTER_ROLES)
    if channel not in CHANNELS:
        raise ValidationFailed("挂失渠道不正确", code="CHANNEL_INVALID")
    return card_apply_event(
        card_id=card_id, event=CardEvent.REPORT_TEMPORARY_LOSS, actor=actor, channel=channel
    )[0]


def card_report_loss(*, actor: User, card_id: int) -> Card:
    card = _scoped_card(actor, card_id, COUNTER_ROLES)
    return card_apply_event(
        card_id=card.pk, event=CardEvent.REPORT_LOSS, actor=actor, channel="counter"
    )[0]


def card_unlock(*, actor: User, card_id: int) -> Card:
    card = _scoped_card(actor, card_id, COUNTER_ROLES)
    return card_apply_event(
        card_id=card.pk, event=CardEvent.UNLOCK, actor=actor, channel="counter"
    )[0]


def card_reset_pin(*, actor: User, card_id: int) -> Card:
    card = _scoped_card(actor, card_id, COUNTER_ROLES)
    return card_apply_event(
        card_id=card.pk, event=CardEvent.RESET_PIN, actor=actor, channel="counter"
    )[0]


def card_change_information(*, actor: User, card_id: int, what: str) -> Card:
    """信息变更: recorded on the card's history (which items changed, not their values)."""
    card = _scoped_card(actor, card_id, COUNTER_ROLES)
    if not what.strip():
        raise ValidationFailed("请说明变更的信息项", code="CHANGE_WHAT_REQUIRED")
    return card_apply_event(
        card_id=card.pk,
        event=CardEvent.CHANGE_INFORMATION,
        actor=actor,
        channel="counter",
        note=what.strip(),
    )[0]


def card_cancel(*, actor: User, card_id: int, reason: str) -> Card:
    card = _scoped_card(actor, card_id, COUNTER_ROLES)
    if not reason.strip():
        raise ValidationFailed("请填写注销原因", code="CANCEL_REASON_REQUIRED")
    return card_apply_event(
        card_id=card.pk, event=CardEvent.CANCEL, actor=actor, channel="counter", note=reason
    )[0]


def card_reissue(
    *,
    actor: User,
    card_id: int,
    kind: FeeKind,
    reason: RenewalReason | None = None,
) -> CardReissue:
    """补领 (after a formal loss) or 换领 (damage, expiry, changed personal data): the old card
    is voided, a new card for the same holder starts at 待制卡 in the card centre's custody,
    linked by `replaces`, with the fee the configured schedule gives (first issue is free).
    Its number and card identification code come from the issuing region's series, the one
    production and instant issuance draw from."""
    from shebao.cards.selectors.custody import card_policy

    if kind is FeeKind.FIRST_ISSUE:
        raise ValidationFailed("首次申领请走申领流程", code="REISSUE_KIND_INVALID")
    if kind is FeeKind.RENEWAL and reason is None:
        raise ValidationFailed("换领须选择原因", code="RENEWAL_REASON_REQUIRED")
    card = _scoped_card(actor, card_id, COUNTER_ROLES)
    fee = fee_for(kind, fees=card_policy().fees, renewal_reason=reason)
    event = CardEvent.REPLACE if kind is FeeKind.REPLACEMENT else CardEvent.RENEW
    try:
        # Checked before the transaction too, so that a refusal is audited (inside it, the
        # denial would roll back with the rest); the locked check below stays the authority.
        transition(CardStatus(card.status), event)
    except CardTransitionError as exc:
        _audit_refused(actor=actor, card_id=card.pk, person_id=card.person_id, exc=exc)
        raise
    with transaction.atomic():
        old, _ = card_apply_event(
            card_id=card.pk, event=event, actor=actor, channel="counter",
            note=(f"工本费 {fee} 元" if fee else "免收工本费")
            + (f"，{reason.label}" if reason else ""),
        )  # fmt: skip
        reissue = CardReissue.objects.create(
            old_card=old,
            kind=kind.value,
            reason=reason.value if reason else "",
            fee=fee,
            actor=actor,
        )
        now = timezone.now()
        today = timezone.localdate()
        number, id_code = next_card_codes(old.issuing_region)
        new = Card.objects.create(
            card_number=number,
            card_id_code=id_code,
            person_id=old.person_id,
            status=CardStatus.PENDING_PRODUCTION.value,
            issuing_region_id=old.issuing_region_id,
            spec_version=SPEC_VERSION,
            issued_on=today,
            expires_on=add_years(today, CARD_VALID_YEARS),
            bank_id=old.bank_id,
            custodian=card_centre_for(old.issuing_region_id) or old.custodian or actor.organisation,
            replaces=old,
            created_at=now,
            updated_at=now,
        )
        reissue.new_card = new
        reissue.save(update_fields=["new_card"])
        card_replaced.send(sender=Card, old_card_id=old.pk, new_card_id=new.pk, event=event)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="card",
            target_id=new.pk,
            person_id=new.person_id,
            detail={"event": event.value, "replaces": old.pk, "fee": str(fee)},
        )
    return reissue


def cards_lapse_temporary_losses(*, today: date | None = None, dry_run: bool = False) -> int:
    """Sweep: temporary loss reports past `CardPolicy.temporary_loss_days` on `today` lapse
    (正常); with `dry_run`, only count them."""
    from shebao.cards.selectors.custody import card_policy

    policy = card_policy()
    today = today or timezone.localdate()
    cutoff = today - timedelta(days=policy.temporary_loss_days)
    ids = list(
        Card.objects.filter(
            status=CardStatus.TEMPORARY_LOSS.value, temporary_loss_reported_on__lte=cutoff
        ).values_list("pk", flat=True)
    )
    if dry_run:
        return len(ids)
    return cards_apply_event(
        card_ids=ids, event=CardEvent.LAPSE_TEMPORARY_LOSS, actor=None, channel="system",
        note=f"临时挂失超过 {policy.temporary_loss_days} 天自动解除",
    )  # fmt: skip


def cards_cancel_for_deceased(
    *,
    person_ids: Sequence[int] | None = None,
    as_of: date | None = None,
    dry_run: bool = False,
) -> int:
    """Cancel every open card of a person the registry records as deceased (on or before
    `as_of`, if given). Called when the registry saves a death (see `cards.receivers`) and by
    the daily sweep `shebao cards cancel-deceased`, which also catches deaths loaded in bulk
    (COPY bypasses model signals). With `dry_run`, only count them."""
    closed = [s.value for s in CardStatus if s.is_terminal]
    qs = Card.objects.filter(person__life_status=LifeStatus.DECEASED).exclude(status__in=closed)
    if person_ids is not None:
        qs = qs.filter(person_id__in=list(person_ids))
    if as_of is not None:
        qs = qs.filter(person__status_date__lte=as_of)
    ids = list(qs.values_list("pk", flat=True))
    if dry_run:
        return len(ids)
    return cards_apply_event(
        card_ids=ids, event=CardEvent.CANCEL_ON_DEATH, actor=None, channel="system",
        note="人口库登记死亡，自动注销",
    )  # fmt: skip
