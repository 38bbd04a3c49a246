"""The recovery list's (追回) decisions, by the clerks of the programme's paying office:

- money recovered (amount, date, the receipt's or the bank's reference), in one or several
  instalments; when the whole amount is back the recovery is 已追回;
- 核销 (waiving what is left) is maker–checker like a batch's approval: one clerk asks with
  the reason, another clerk of the office approves (or refuses) it; the database refuses a
  waiver decided by the clerk who asked.

Every step is audited with the payment purpose; money is integer fen.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import User
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.payments.domain.amounts import format_yuan
from shebao.payments.models import PaymentRecovery, RecoveryStatus
from shebao.payments.services.bank import _ensure_office

__all__ = [
    "payment_recovery_record",
    "payment_recovery_waive_decide",
    "payment_recovery_waive_request",
]


def _locked(recovery_id: int) -> PaymentRecovery:
    found = (
        PaymentRecovery.objects.select_for_update(of=("self",))
        .select_related("line__file__batch__programme")
        .filter(pk=recovery_id)
        .first()
    )
    if found is None:
        raise NotFound("未找到该追回记录", code="RECOVERY_NOT_FOUND")
    return found


def _audit(actor: User, recovery: PaymentRecovery, detail: dict[str, object]) -> None:
    approving = detail.get("event") == "waive_approve"
    audit_record(
        actor=actor,
        action=AuditAction.APPROVE if approving else AuditAction.UPDATE,
        target_type="payment_recovery",
        target_id=recovery.pk,
        person_id=recovery.person_id,
        purpose=Purpose.PAYMENT,
        detail=detail,
    )


def _ensure_open(recovery: PaymentRecovery) -> None:
    if recovery.status != RecoveryStatus.OPEN:
        raise ValidationFailed(
            f"该追回记录状态为“{recovery.get_status_display()}”，不能再办理",
            code="RECOVERY_NOT_OPEN",
        )


def payment_recovery_record(
    *,
    actor: User,
    recovery_id: int,
    amount_fen: int,
    recovered_on: date,
    reference: str,
    today: date | None = None,
) -> PaymentRecovery:
    """Money recovered: added to what was recovered before, never above what is owed."""
    reference = reference.strip()
    today = today or timezone.localdate()
    if amount_fen <= 0:
        raise ValidationFailed(
            "追回金额应大于 0",
            code="RECOVERY_AMOUNT_INVALID",
            details=[{"field": "amount", "reason": "应大于 0"}],
        )
    if recovered_on > today:
        raise ValidationFailed(
            "追回日期不能晚于今天",
            code="RECOVERY_DATE_FUTURE",
            details=[{"field": "recovered_on", "reason": "晚于今天"}],
        )
    if not reference:
        raise ValidationFailed(
            "请填写追回凭证号（收款凭证或银行流水号）",
            code="RECOVERY_REFERENCE_REQUIRED",
            details=[{"field": "reference", "reason": "必填"}],
        )
    with transaction.atomic():
        recovery = _locked(recovery_id)
        _ensure_office(actor, recovery.line.file.batch.programme.paying_office_id)
        _ensure_open(recovery)
        outstanding = recovery.amount_fen - recovery.recovered_fen
        if amount_fen > outstanding:
            raise ValidationFailed(
                f"追回金额 {format_yuan(amount_fen)} 元超过尚未追回的 "
                f"{format_yuan(outstanding)} 元",
                code="RECOVERY_AMOUNT_TOO_HIGH",
                details=[{"field": "amount", "reason": "超过应追回余额"}],
            )
        recovery.recovered_fen += amount_fen
        recovery.recovered_on = recovered_on
        recovery.recovered_reference = reference[:64]
        recovery.recorded_by = actor
        if recovery.recovered_fen == recovery.amount_fen:
            recovery.status = RecoveryStatus.RECOVERED
            # A waiver asked for the rest is moot once everything is back.
            recovery.waive_reason = ""
            recovery.waive_requested_by = None
            recovery.waive_requested_at = None
        recovery.save()
        _audit(
            actor,
            recovery,
            {
                "event": "recover",
                "amount_fen": amount_fen,
                "recovered_on": recovered_on.isoformat(),
                "reference": reference[:64],
            },
        )
    return recovery


def payment_recovery_waive_request(
    *, actor: User, recovery_id: int, reason: str
) -> PaymentRecovery:
    """Ask for the outstanding amount to be waived (核销), with the reason."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            "申请核销须说明原因",
            code="WAIVE_REASON_REQUIRED",
            details=[{"field": "reason", "reason": "必填"}],
        )
    with transaction.atomic():
        recovery = _locked(recovery_id)
        _ensure_office(actor, recovery.line.file.batch.programme.paying_office_id)
        _ensure_open(recovery)
        if recovery.waive_requested_by_id is not None:
            raise ValidationFailed(
                "该追回记录已申请核销，等待其他经办人审批", code="WAIVE_ALREADY_REQUESTED"
            )
        recovery.waive_reason = reason[:255]
        recovery.waive_requested_by = actor
        recovery.waive_requested_at = timezone.now()
        recovery.save(update_fields=["waive_reason", "waive_requested_by", "waive_requested_at"])
        _audit(actor, recovery, {"event": "waive_request", "reason": reason[:255]})
    return recovery


def payment_recovery_waive_decide(
    *, actor: User, recovery_id: int, approve: bool, note: str = ""
) -> PaymentRecovery:
    """Another clerk approves the waiver (核销) or refuses it (the request is withdrawn)."""
    with transaction.atomic():
        recovery = _locked(recovery_id)
        _ensure_office(actor, recovery.line.file.batch.programme.paying_office_id)
        _ensure_open(recovery)
        if recovery.waive_requested_by_id is None:
            raise ValidationFailed("该追回记录没有待审批的核销申请", code="WAIVE_NOT_REQUESTED")
        if recovery.waive_requested_by_id == actor.pk:
            raise PermissionDenied(
                "核销须由申请人以外的经办人审批", code="WAIVE_MAKER_CANNOT_APPROVE"
            )
        if approve:
            recovery.status = RecoveryStatus.WAIVED
            recovery.waived_by = actor
            recovery.waived_at = timezone.now()
            if note.strip():
                recovery.note = note.strip()[:255]
            recovery.save()
            _audit(actor, recovery, {"event": "waive_approve", "note": note.strip()[:255]})
        else:
            if not note.strip():
                raise ValidationFailed(
                    "退回核销申请须说明原因",
                    code="WAIVE_REFUSE_REASON",
                    details=[{"field": "note", "reason": "必填"}],
                )
            asked = recovery.waive_reason
            recovery.waive_reason = ""
            recovery.waive_requested_by = None
            recovery.waive_requested_at = None
            recovery.note = f"核销申请退回：{note.strip()}"[:255]
            recovery.save()
            _audit(
                actor,
                recovery,
                {"event": "waive_refuse", "asked": asked, "note": note.strip()[:255]},
            )
    return recovery
