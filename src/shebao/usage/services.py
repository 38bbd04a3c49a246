"""Storing card use uploaded by partner terminals.

One upload is one transaction: rows are checked whole first (`usage.domain.records`), then
the card numbers are resolved in one query and the records inserted with one
`bulk_create(ignore_conflicts=True)` — the unique (terminal, sequence) constraint drops what
is already there, so a batch sent twice (or two copies sent at once) adds each record once.
How many were new is counted from the rows that carry this upload's id, which is exact even
when another copy of the batch is stored at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User
from shebao.cards.models import Card
from shebao.errors import PermissionDenied, ValidationFailed
from shebao.partners.choices import PartnerStatus
from shebao.partners.domain.scopes import PartnerService
from shebao.partners.models import Terminal
from shebao.usage.choices import UploadChannel
from shebao.usage.domain.records import CHINA_TZ, UsageRow, parse_csv, parse_json_lines
from shebao.usage.models import UsageRecord, UsageUpload

__all__ = ["UploadOutcome", "usage_upload", "usage_upload_text"]

_BATCH: Final[int] = 5_000


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    upload_id: int
    received: int
    added: int
    already: int
    unknown_cards: int

    @property
    def message(self) -> str:
        text = f"收到 {self.received} 条，新增 {self.added} 条，已存在 {self.already} 条"
        if self.unknown_cards:
            text += f"，其中 {self.unknown_cards} 条卡号不在本平台"
        return text


def _month_of(moment: datetime) -> date:
    local = moment.astimezone(CHINA_TZ)
    return date(local.year, local.month, 1)


def _terminal_may_upload(terminal: Terminal) -> None:
    partner = terminal.service_point.partner
    if not terminal.is_active:
        raise PermissionDenied("终端已停用", code="TERMINAL_INACTIVE")
    if partner.status != PartnerStatus.APPROVED:
        raise PermissionDenied("合作机构未获批准或已暂停", code="PARTNER_NOT_APPROVED")
    if PartnerService.UPLOAD_USAGE not in (partner.granted_services or []):
        raise PermissionDenied("合作机构未获授权上传用卡记录", code="SCOPE_DENIED")


def usage_upload(
    *,
    actor: User,
    terminal: Terminal,
    rows: list[UsageRow],
    channel: UploadChannel,
    file_name: str = "",
) -> UploadOutcome:
    """Store checked rows of one terminal, atomically; returns how many were new."""
    terminal = Terminal.objects.select_related("service_point__partner").get(pk=terminal.pk)
    _terminal_may_upload(terminal)
    point = terminal.service_point
    partner = point.partner
    numbers = {r.card_number for r in rows if r.card_number}
    cards: dict[str, tuple[int, int]] = {}
    number_list = sorted(numbers)
    for start in range(0, len(number_list), _BATCH):
        for number, card_id, person_id in Card.objects.filter(
            card_number__in=number_list[start : start + _BATCH]
        ).values_list("card_number", "id", "person_id"):
            cards[number] = (card_id, person_id)
    with transaction.atomic():
        upload = UsageUpload.objects.create(
            terminal=terminal,
            partner=partner,
            channel=channel,
            file_name=file_name[:255],
            received=len(rows),
            uploaded_by=actor,
        )
        records = [
            UsageRecord(
                terminal_id=terminal.pk,
                sequence=r.sequence,
                service_point_id=point.pk,
                partner_id=partner.pk,
                field=r.field.value,
                service=r.service.value,
                occurred_at=r.occurred_at,
                month=_month_of(r.occurred_at),
                region_id=point.region_id,
                card_form=r.card_form.value,
                result=r.result.value,
                reason=r.reason,
                card_id=cards.get(r.card_number, (None, None))[0],
                person_id=cards.get(r.card_number, (None, None))[1],
                upload=upload,
            )
            for r in rows
        ]
        UsageRecord.objects.bulk_create(records, batch_size=_BATCH, ignore_conflicts=True)
        added = UsageRecord.objects.filter(upload=upload).count()
        upload.added = added
        upload.already = len(rows) - added
        upload.save(update_fields=["added", "already"])
        unknown = sum(1 for r in rows if r.card_number and r.card_number not in cards)
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            target_type="usage_upload",
            target_id=upload.pk,
            detail={
                "terminal": terminal.code,
                "partner": partner.organisation.name,
                "channel": channel.label,
                "received": len(rows),
                "added": added,
                "already": len(rows) - added,
            },
        )
    return UploadOutcome(
        upload_id=upload.pk,
        received=len(rows),
        added=added,
        already=len(rows) - added,
        unknown_cards=unknown,
    )


def usage_upload_text(
    *,
    actor: User,
    terminal: Terminal,
    text: str,
    fmt: str,
    channel: UploadChannel,
    file_name: str = "",
) -> UploadOutcome:
    """Parse an upload in `fmt` ("csv" or "jsonl") and store it (nothing when a row is bad)."""
    now = timezone.now()
    if fmt == "csv":
        rows = parse_csv(text, now=now)
    elif fmt in ("jsonl", "json"):
        rows = parse_json_lines(text, now=now)
    else:
        raise ValidationFailed("格式应为 csv 或 jsonl", code="USAGE_BAD_FORMAT")
    return usage_upload(
        actor=actor, terminal=terminal, rows=rows, channel=channel, file_name=file_name
    )
