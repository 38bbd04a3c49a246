"""Writes of the custody chain: handovers (dispatch, confirm, cancel), pickup with its
signed receipt, sealing receipts and sending them back up, recall of overdue cards.

The custodian invariant: every card before issue has exactly one custodian organisation, a
card with its holder has none. A handover never changes the custodian when dispatched; on
confirmation only the cards the receiver counted change custodian (missing cards stay with
the sender); pickup clears it. Every function locks the rows it changes (cards in primary-key
order, to avoid deadlocks) and audits in the same transaction.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.cards.domain.custody import (
    FINAL_POINT_KINDS,
    HandoverEvent,
    HandoverItemOutcome,
    HandoverKind,
    HandoverStatus,
    ReceiptLineOutcome,
    ReceiptStatus,
    ShortageResolution,
    handover_transition,
    parse_card_list,
    reconcile,
)
from shebao.cards.domain.lifecycle import CardEvent, CardStatus, CardTransitionError
from shebao.cards.models import (
    Application,
    Card,
    CardHistory,
    Handover,
    HandoverItem,
    Receipt,
    ReceiptLine,
)
from shebao.cards.selectors.custody import cards_overdue, issuing_policy
from shebao.cards.services.card_life import card_apply_event, cards_apply_event
from shebao.cards.services.numbering import card_centre_for
from shebao.cards.services.setwise import db_datetime, insert_from_cards, param
from shebao.errors import NotFound, PermissionDenied, ShebaoError, ValidationFailed
from shebao.identity.id_number import normalize_id_number, validate_id_number

CUSTODY_ROLES = frozenset(
    {
        Role.CARD_CENTRE_OPERATOR,
        Role.DISTRICT_CLERK,
        Role.TOWN_CLERK,
        Role.VILLAGE_CLERK,
        Role.DEPARTMENT_CLERK,
        Role.EMPLOYER_CLERK,
        Role.SYSTEM_ADMIN,
    }
)
MAX_HANDOVER_CARDS = 20_000


def _organisation_of(actor: User) -> Organisation:
    if not (actor.is_superuser or actor.has_role(*CUSTODY_ROLES)):
        raise PermissionDenied("您的角色不能办理卡片交接和发放", code="CUSTODY_FORBIDDEN")
    org = actor.organisation
    if org is None or not org.is_active:
        raise PermissionDenied("您未归属任何经办机构，不能办理卡片交接", code="CUSTODY_NO_ORG")
    return org


def _is_final_point(org: Organisation) -> bool:
    return org.kind in FINAL_POINT_KINDS


def adjacent_organisations(org: Organisation) -> dict[str, list[Organisation]]:
    """Where `org` may send cards: down to its children, up to its parent."""
    down = list(Organisation.objects.filter(parent=org, is_active=True).order_by("code"))
    up = [org.parent] if org.parent is not None else []
    return {"down": down, "up": up}


def _check_direction(kind: HandoverKind, sender: Organisation, receiver: Organisation) -> None:
    downward = receiver.parent_id == sender.pk
    upward = sender.parent_id == receiver.pk
    if kind is HandoverKind.CARDS and not downward:
        raise ValidationFailed(
            f"卡片只能下发给本单位的下级单位，“{receiver.name}”不是“{sender.name}”的下级",
            code="HANDOVER_NOT_ADJACENT",
        )
    if kind is not HandoverKind.CARDS and not upward:
        raise ValidationFailed(
            f"{kind.label}只能交给本单位的上级单位，“{receiver.name}”不是“{sender.name}”的上级",
            code="HANDOVER_NOT_ADJACENT",
        )
    if not receiver.is_active:
        raise ValidationFailed("接收单位已停用", code="HANDOVER_RECEIVER_INACTIVE")


def _number(prefix: str, pk: int, at: datetime) -> str:
    return f"{prefix}{timezone.localtime(at):%Y%m%d}{pk:06d}"


@dataclass(frozen=True)
class HandoverRefusal:
    row: int
    field: str
    value: str
    reason: str

    def as_detail(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "value": self.value, "reason": self.reason}


def _card_list_or_refuse(text: str) -> list[str]:
    parsed = parse_card_list(text)
    if not parsed.ok:
        details = [
            HandoverRefusal(
                bad.line, "card_number", bad.raw, "；".join(e.message for e in bad.errors)
            ).as_detail()
            for bad in parsed.invalid
        ]
        raise ValidationFailed(
            f"有 {len(parsed.invalid)} 个卡号不正确，请核对后重新输入",
            code="CARD_NUMBER_INVALID",
            details=details,
        )
    if not parsed.numbers:
        raise ValidationFailed("请输入或扫描至少一个卡号", code="CARD_LIST_EMPTY")
    if len(parsed.numbers) > MAX_HANDOVER_CARDS:
        raise ValidationFailed(
            f"一张交接单最多 {MAX_HANDOVER_CARDS:,} 张卡", code="CARD_LIST_TOO_LONG"
        )
    return list(parsed.numbers)


def _items_from_cards(handover: Handover, card_ids: Sequence[int]) -> None:
    """One open, listed item per card (set-based: a box may hold tens of thousands)."""
    insert_from_cards(
        HandoverItem,
        card_ids,
        {
            "handover_id": param(handover.pk),
            "card_id": "id",
            "code": "card_number",
            "outcome": param(HandoverItemOutcome.LISTED.value),
            "is_open": param(True),
        },
    )


def _record_custody(
    card_ids: Sequence[int],
    event: CardEvent,
    *,
    actor: User | None,
    organisation: Organisation,
    note: str,
    at: datetime,
) -> None:
    """A custody record in each card's history (a hop received, a shortage, its finding):
    the status stays as it is (set-based: a box may hold tens of thousands)."""
    if not card_ids:
        return
    insert_from_cards(
        CardHistory,
        sorted(card_ids),
        {
            "card_id": "id",
            "at": param(db_datetime(at)),
            "event": param(event.value),
            "from_status": "status",
            "to_status": "status",
            "actor_id": param(actor.pk if actor is not None and actor.pk is not None else None),
            "organisation_id": param(organisation.pk),
            "channel": param(""),
            "note": param(note[:255]),
        },
    )


def _lock_cards_for_dispatch(
    numbers: Sequence[str], sender: Organisation, *, status: CardStatus
) -> list[Card]:
    cards = {
        c.card_number: c
        for c in Card.objects.select_for_update()
        .filter(card_number__in=list(numbers))
        .order_by("pk")
    }
    open_ids = set(
        HandoverItem.objects.filter(card__in=list(cards.values()), is_open=True).values_list(
            "card_id", flat=True
        )
    )
    # Cards applied for online with postal delivery are mailed by the card centre, not sent
    # down the chain (cards.services.postal).
    postal_ids = set(
        Application.objects.filter(card__in=list(cards.values()), postal_delivery=True).values_list(
            "card_id", flat=True
        )
    )
    refusals: list[dict[str, Any]] = []
    for row, number in enumerate(numbers, start=1):
        card = cards.get(number)
        reason = ""
        if card is None:
            reason = "系统中没有该卡号"
        elif card.custodian_id != sender.pk:
            reason = "该卡不在本单位保管"
        elif card.pk in postal_ids:
            reason = "该卡为网上申领邮寄到家，由卡管理中心邮寄，不走交接"
        elif card.status != status.value:
            reason = f"卡片状态为“{CardStatus(card.status).label}”，不能交接"
        elif card.pk in open_ids:
            reason = "该卡已在另一张未完成的交接单上"
        if reason:
            refusals.append(HandoverRefusal(row, "card_number", number, reason).as_detail())
    if refusals:
        raise ValidationFailed(
            f"有 {len(refusals)} 张卡不能交接，整张交接单未保存", code="HANDOVER_CARDS_REFUSED",
            details=refusals,
        )  # fmt: skip
    return [cards[n] for n in numbers]


@transaction.atomic
def handover_create(
    *,
    actor: User,
    to_organisation_id: int,
    card_numbers: str = "",
    receipt_ids: Sequence[int] = (),
    kind: HandoverKind = HandoverKind.CARDS,
    dispatch: bool = True,
    note: str = "",
) -> Handover:
    """Draft a handover from the actor's organisation to an adjacent one — cards typed or
    scanned (`card_numbers`, checked character by character) or sealed receipts — and
    dispatch it unless `dispatch` is false. All or nothing: one refused card refuses it."""
    sender = _organisation_of(actor)
    receiver = Organisation.objects.filter(pk=to_organisation_id).first()
    if receiver is None:
        raise NotFound("接收单位不存在", code="ORGANISATION_NOT_FOUND")
    _check_direction(kind, sender, receiver)
    now = timezone.now()
    handover = Handover.objects.create(
        number=uuid.uuid4().hex[:32],
        kind=kind.value,
        from_organisation=sender,
        to_organisation=receiver,
        created_by=actor,
        created_at=now,
        note=note[:255],
    )
    handover.number = _number("JJ", handover.pk, now)
    if kind.carries_cards:
        numbers = _card_list_or_refuse(card_numbers)
        cards = _lock_cards_for_dispatch(numbers, sender, status=CardStatus.MADE)
        _items_from_cards(handover, [c.pk for c in cards])
        listed = len(cards)
    else:
        receipts = list(
            Receipt.objects.select_for_update().filter(pk__in=list(receipt_ids)).order_by("pk")
        )
        if not receipts:
            raise ValidationFailed("请选择要上交的领卡签收表", code="RECEIPT_LIST_EMPTY")
        busy = set(
            HandoverItem.objects.filter(receipt__in=receipts, is_open=True).values_list(
                "receipt_id", flat=True
            )
        )
        refusals = [
            HandoverRefusal(i, "receipt", r.number, reason).as_detail()
            for i, r in enumerate(receipts, start=1)
            for reason in [
                "签收表不在本单位" if r.holder_id != sender.pk
                else "签收表尚未汇总盖章" if r.status != ReceiptStatus.SEALED.value
                else "签收表已在另一张未完成的交接单上" if r.pk in busy
                else ""
            ]
            if reason
        ]  # fmt: skip
        if refusals or len(receipts) != len(set(receipt_ids)):
            raise ValidationFailed(
                "所选签收表不能上交", code="HANDOVER_RECEIPTS_REFUSED", details=refusals
            )
        HandoverItem.objects.bulk_create(
            [HandoverItem(handover=handover, receipt=r, code=r.number) for r in receipts]
        )
        listed = len(receipts)
    handover.listed_count = listed
    handover.save(update_fields=["number", "listed_count"])
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target_type="handover",
        target_id=handover.pk,
        detail={"kind": kind.value, "to": receiver.code, "count": listed},
    )
    if dispatch:
        return handover_dispatch(actor=actor, handover_id=handover.pk)
    return handover


def _locked_handover(handover_id: int) -> Handover:
    handover = (
        Handover.objects.select_for_update()
        .select_related("from_organisation", "to_organisation")
        .filter(pk=handover_id)
        .first()
    )
    if handover is None:
        raise NotFound("交接单不存在", code="HANDOVER_NOT_FOUND")
    return handover


def _refuse_transition(actor: User, handover: Handover, exc: ShebaoError) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.DENIED,
            target_type="handover",
            target_id=handover.pk,
            detail={"code": exc.code, "status": handover.status},
        )


@transaction.atomic
def handover_dispatch(*, actor: User, handover_id: int) -> Handover:
    sender = _organisation_of(actor)
    handover = _locked_handover(handover_id)
    if handover.from_organisation_id != sender.pk:
        raise PermissionDenied("只有移交单位可以移交该交接单", code="HANDOVER_NOT_SENDER")
    handover.status = handover_transition(handover.handover_status, HandoverEvent.DISPATCH).value
    handover.dispatched_by = actor
    handover.dispatched_at = timezone.now()
    handover.save(update_fields=["status", "dispatched_by", "dispatched_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="handover",
        target_id=handover.pk,
        detail={"event": HandoverEvent.DISPATCH.value, "count": handover.listed_count},
    )
    return handover


@dataclass
class ConfirmResult:
    handover: Handover
    received: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    receipt: Receipt | None = None
    arrived_for_pickup: int = 0
    notes: list[str] = field(default_factory=list)


@transaction.atomic
def handover_confirm(
    *, actor: User, handover_id: int, arrived: str = "", receipt_numbers: Sequence[str] = ()
) -> ConfirmResult:
    """The receiver lists what arrived (card numbers typed or scanned; for receipts, their
    numbers). Listed and arrived: received, custody passes to the receiver. Listed, not
    arrived: missing, custody stays with the sender. Arrived, not listed: extra, recorded for
    investigation, custody unchanged. Cards arriving at a point of issue (village, unit) are
    awaiting pickup, and a signing sheet is started for them."""
    receiver = _organisation_of(actor)
    handover = _locked_handover(handover_id)
    if handover.to_organisation_id != receiver.pk:
        raise PermissionDenied("只有接收单位可以确认接收", code="HANDOVER_NOT_RECEIVER")
    kind = handover.handover_kind
    if handover.handover_status is not HandoverStatus.DISPATCHED:
        exc = ShebaoError(
            code="HANDOVER_INVALID_TRANSITION",
            message=f"交接单状态为“{handover.handover_status.label}”，不能确认接收",
            status=409,
        )
        raise exc
    if kind.carries_cards:
        counted = _card_list_or_refuse(arrived)
    else:
        counted = [n.strip().upper() for n in receipt_numbers if n.strip()]
    items = list(HandoverItem.objects.select_for_update().filter(handover=handover).order_by("pk"))
    result = reconcile([i.code for i in items], counted)
    received_set = set(result.received)
    now = timezone.now()
    received_items = [i for i in items if i.code in received_set]
    missing_items = [i for i in items if i.code not in received_set]
    HandoverItem.objects.filter(pk__in=[i.pk for i in received_items]).update(
        outcome=HandoverItemOutcome.RECEIVED.value, is_open=False
    )
    HandoverItem.objects.filter(pk__in=[i.pk for i in missing_items]).update(
        outcome=HandoverItemOutcome.MISSING.value, is_open=False
    )
    outcome = ConfirmResult(handover, result.received, result.missing, result.extra)
    if kind.carries_cards:
        extra_cards = dict(
            Card.objects.filter(card_number__in=list(result.extra)).values_list("card_number", "pk")
        )
        HandoverItem.objects.bulk_create(
            [
                HandoverItem(
                    handover=handover,
                    card_id=extra_cards.get(code),
                    code=code,
                    outcome=HandoverItemOutcome.EXTRA.value,
                    is_open=False,
                )
                for code in result.extra
            ]
        )
        card_ids = [i.card_id for i in received_items if i.card_id is not None]
        # Only cards still with the sender move (the sender cannot have given them away
        # meanwhile: an open handover item blocks any other handover of the card).
        Card.objects.filter(pk__in=card_ids, custodian=handover.from_organisation).update(
            custodian=receiver, updated_at=now
        )
        sender = handover.from_organisation
        _record_custody(
            card_ids, CardEvent.HANDOVER_RECEIVED, actor=actor, organisation=receiver, at=now,
            note=f"交接单 {handover.number}：{sender.name} 移交，{receiver.name} 接收",
        )  # fmt: skip
        # A card listed but not counted stays with the sender; its history says so and it
        # waits in the discrepancy queue (handover_shortage_resolve) until found or lost.
        _record_custody(
            [i.card_id for i in missing_items if i.card_id is not None],
            CardEvent.HANDOVER_SHORT, actor=actor, organisation=receiver, at=now,
            note=f"交接单 {handover.number} 短少：{receiver.name} 未收到，"
            f"仍由 {sender.name} 保管，待核查",
        )  # fmt: skip
        # A card closed while in transit (cancelled on its holder's death, voided) still
        # changes hands, but is not offered for pickup.
        to_issue = list(
            Card.objects.filter(pk__in=card_ids, status=CardStatus.MADE.value).values_list(
                "pk", flat=True
            )
        )
        if kind is HandoverKind.CARDS and _is_final_point(receiver) and to_issue:
            outcome.arrived_for_pickup = cards_apply_event(
                card_ids=to_issue,
                event=CardEvent.ARRIVE_FOR_PICKUP,
                actor=actor,
                note=f"交接单 {handover.number}",
            )
            outcome.receipt = _receipt_start(handover, receiver, to_issue, now)
    else:
        HandoverItem.objects.bulk_create(
            [
                HandoverItem(
                    handover=handover,
                    code=code[:32],
                    outcome=HandoverItemOutcome.EXTRA.value,
                    is_open=False,
                )
                for code in result.extra
            ]
        )
        receipt_ids = [i.receipt_id for i in received_items if i.receipt_id is not None]
        at_centre = receiver.kind == OrganisationKind.CARD_CENTRE
        Receipt.objects.filter(pk__in=receipt_ids).update(
            holder=receiver,
            **({"status": ReceiptStatus.SUBMITTED.value} if at_centre else {}),
        )
    event = (
        HandoverEvent.CONFIRM_WITH_DISCREPANCIES
        if result.has_discrepancies
        else HandoverEvent.CONFIRM
    )
    handover.status = handover_transition(handover.handover_status, event).value
    handover.confirmed_by = actor
    handover.confirmed_at = now
    handover.received_count = len(result.received)
    handover.missing_count = len(result.missing)
    handover.extra_count = len(result.extra)
    handover.save(
        update_fields=[
            "status",
            "confirmed_by",
            "confirmed_at",
            "received_count",
            "missing_count",
            "extra_count",
        ]
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="handover",
        target_id=handover.pk,
        detail={"event": event.value, **result.counts},
    )
    return outcome


def _receipt_start(
    handover: Handover | None, point: Organisation, card_ids: Sequence[int], now: datetime
) -> Receipt:
    receipt = Receipt.objects.create(
        number=uuid.uuid4().hex[:32],
        organisation=point,
        handover=handover,
        holder=point,
        created_at=now,
    )
    receipt.number = _number("QS", receipt.pk, now)
    receipt.save(update_fields=["number"])
    insert_from_cards(
        ReceiptLine,
        sorted(card_ids),
        {
            "receipt_id": param(receipt.pk),
            "card_id": "id",
            "outcome": param(ReceiptLineOutcome.PENDING.value),
            "by_agent": param(False),
            "agent_name": param(""),
            "agent_id_number": param(""),
            "agent_authorised": param(False),
            "identity_checked": param(False),
            "signed": param(False),
            "signature": param(""),
        },
    )
    return receipt


@transaction.atomic
def handover_cancel(*, actor: User, handover_id: int) -> Handover:
    """The sender withdraws a draft or a dispatched handover; custody never moved."""
    sender = _organisation_of(actor)
    handover = _locked_handover(handover_id)
    if handover.from_organisation_id != sender.pk:
        raise PermissionDenied("只有移交单位可以撤销交接单", code="HANDOVER_NOT_SENDER")
    handover.status = handover_transition(handover.handover_status, HandoverEvent.CANCEL).value
    handover.cancelled_at = timezone.now()
    handover.save(update_fields=["status", "cancelled_at"])
    HandoverItem.objects.filter(handover=handover).update(is_open=False)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="handover",
        target_id=handover.pk,
        detail={"event": HandoverEvent.CANCEL.value},
    )
    return handover


# ---------------------------------------------------------------- shortages


@transaction.atomic
def handover_shortage_resolve(
    *, actor: User, item_id: int, resolution: ShortageResolution, note: str = ""
) -> HandoverItem:
    """Settle a card short in a handover (the discrepancy queue):

    - found at the receiver (miscounted, mis-sorted): the receiver records it and the card
      passes to it as if counted — at a point of issue it awaits pickup on the handover's
      signing sheet;
    - found at the sender (never packed): the card stays there, free to be sent again;
    - lost: the card is voided (作废) by its custodian, the sender; a new card needs 补领.

    Each outcome is written to the card's history and audited."""
    org = _organisation_of(actor)
    item = (
        HandoverItem.objects.select_for_update()
        .select_related("handover", "handover__from_organisation", "handover__to_organisation")
        .filter(pk=item_id)
        .first()
    )
    if item is None or item.card_id is None:
        raise NotFound("没有该短少记录", code="SHORTAGE_NOT_FOUND")
    handover = item.handover
    sender, receiver = handover.from_organisation, handover.to_organisation
    if org.pk not in (sender.pk, receiver.pk) and not actor.is_superuser:
        raise PermissionDenied("只有移交单位或接收单位可以处理该短少", code="SHORTAGE_FORBIDDEN")
    if item.outcome != HandoverItemOutcome.MISSING.value:
        raise ValidationFailed("该卡不是交接短少的卡片", code="SHORTAGE_NOT_MISSING")
    if item.resolution:
        raise ValidationFailed(
            f"该短少已处理：{ShortageResolution(item.resolution).label}",
            code="SHORTAGE_ALREADY_RESOLVED",
        )
    if resolution is ShortageResolution.FOUND_AT_RECEIVER and org.pk != receiver.pk:
        raise PermissionDenied(
            f"只有接收单位（{receiver.name}）可以登记在本单位找到", code="SHORTAGE_NOT_RECEIVER"
        )
    if resolution is ShortageResolution.LOST and not note.strip():
        raise ValidationFailed(
            "确认遗失须说明经过（何时、何处发现短少，核查情况）",
            code="SHORTAGE_NOTE_REQUIRED",
            details=[{"field": "note", "reason": "必填"}],
        )
    card = Card.objects.select_for_update().get(pk=item.card_id)
    if card.custodian_id != sender.pk:
        raise ValidationFailed(
            "该卡已不在移交单位保管（已重新移交或已处理），不能再按短少处理",
            code="SHORTAGE_CARD_MOVED",
        )
    if HandoverItem.objects.filter(card=card, is_open=True).exists():
        raise ValidationFailed(
            "该卡已在另一张未完成的交接单上，请先完成或撤销该交接单",
            code="SHORTAGE_CARD_IN_TRANSIT",
        )
    now = timezone.now()
    text = note.strip()[:200]
    if resolution is ShortageResolution.LOST:
        card_apply_event(
            card_id=card.pk, event=CardEvent.VOID, actor=actor,
            note=f"交接单 {handover.number} 短少，确认遗失：{text}",
        )  # fmt: skip
    elif resolution is ShortageResolution.FOUND_AT_SENDER:
        _record_custody(
            [card.pk], CardEvent.SHORTAGE_FOUND, actor=actor, organisation=org, at=now,
            note=f"交接单 {handover.number} 短少的卡片在 {sender.name} 找到，可重新移交"
            + (f"：{text}" if text else ""),
        )  # fmt: skip
    else:
        Card.objects.filter(pk=card.pk).update(custodian=receiver, updated_at=now)
        _record_custody(
            [card.pk], CardEvent.SHORTAGE_FOUND, actor=actor, organisation=receiver, at=now,
            note=f"交接单 {handover.number} 短少的卡片在 {receiver.name} 找到，补办接收"
            + (f"：{text}" if text else ""),
        )  # fmt: skip
        if (
            handover.handover_kind is HandoverKind.CARDS
            and _is_final_point(receiver)
            and card.status == CardStatus.MADE.value
        ):
            cards_apply_event(
                card_ids=[card.pk], event=CardEvent.ARRIVE_FOR_PICKUP, actor=actor,
                note=f"交接单 {handover.number}（短少后找到）",
            )  # fmt: skip
            receipt = Receipt.objects.filter(handover=handover).first()
            if receipt is None or receipt.status != ReceiptStatus.OPEN.value:
                receipt = _receipt_start(None, receiver, [card.pk], now)
            else:
                ReceiptLine.objects.create(receipt=receipt, card=card)
    item.resolution = resolution.value
    item.resolution_note = text
    item.resolved_at = now
    item.resolved_by = actor
    item.save(update_fields=["resolution", "resolution_note", "resolved_at", "resolved_by"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="handover",
        target_id=handover.pk,
        person_id=card.person_id,
        detail={"event": "shortage_resolve", "card": card.pk, "resolution": resolution.value},
    )
    return item


# ---------------------------------------------------------------- pickup and receipts


@dataclass(frozen=True)
class PickupInput:
    card_number: str
    holder_id_number: str
    by_agent: bool = False
    agent_name: str = ""
    agent_id_number: str = ""
    agent_authorised: bool = False
    signed: bool = False


def card_awaiting_pickup_for_holder(*, point: Organisation, id_number: str) -> Card | None:
    """The card waiting at `point` for the holder with this ID number (the clerk reads the
    holder's identity card instead of searching the box for a number)."""
    check = validate_id_number(id_number)
    if not check.ok:
        raise ValidationFailed(
            "持卡人身份证号码不正确：" + "；".join(e.message for e in check.errors),
            code="PICKUP_ID_NUMBER_INVALID",
            details=[{"field": "holder_id_number", "reason": "身份证号码不正确"}],
        )
    cards = list(
        Card.objects.select_related("person")
        .filter(
            custodian=point,
            status=CardStatus.AWAITING_PICKUP.value,
            person__id_number=check.normalized,
        )
        .order_by("-pk")[:2]
    )
    if not cards:
        raise NotFound("本单位没有该身份证号码持卡人待领取的卡片", code="PICKUP_NO_CARD_FOR_HOLDER")
    return cards[0]


def _pickup_refused(actor: User, card: Card, code: str, message: str) -> ValidationFailed:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.DENIED,
            target_type="card",
            target_id=card.pk,
            person_id=card.person_id,
            detail={"event": CardEvent.ISSUE.value, "code": code},
        )
    return ValidationFailed(message, code=code)


