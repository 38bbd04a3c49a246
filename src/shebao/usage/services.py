"""Storing card use uploaded by partner terminals.

One upload is one transaction: rows are checked whole first (`usage.domain.records`, which
names the row, the field and the reason of every problem), then stored set-based, never as
model objects:

- PostgreSQL: the rows are COPYed into a session-local staging table, then ONE
  ``INSERT ... SELECT`` joins them to the cards (card and holder ids) and adds them
  ``ON CONFLICT (terminal, sequence) DO NOTHING``; its row count is exactly what this upload
  added, even when another copy of the batch is stored at the same moment.
- SQLite: the card numbers are resolved in one query and the rows inserted with one
  ``executemany`` of ``INSERT ... ON CONFLICT (terminal, sequence) DO NOTHING`` (not
  ``INSERT OR IGNORE``, which would also swallow a CHECK failure); what was new is counted
  from the rows that carry this upload's id.

Either way the unique (terminal, sequence) constraint drops what is already there, so a batch
sent twice (or two copies sent at once) adds each record once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from django.db import connection, transaction
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


@dataclass(frozen=True, slots=True)
class _Fixed:
    """What every record of one upload shares (copied onto each, see the model)."""

    terminal_id: int
    service_point_id: int
    partner_id: int
    region_id: str
    upload_id: int


# Columns of the record table in the order both inserts give them.
_COLUMNS: Final[tuple[str, ...]] = (
    "terminal_id", "sequence", "service_point_id", "partner_id", "field", "service",
    "occurred_at", "month", "region_id", "card_form", "result", "reason", "card_id",
    "person_id", "upload_id",
)  # fmt: skip
_STAGING: Final[str] = "usage_upload_staging"


def _insert_postgresql(rows: list[UsageRow], fixed: _Fixed) -> tuple[int, int]:
    """COPY into staging, one INSERT ... SELECT ... ON CONFLICT DO NOTHING; (added, rows
    whose card number the platform does not know)."""
    records, cards = UsageRecord._meta.db_table, Card._meta.db_table
    with connection.cursor() as cursor:
        # Per connection and emptied at commit; emptied here too, as one transaction may
        # hold several uploads (the demo, a test).
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (sequence bigint, field text, "
            "service text, occurred_at timestamptz, month date, card_form text, result text, "
            "reason text, card_number text) ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {_STAGING}")
        with cursor.cursor.copy(
            f"COPY {_STAGING} (sequence, field, service, occurred_at, month, card_form, "
            "result, reason, card_number) FROM STDIN"
        ) as copy:
            for r in rows:
                copy.write_row(
                    (
                        r.sequence,
                        r.field.value,
                        r.service.value,
                        r.occurred_at,
                        _month_of(r.occurred_at),
                        r.card_form.value,
                        r.result.value,
                        r.reason,
                        r.card_number,
                    )
                )
        cursor.execute(
            f"INSERT INTO {records} ({', '.join(_COLUMNS)}) "  # noqa: S608 - names from the models
            f"SELECT %s, s.sequence, %s, %s, s.field, s.service, s.occurred_at, s.month, %s, "
            f"s.card_form, s.result, s.reason, c.id, c.person_id, %s FROM {_STAGING} s "
            f"LEFT JOIN {cards} c ON c.card_number = s.card_number AND s.card_number <> '' "
            "ON CONFLICT (terminal_id, sequence) DO NOTHING",
            [fixed.terminal_id, fixed.service_point_id, fixed.partner_id, fixed.region_id,
             fixed.upload_id],
        )  # fmt: skip
        added = cursor.rowcount
        cursor.execute(
            f"SELECT count(*) FROM {_STAGING} s WHERE s.card_number <> '' AND NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {cards} c WHERE c.card_number = s.card_number)"
        )
        unknown = int(cursor.fetchone()[0])
    return added, unknown


def _insert_sqlite(rows: list[UsageRow], fixed: _Fixed) -> tuple[int, int]:
    """One executemany of INSERT ... ON CONFLICT DO NOTHING; (added, unknown cards)."""
    cards: dict[str, tuple[int, int]] = {}
    numbers = sorted({r.card_number for r in rows if r.card_number})
    for start in range(0, len(numbers), _BATCH):
        for number, card_id, person_id in Card.objects.filter(
            card_number__in=numbers[start : start + _BATCH]
        ).values_list("card_number", "id", "person_id"):
            cards[number] = (card_id, person_id)
    ops = connection.ops
    none: tuple[None, None] = (None, None)
    values = [
        (
            fixed.terminal_id,
            r.sequence,
            fixed.service_point_id,
            fixed.partner_id,
            r.field.value,
            r.service.value,
            ops.adapt_datetimefield_value(r.occurred_at),
            ops.adapt_datefield_value(_month_of(r.occurred_at)),
            fixed.region_id,
            r.card_form.value,
            r.result.value,
            r.reason,
            *cards.get(r.card_number, none),
            fixed.upload_id,
        )
        for r in rows
    ]
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {UsageRecord._meta.db_table} ({', '.join(_COLUMNS)}) "  # noqa: S608
            f"VALUES ({placeholders}) ON CONFLICT (terminal_id, sequence) DO NOTHING",
            values,
        )
    added = UsageRecord.objects.filter(upload_id=fixed.upload_id).count()
    unknown = sum(1 for r in rows if r.card_number and r.card_number not in cards)
    return added, unknown


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
    with transaction.atomic():
        upload = UsageUpload.objects.create(
            terminal=terminal,
            partner=partner,
            channel=channel,
            file_name=file_name[:255],
            received=len(rows),
            uploaded_by=actor,
        )
        fixed = _Fixed(
            terminal_id=terminal.pk,
            service_point_id=point.pk,
            partner_id=partner.pk,
            region_id=point.region_id,
            upload_id=upload.pk,
        )
        if connection.vendor == "postgresql":
            added, unknown = _insert_postgresql(rows, fixed)
        else:
            added, unknown = _insert_sqlite(rows, fixed)
        upload.added = added
        upload.already = len(rows) - added
        upload.save(update_fields=["added", "already"])
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
