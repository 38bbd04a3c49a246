"""The failure queue's decisions beside correction and re-payment (those are in `bank.py`):

- 不再补发: the office closes a failure for good, with the reason (the payee died, was paid
  by other means, the entitlement ended…); audited;
- release: a failure whose re-payment batch was cancelled (作废) goes back to 已更正待补发 so a
  new batch can pay it. A failure is in at most one live re-payment batch: it is released
  only when that batch is cancelled, and the link to the cancelled row is cut in the same
  transaction (the one-to-one `repaid_by_row` / `repays` links then allow the next batch).
- the account a correction may name is the one the re-payment's approval will freeze: the
  person's payable card account (a card in 正常 or 挂失 and its account at the card's bank,
  the replacement card's once it is issued). A typed account that is not it is refused, so
  the queue never shows an account the bank file would not use.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import User
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card
from shebao.errors import NotFound, ValidationFailed
from shebao.payments.domain.batch_lifecycle import BatchStatus
from shebao.payments.models import FailureStatus, PaymentFailure, PaymentRow
from shebao.payments.services.bank import _ensure_office
from shebao.registry.models import BankAccount

__all__ = [
    "payable_card_account",
    "payment_failure_close",
    "payment_failure_correct",
    "payment_failure_release",
]

# Same preference as the approval's snapshot (services.checking.payment_targets).
_PAYABLE_CARD_STATUSES = (
    CardStatus.ACTIVE.value,
    CardStatus.TEMPORARY_LOSS.value,
    CardStatus.LOST.value,
)


def _locked_failure(failure_id: int) -> PaymentFailure:
    failure = (
        PaymentFailure.objects.select_for_update(of=("self",))
        .select_related("line__row__batch__programme", "repaid_by_row__batch")
        .filter(pk=failure_id)
        .first()
    )
    if failure is None:
        raise NotFound("未找到该发放失败记录", code="PAYMENT_FAILURE_NOT_FOUND")
    return failure


def payable_card_account(person_id: int) -> str:
    """The account number a batch approved today would pay `person_id` into ("" if none):
    a card in 正常, then 挂失, newest card first, and its newest account at the card's bank."""
    cards = list(
        Card.objects.filter(person_id=person_id, status__in=_PAYABLE_CARD_STATUSES).values_list(
            "pk", "status", "bank_id"
        )
    )
    cards.sort(key=lambda c: (_PAYABLE_CARD_STATUSES.index(c[1]), -c[0]))
    for _pk, _status, bank_id in cards:
        account = (
            BankAccount.objects.filter(person_id=person_id, bank_id=bank_id)
            .order_by("-pk")
            .values_list("account_number", flat=True)
            .first()
        )
        if account:
            return str(account)
    return ""


def payment_failure_correct(
    *,
    actor: User,
    failure_id: int,
    account_number: str | None = None,
    note: str = "",
) -> PaymentFailure:
    """待更正 → 已更正待补发. Without `account_number` the person's payable card account is
    taken (after a replacement card, the new card's); a typed number must be that account,
    since the re-payment's approval freezes it (the clerk confirms what the bank will get).
    The same account as the failed payment needs a note (e.g. the account was unfrozen)."""
    with transaction.atomic():
        failure = _locked_failure(failure_id)
        _ensure_office(actor, failure.line.row.batch.programme.paying_office_id)
        if failure.status not in (FailureStatus.OPEN, FailureStatus.CORRECTED):
            raise ValidationFailed(
                f"该失败记录状态为“{failure.get_status_display()}”，不能再更正",
                code="FAILURE_NOT_OPEN",
            )
        target = payable_card_account(failure.person_id)
        if not target:
            raise ValidationFailed(
                "该人员没有可用于发放的社保卡银行账户（正常或挂失状态的卡及其开户账户）："
                "请先办理补换卡或开户，再更正",
                code="NO_CARD_ACCOUNT",
                details=[{"field": "account_number", "reason": "没有可用的社保卡银行账户"}],
            )
        typed = (account_number or "").replace(" ", "")
        if typed and typed != target:
            raise ValidationFailed(
                f"账号 {typed[:4]}…{typed[-4:]} 不是该人员当前社保卡的银行账户"
                f"（尾号 {target[-4:]}），补发只能发放到社保卡账户：请核对，或留空使用当前卡账户",
                code="ACCOUNT_NOT_ON_CARD",
                details=[{"field": "account_number", "reason": "不是当前社保卡的银行账户"}],
            )
        if target == failure.line.row.frozen_account_number and not note.strip():
            raise ValidationFailed(
                "该人员社保卡账户与发放失败的账户相同：如账户已恢复（如解冻），请在说明中写明；"
                "如已补换卡，请待新卡开户后再更正",
                code="ACCOUNT_UNCHANGED",
            )
        failure.corrected_account_number = target
        failure.correction_note = note.strip()[:255]
        failure.corrected_by = actor
        failure.corrected_at = timezone.now()
        failure.status = FailureStatus.CORRECTED
        failure.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="payment_failure",
            target_id=failure.pk,
            person_id=failure.person_id,
            purpose=Purpose.PAYMENT,
            detail={"event": "correct", "reason": failure.reason},
        )
    return failure


