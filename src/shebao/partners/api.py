"""The partners' API (`/api/v1/partners/…`), for partner terminals: authenticated by the
terminal's OAuth2 access token (client-credentials grant at `/partners/oauth/token/`), and
the public application directory."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.security import HttpBearer

from shebao.errors import NotFound
from shebao.partners import selectors
from shebao.partners.services.changes import changes_feed
from shebao.partners.services.identity import (
    TerminalCaller,
    VerifyMethod,
    identity_verify,
    qr_redeem_for_terminal,
    terminal_authenticate,
    verification_body,
)


class TerminalAuth(HttpBearer):
    """A partner terminal's OAuth2 access token (django-oauth-toolkit, client credentials)."""

    def authenticate(self, request: HttpRequest, token: str) -> TerminalCaller | None:
        caller = terminal_authenticate(token.strip())
        if caller is not None:
            request.user = caller.service_user
        return caller


router = Router(auth=TerminalAuth(), tags=["合作机构身份服务"])


def _caller(request: HttpRequest) -> TerminalCaller:
    caller: TerminalCaller = request.auth  # type: ignore[attr-defined]
    return caller


class VerifyIn(Schema):
    method: VerifyMethod
    name: str | None = None
    card_number: str | None = None
    id_number: str | None = None
    business_token: str | None = None


class VerifyOut(Schema):
    verified: bool
    reason: str = ""
    message: str = ""
    person_ref: str | None = None
    fields: dict[str, Any] = {}


@router.post(
    "/verify", response=VerifyOut, summary="实名核验（卡号+姓名、身份证号+姓名或扫码业务令牌）"
)
def verify(request: HttpRequest, payload: VerifyIn) -> dict[str, Any]:
    result = identity_verify(
        caller=_caller(request),
        method=payload.method,
        name=payload.name,
        card_number=payload.card_number,
        id_number=payload.id_number,
        business_token=payload.business_token,
    )
    # In a served site this route sees only what the lean path (shebao.partners.lean) hands
    # on; it documents the endpoint and answers the Django test client.
    return verification_body(result)


class RedeemIn(Schema):
    text: str


@router.post("/qr/redeem", summary="电子社保卡扫码（兑换动态二维码）")
def qr_redeem(request: HttpRequest, payload: RedeemIn) -> dict[str, Any]:
    return qr_redeem_for_terminal(caller=_caller(request), text=payload.text)


class ChangesQuery(Schema):
    after: int = 0
    limit: int = 100


@router.get("/changes", summary="已核验人员的变更（死亡、姓名、身份证号），按游标拉取")
def changes(request: HttpRequest, query: Query[ChangesQuery]) -> dict[str, Any]:
    return changes_feed(caller=_caller(request), after=query.after, limit=query.limit)


@router.get("/me", summary="本终端及本机构的授权")
def me(request: HttpRequest) -> dict[str, Any]:
    caller = _caller(request)
    return {
        "partner": caller.partner_name,
        "status": caller.partner_status,
        "terminal": caller.terminal_code,
        "fields": list(caller.fields),
        "services": list(caller.services),
        "rate_limit_per_minute": caller.rate_limit_per_minute,
    }


class TerminalOut(Schema):
    code: str
    name: str
    service_point: str
    is_active: bool


@router.get("/terminals", response=list[TerminalOut], summary="本机构的终端")
def terminals(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "code": t.code,
            "name": t.name,
            "service_point": t.service_point.name,
            "is_active": t.is_active,
        }
        for t in selectors.partner_terminals(partner_id=_caller(request).partner_id)
    ]


@router.get("/terminals/{code}", response=TerminalOut, summary="本机构的一个终端")
def terminal(request: HttpRequest, code: str) -> dict[str, Any]:
    found = selectors.partner_terminals(partner_id=_caller(request).partner_id).filter(
        code=code.upper()
    )
    t = found.first()
    if t is None:
        raise NotFound("未找到该终端", code="TERMINAL_NOT_FOUND")
    return {
        "code": t.code,
        "name": t.name,
        "service_point": t.service_point.name,
        "is_active": t.is_active,
    }


class CallOut(Schema):
    at: str
    action: str
    terminal: str
    method: str
    verified: bool | None


@router.get("/calls", response=list[CallOut], summary="本机构最近的调用记录")
def calls(request: HttpRequest, limit: int = 100) -> list[dict[str, Any]]:
    return [
        {
            "at": c.at.isoformat(),
            "action": c.action,
            "terminal": c.terminal,
            "method": c.method,
            "verified": c.verified,
        }
        for c in selectors.partner_calls(partner_id=_caller(request).partner_id, limit=limit)
    ]


class DirectoryOut(Schema):
    name: str
    field: str
    field_label: str
    partner: str
    card_functions: list[str]
    card_function_labels: list[str]
    regions: list[str]
    service_points: list[str]
    since: date
    status: str


class DirectoryQuery(Schema):
    field: str | None = None
    region: str | None = None


@router.get(
    "/directory",
    response=list[DirectoryOut],
    auth=None,
    tags=["应用目录（公开）"],
    summary="应用目录：受理社保卡的服务（公开）",
)
def directory(request: HttpRequest, query: Query[DirectoryQuery]) -> list[dict[str, Any]]:
    return [
        e.as_dict() for e in selectors.directory_entries(field=query.field, region=query.region)
    ]