def card_pickup(
    *, actor: User, data: PickupInput, signature: UploadedFile | None = None
) -> ReceiptLine:
    """Hand a card to its holder (or an agent with the holder's authorisation) at the point
    of issue: the holder's ID number must match the card's; the receipt line records who
    collected it and the signature; the card is issued and leaves the chain."""
    point = _organisation_of(actor)
    number = data.card_number.strip().upper()
    if number:
        card = Card.objects.select_related("person").filter(card_number=number).first()
    else:
        card = card_awaiting_pickup_for_holder(point=point, id_number=data.holder_id_number)
    if card is None or card.custodian_id != point.pk:
        raise NotFound("本单位没有待发放的该卡号卡片", code="PICKUP_CARD_NOT_HERE")
    if card.status != CardStatus.AWAITING_PICKUP.value:
        raise _pickup_refused(
            actor, card, "PICKUP_NOT_AWAITING",
            f"卡片状态为“{CardStatus(card.status).label}”，不能发放",
        )  # fmt: skip
    if normalize_id_number(data.holder_id_number) != card.person.id_number:
        raise _pickup_refused(
            actor, card, "PICKUP_IDENTITY_MISMATCH", "持卡人身份证号码与卡片不符，不能发放"
        )
    if data.by_agent:
        agent_check = validate_id_number(data.agent_id_number)
        if not data.agent_name.strip() or not agent_check.ok:
            raise _pickup_refused(
                actor, card, "PICKUP_AGENT_INVALID", "代领须填写代领人姓名和有效的身份证号码"
            )
        if agent_check.normalized == card.person.id_number:
            raise _pickup_refused(
                actor, card, "PICKUP_AGENT_IS_HOLDER", "代领人不能是持卡人本人，请按本人领取办理"
            )
        if not data.agent_authorised:
            raise _pickup_refused(
                actor, card, "PICKUP_AGENT_UNAUTHORISED", "代领须核验持卡人的委托书"
            )
    if not (data.signed or signature is not None):
        raise _pickup_refused(
            actor, card, "PICKUP_NOT_SIGNED", "领卡人须在签收表上签名（勾选已签名或上传签名图片）"
        )
    with transaction.atomic():
        line = (
            ReceiptLine.objects.select_for_update()
            .filter(
                card=card,
                outcome=ReceiptLineOutcome.PENDING.value,
                receipt__organisation=point,
            )
            .first()
        )
        if line is None:
            raise ValidationFailed("该卡不在本单位的领卡签收表上", code="PICKUP_NO_RECEIPT_LINE")
        card_apply_event(
            card_id=card.pk, event=CardEvent.ISSUE, actor=actor, channel="counter",
            note=f"签收表 {line.receipt.number}" + ("（代领）" if data.by_agent else ""),
        )  # fmt: skip
        line.outcome = ReceiptLineOutcome.PICKED_UP.value
        line.picked_up_at = timezone.now()
        line.identity_checked = True
        line.by_agent = data.by_agent
        line.agent_name = data.agent_name.strip()[:64] if data.by_agent else ""
        line.agent_id_number = normalize_id_number(data.agent_id_number) if data.by_agent else ""
        line.agent_authorised = data.agent_authorised if data.by_agent else False
        line.signed = True
        if signature is not None:
            line.signature.save(f"{line.receipt_id}-{card.pk}.png", signature, save=False)
        line.issued_by = actor
        line.save()
    return line


