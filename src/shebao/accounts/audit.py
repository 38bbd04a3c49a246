"""Writing the append-only audit log. Call inside the transaction of the change it records."""

from __future__ import annotations

from typing import Any

from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.context import current_request
from shebao.accounts.models import AuditEvent, User
from shebao.errors import ValidationFailed


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    target_type: str = "",
    target_id: str | int = "",
    person_id: int | None = None,
    purpose: str = "",
    purpose_note: str = "",
    detail: dict[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    ctx = current_request.get()
    actor_known = actor is not None and actor.pk is not None
    return AuditEvent.objects.create(
        user_id=actor.pk if actor_known and actor is not None else None,
        username=(actor.get_username() if actor_known and actor is not None else username)[:150],
        organisation_id=actor.organisation_id if actor_known and actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        person_id=person_id,
        purpose=purpose,
        purpose_note=purpose_note[:255],
        ip_address=ctx.ip_address,
        channel=ctx.channel,
        detail=detail or {},
    )


def require_purpose(purpose: str | None, note: str | None) -> tuple[str, str]:
    """Check a stated purpose for viewing personal data; 'other' needs an explanation."""
    purpose = (purpose or "").strip()
    note = (note or "").strip()
    if purpose not in Purpose.values:
        raise ValidationFailed("请选择查看个人信息的用途", code="PURPOSE_REQUIRED")
    if purpose == Purpose.OTHER and len(note) < 4:
        raise ValidationFailed(
            "用途为“其他”时须填写说明（至少 4 个字）", code="PURPOSE_NOTE_REQUIRED"
        )
    return purpose, note
