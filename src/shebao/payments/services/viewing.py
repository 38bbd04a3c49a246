"""Recording who looked at payees: every page or API answer that shows the rows of a batch
(persons, masked) is one audit row with the purpose 待遇及补贴发放, naming the rows shown."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import User
from shebao.payments.models import PaymentBatch

__all__ = ["payment_persons_listed", "payment_rows_viewed"]


def payment_rows_viewed(
    *, actor: User, batch: PaymentBatch, row_numbers: Sequence[int], channel_note: str = ""
) -> None:
    """Audit that `actor` saw the rows `row_numbers` of `batch` (masked)."""
    if not row_numbers:
        return
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.VIEW_PERSON,
            target_type="payment_batch",
            target_id=batch.pk,
            purpose=Purpose.PAYMENT,
            purpose_note=channel_note,
            detail={
                "batch": batch.code,
                "rows": len(row_numbers),
                "row_numbers": list(row_numbers[:200]),
            },
        )


def payment_persons_listed(*, actor: User, page: str, person_ids: Sequence[int]) -> None:
    """Audit that `actor` opened a payment list (`page`: failures, recoveries, withholding)
    showing these persons (masked); written even when the page lists nobody, so that every
    opening of a page about persons leaves its purpose."""
    ids = list(dict.fromkeys(person_ids))[:200]
    audit_record(
        actor=actor,
        action=AuditAction.VIEW_PERSON,
        target_type=f"payment_{page}",
        person_id=ids[0] if len(ids) == 1 else None,
        purpose=Purpose.PAYMENT,
        detail={"page": page, "persons": len(ids), "person_ids": ids},
    )
