"""CSV rendering of the audit log for download (UTF-8 with BOM, so Excel opens it right)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from django.utils import timezone

from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent
from shebao.identity.spreadsheet import safe_csv_writer

AUDIT_CSV_HEADER = (
    "时间",
    "用户名",
    "机构",
    "操作",
    "对象类型",
    "对象标识",
    "涉及人员",
    "用途",
    "用途说明",
    "IP 地址",
    "渠道",
    "详情",
)


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _label(choices: type[AuditAction] | type[Purpose], value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def audit_csv_row(event: AuditEvent) -> list[str]:
    return [
        "" if v is None else str(v)
        for v in (
            f"{timezone.localtime(event.at):%Y-%m-%d %H:%M:%S}",
            event.username,
            event.organisation.name if event.organisation is not None else "",
            _label(AuditAction, event.action),
            event.target_type,
            event.target_id,
            event.person_id or "",
            _label(Purpose, event.purpose) if event.purpose else "",
            event.purpose_note,
            event.ip_address or "",
            event.channel,
            json.dumps(event.detail, ensure_ascii=False, sort_keys=True) if event.detail else "",
        )
    ]


def audit_csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = safe_csv_writer(_Echo())
    yield "\ufeff" + writer.writerow(AUDIT_CSV_HEADER)
    for event in events:
        yield writer.writerow(audit_csv_row(event))