def payment_failure_close(*, actor: User, failure_id: int, reason: str) -> PaymentFailure:
    """待更正 / 已更正待补发 → 不再补发, with the reason; a failure in a live re-payment batch
    cannot be closed (cancel that batch first), nor one already re-paid."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            "不再补发须说明原因",
            code="FAILURE_CLOSE_REASON",
            details=[{"field": "reason", "reason": "必填"}],
        )
    with transaction.atomic():
        failure = _locked_failure(failure_id)
        _ensure_office(actor, failure.line.row.batch.programme.paying_office_id)
        if failure.status not in (FailureStatus.OPEN, FailureStatus.CORRECTED):
            raise ValidationFailed(
                f"该失败记录状态为“{failure.get_status_display()}”，不能标记为不再补发",
                code="FAILURE_NOT_OPEN",
            )
        failure.status = FailureStatus.CLOSED
        failure.closed_reason = reason[:255]
        failure.closed_by = actor
        failure.closed_at = timezone.now()
        failure.save(update_fields=["status", "closed_reason", "closed_by", "closed_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="payment_failure",
            target_id=failure.pk,
            person_id=failure.person_id,
            purpose=Purpose.PAYMENT,
            detail={"event": "close", "reason": reason[:255]},
        )
    return failure


def payment_failure_release(*, actor: User, failure_id: int) -> PaymentFailure:
    """已纳入补发批次 → 已更正待补发 when that re-payment batch was cancelled: the cancelled
    row's link to the failed row is cut so another batch may re-pay it (once)."""
    with transaction.atomic():
        failure = _locked_failure(failure_id)
        _ensure_office(actor, failure.line.row.batch.programme.paying_office_id)
        row = failure.repaid_by_row
        if failure.status != FailureStatus.QUEUED or row is None:
            raise ValidationFailed(
                f"该失败记录状态为“{failure.get_status_display()}”，无需释放",
                code="FAILURE_NOT_QUEUED",
            )
        # Lock the batch row too: a cancel racing with the release is seen either way.
        batch = type(row.batch).objects.select_for_update().get(pk=row.batch_id)
        if batch.status != BatchStatus.CANCELLED.value:
            raise ValidationFailed(
                f"补发批次 {batch.code} 状态为“{batch.batch_status.label}”，"
                "只有作废的补发批次中的记录可以释放（每笔失败只在一个补发批次中）",
                code="REPAY_BATCH_LIVE",
            )
        failure.repaid_by_row = None
        failure.status = FailureStatus.CORRECTED
        failure.save(update_fields=["repaid_by_row", "status"])
        PaymentRow.objects.filter(pk=row.pk).update(
            repays=None, note=f"补发批次作废，失败记录#{failure.pk} 已释放"[:255]
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="payment_failure",
            target_id=failure.pk,
            person_id=failure.person_id,
            purpose=Purpose.PAYMENT,
            detail={"event": "release", "cancelled_batch": batch.code},
        )
    return failure
