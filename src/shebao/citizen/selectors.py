"""Reads for the holder's own pages: who looked at his or her data, and the card use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent

ACCESS_LOG_LIMIT: Final[int] = 100


@dataclass(frozen=True, slots=True)
class AccessRow:
    at: datetime
    who: str
    action: str
    purpose: str


def _masked_username(username: str) -> str:
    name = username.split(":")[-1]
    if len(name) <= 2:
        return "*" * len(name) or "***"
    return f"{name[0]}***{name[-1]}"


def _label(choices: Any, value: str, default: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return default


def person_access_log(*, person_id: int, holder_user_id: int) -> list[AccessRow]:
    """Who looked at or acted on this person's data and why, newest first: staff and partner
    rows with the organisation and a masked username (never the staff's name), and the
    portals the holder signed in to. The holder's own self-service rows are left out."""
    events = (
        AuditEvent.objects.filter(person_id=person_id)
        .select_related("organisation")
        .order_by("-at", "-pk")
    )
    rows: list[AccessRow] = []
    for e in events.iterator(chunk_size=200):
        if e.action == AuditAction.SSO_LOGIN and e.target_type == "oauth_application":
            client = str(e.detail.get("client", "")) or "合作网站"
            rows.append(
                AccessRow(
                    at=e.at,
                    who=f"「{client}」（经您授权）",
                    action="单点登录获取您的信息",
                    purpose=_label(Purpose, e.purpose, "单点登录"),
                )
            )
        elif e.user_id == holder_user_id or (e.user_id is None and e.username == "citizen"):
            continue  # the holder's own actions
        elif e.user_id is None and e.organisation_id is None and e.username in ("", "system"):
            rows.append(
                AccessRow(
                    at=e.at,
                    who="系统（批量处理）",
                    action=_label(AuditAction, e.action, e.action),
                    purpose=_label(Purpose, e.purpose, "未说明"),
                )
            )
        else:
            organisation = e.organisation.name if e.organisation is not None else "合作机构"
            rows.append(
                AccessRow(
                    at=e.at,
                    who=f"{organisation} 工作人员 {_masked_username(e.username)}",
                    action=_label(AuditAction, e.action, e.action),
                    purpose=_label(Purpose, e.purpose, "未说明"),
                )
            )
        if len(rows) >= ACCESS_LOG_LIMIT:
            break
    return rows
