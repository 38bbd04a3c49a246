"""Per-request facts the audit log needs (client address, channel), set by middleware."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None = None
    channel: str = "cli"


current_request: ContextVar[RequestContext] = ContextVar(
    "shebao_request_context",
    default=RequestContext(),  # noqa: B039 - a frozen dataclass, immutable
)