@transaction.atomic
def receipt_seal(*, actor: User, receipt_id: int) -> Receipt:
    """汇总、盖章: the point of issue closes a signing sheet once no card on it is waiting."""
    org = _organisation_of(actor)
    receipt = Receipt.objects.select_for_update().filter(pk=receipt_id).first()
    if receipt is None or receipt.organisation_id != org.pk:
        raise NotFound("本单位没有该领卡签收表", code="RECEIPT_NOT_FOUND")
    if receipt.status != ReceiptStatus.OPEN.value:
        raise ValidationFailed("签收表已汇总盖章", code="RECEIPT_ALREADY_SEALED")
    pending = receipt.lines.filter(outcome=ReceiptLineOutcome.PENDING.value).count()
    if pending:
        raise ValidationFailed(
            f"签收表上还有 {pending} 张卡待领取，领取或回收后方可汇总盖章",
            code="RECEIPT_HAS_PENDING",
        )
    receipt.status = ReceiptStatus.SEALED.value
    receipt.sealed_at = timezone.now()
    receipt.sealed_by = actor
    receipt.save(update_fields=["status", "sealed_at", "sealed_by"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="receipt",
        target_id=receipt.pk,
        detail={"event": "seal"},
    )
    return receipt


# ---------------------------------------------------------------- recall


def _card_centre_above(org: Organisation) -> Organisation | None:
    """The card centre at the top of `org`'s chain (the one its cards came from), else the
    card centre serving its region."""
    seen: set[int] = set()
    current: Organisation | None = org
    while current is not None and current.pk not in seen:
        if current.kind == OrganisationKind.CARD_CENTRE and current.is_active:
            return current
        seen.add(current.pk)
        current = current.parent
    return card_centre_for(org.region_id)


@dataclass
class RecallResult:
    per_organisation: dict[str, int]
    handovers: list[Handover]
    dry_run: bool

    @property
    def total(self) -> int:
        return sum(self.per_organisation.values())


def cards_recall_overdue(
    *,
    actor: User | None,
    now: datetime | None = None,
    dry_run: bool = False,
    within: Organisation | None = None,
) -> RecallResult:
    """回收逾期未发放卡片: cards waiting at a point of issue longer than the configured period
    go back to 已制卡, their receipt lines are marked recalled, and a recall handover from each
    point straight back to the card centre serving it is dispatched (the centre confirms what
    comes back: the receiving hop is then in each card's history)."""
    now = now or timezone.now()
    policy = issuing_policy()
    qs = Card.objects.all()
    if within is not None:
        qs = qs.filter(
            Q(custodian=within) | Q(custodian__region__code__startswith=within.region.prefix)
        )
    overdue = list(cards_overdue(now=now, policy=policy, within=qs))
    by_point: dict[int, list[Card]] = defaultdict(list)
    for card in overdue:
        if card.custodian_id is not None:
            by_point[card.custodian_id].append(card)
    points = {
        o.pk: o for o in Organisation.objects.select_related("region").filter(pk__in=list(by_point))
    }
    per_org: dict[str, int] = defaultdict(int)
    for pk, cards in by_point.items():
        per_org[points[pk].name] += len(cards)
    per_org = dict(per_org)
    if dry_run or not by_point:
        return RecallResult(per_org, [], dry_run)
    handovers: list[Handover] = []
    with transaction.atomic():
        for pk, cards in by_point.items():
            point = points[pk]
            ids = [c.pk for c in cards]
            cards_apply_event(
                card_ids=ids, event=CardEvent.RECALL, actor=actor,
                note=f"逾期 {policy.recall_after_days} 天未领取",
            )  # fmt: skip
            ReceiptLine.objects.filter(
                card_id__in=ids, outcome=ReceiptLineOutcome.PENDING.value
            ).update(outcome=ReceiptLineOutcome.RECALLED.value)
            centre = _card_centre_above(point)
            if centre is None or centre.pk == point.pk:
                continue
            handover = Handover.objects.create(
                number=uuid.uuid4().hex[:32],
                kind=HandoverKind.RECALL.value,
                from_organisation=point,
                to_organisation=centre,
                status=HandoverStatus.DISPATCHED.value,
                created_by=actor if actor is not None and actor.pk else None,
                created_at=now,
                dispatched_by=actor if actor is not None and actor.pk else None,
                dispatched_at=now,
                listed_count=len(cards),
                note=f"逾期 {policy.recall_after_days} 天未领取，回收交回{centre.name}",
            )
            handover.number = _number("HS", handover.pk, now)
            handover.save(update_fields=["number"])
            _items_from_cards(handover, ids)
            handovers.append(handover)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="card_recall",
            detail={"count": sum(per_org.values()), "points": len(by_point)},
        )
    return RecallResult(per_org, handovers, dry_run)


__all__ = [
    "CUSTODY_ROLES",
    "CardTransitionError",
    "ConfirmResult",
    "PickupInput",
    "RecallResult",
    "adjacent_organisations",
    "card_awaiting_pickup_for_holder",
    "card_pickup",
    "cards_recall_overdue",
    "handover_cancel",
    "handover_confirm",
    "handover_create",
    "handover_dispatch",
    "handover_shortage_resolve",
    "receipt_seal",
]
