"""The card-use API (`/api/v1/usage/…`) for partner terminals, authenticated by the
terminal's OAuth2 access token (the partners app's `TerminalAuth`): one event as it happens,
or a batch an offline terminal (a bus validator) sends when it is back online — JSON lines
or CSV in the request body. A batch is stored whole or not at all, and sending it again adds
nothing: the answer says how many records were new and how many were already there."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from shebao.errors import ValidationFailed
from shebao.partners.api import TerminalAuth
from shebao.partners.domain.scopes import PartnerService
from shebao.partners.models import Terminal
from shebao.partners.services.identity import TerminalCaller, require_service
from shebao.usage.choices import UploadChannel
from shebao.usage.domain.records import parse_rows
from shebao.usage.services import UploadOutcome, usage_upload, usage_upload_text

router = Router(auth=TerminalAuth(), tags=["用卡记录上传（合作机构终端）"])

_MAX_BODY = 20 * 1024 * 1024


class UsageIn(Schema):
    sequence: int
    occurred_at: datetime
    service: str
    card_form: str
    card_number: str = ""
    result: str = "ok"
    reason: str = ""


class UploadOut(Schema):
    upload_id: int
    received: int
    added: int
    already: int
    unknown_cards: int
    message: str


def _caller_terminal(request: HttpRequest) -> tuple[TerminalCaller, Terminal]:
    caller: TerminalCaller = request.auth  # type: ignore[attr-defined]
    require_service(caller, PartnerService.UPLOAD_USAGE)
    return caller, Terminal.objects.get(pk=caller.terminal_id)


def _out(outcome: UploadOutcome) -> dict[str, Any]:
    return {
        "upload_id": outcome.upload_id,
        "received": outcome.received,
        "added": outcome.added,
        "already": outcome.already,
        "unknown_cards": outcome.unknown_cards,
        "message": outcome.message,
    }


@router.post("/records", response=UploadOut, summary="上传一条用卡记录")
def record(request: HttpRequest, payload: UsageIn) -> dict[str, Any]:
    caller, terminal = _caller_terminal(request)
    data = payload.dict()
    data["occurred_at"] = payload.occurred_at.isoformat()
    rows = parse_rows([(1, data)], now=timezone.now())
    return _out(
        usage_upload(
            actor=caller.service_user, terminal=terminal, rows=rows, channel=UploadChannel.API
        )
    )


@router.post(
    "/batch",
    response=UploadOut,
    summary="批量上传用卡记录（JSON Lines 或 CSV，按终端流水号去重）",
    description=(
        "请求体为 JSON Lines（每行一个对象，Content-Type: application/x-ndjson）或带表头的 CSV"
        "（Content-Type: text/csv）；也可用查询参数 format=jsonl|csv 指定。"
        "任何一行有误则整批不导入，错误的 details 列出行号、字段和原因。"
    ),
)
def batch(request: HttpRequest, format: str = "") -> dict[str, Any]:
    caller, terminal = _caller_terminal(request)
    if len(request.body) > _MAX_BODY:
        raise ValidationFailed("请求体超过 20MB，请分批上传", code="USAGE_TOO_LARGE")
    content_type = request.content_type or ""
    fmt = format or ("csv" if "csv" in content_type else "jsonl")
    try:
        text = request.body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("请求体应为 UTF-8 编码", code="USAGE_BAD_ENCODING") from None
    return _out(
        usage_upload_text(
            actor=caller.service_user,
            terminal=terminal,
            text=text,
            fmt=fmt,
            channel=UploadChannel.API,
        )
    )
