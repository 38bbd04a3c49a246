"""CSV rendering of the audit log for download (UTF-8 with BOM, so Excel opens it right)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from django.utils import timezone

from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent
from shebao.identity.spreadsheet import safe_csv_writer
from shebao.web.audit_display import EventView, event_views, target_label

_CHANNELS = {"web": "网页", "api": "接口", "cli": "命令行"}

AUDIT_CSV_HEADER = (
    "时间",
    "用户名",
    "机构",
    "操作",
    "对象类型",
    "对象",
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


def audit_csv_row(view: EventView) -> list[str]:
    """One audit row as the list page shows it: Chinese labels, the object's name, the
    person masked, the detail as labelled fields."""
    event = view.event
    return [
        "" if v is None else str(v)
        for v in (
            f"{timezone.localtime(event.at):%Y-%m-%d %H:%M:%S}",
            event.username,
            event.organisation.name if event.organisation is not None else "",
            _label(AuditAction, event.action),
            target_label(event.target_type) if event.target_type else "",
            view.target if event.target_type else "",
            view.person,
            _label(Purpose, event.purpose) if event.purpose else "",
            event.purpose_note,
            event.ip_address or "",
            _CHANNELS.get(event.channel, event.channel),
            "；".join(f"{label}：{text}" for label, text in view.details),
        )
    ]


def audit_csv_lines(events: Iterable[AuditEvent], chunk: int = 2000) -> Iterator[str]:
    writer = safe_csv_writer(_Echo())
    yield "\ufeff" + writer.writerow(AUDIT_CSV_HEADER)
    iterator = iter(events)
    while batch := list(islice(iterator, chunk)):
        for view in event_views(batch):
            yield writer.writerow(audit_csv_row(view))
