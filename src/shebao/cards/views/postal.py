"""邮寄到家 (cards/postal/): the card centre's page for cards of online applications with
postal delivery — the cards made and waiting to be mailed, the mailing form (card number,
tracking number, date), the mailings with their masked addresses, and recording receipt or a
returned letter with the post's reason.

Full addresses are shown only after the clerk gives a purpose (audited, for ten minutes); the
mailing labels (printed) and the mailing list (XLSX) carry them and are audited as exports
with their purpose. Views parse the request, call a service and render."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final

import polars as pl
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from shebao.accounts.choices import Purpose
from shebao.accounts.models import User
from shebao.cards.domain.progress import mask_address
from shebao.cards.domain.xlsx import Sheet
from shebao.cards.models import PostalDispatchStatus
from shebao.cards.models.postal import PostalReturnReason
from shebao.cards.services.postal import (
    postal_addresses_reveal,
    postal_cards_ready,
    postal_delivery_confirm,
    postal_dispatch_record,
    postal_dispatch_return,
    postal_dispatches,
    postal_mailing_list,
)
from shebao.cards.views.downloads import xlsx_attachment
from shebao.errors import PermissionDenied, ShebaoError
from shebao.identity.masking import mask_id_number, mask_name, mask_phone
from shebao.pages import breadcrumbs, error_page

PAGE_SIZE: Final[int] = 50
READY_SHOWN: Final[int] = 200
REVEAL_SESSION_KEY: Final[str] = "cards_postal_reveal"
REVEAL_TTL: Final[timedelta] = timedelta(minutes=10)


def _actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    return user


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _revealed(request: HttpRequest) -> bool:
    until = request.session.get(REVEAL_SESSION_KEY, 0)
    return isinstance(until, (int, float)) and until > timezone.now().timestamp()


def _post(request: HttpRequest, actor: User) -> str:
    action = request.POST.get("action", "")
    card_id = request.POST.get("card", "")
    if action == "mail":
        dispatch = postal_dispatch_record(
            actor=actor,
            card_number=request.POST.get("card_number", ""),
            tracking_number=request.POST.get("tracking_number", ""),
            mailed_on=_date(request.POST.get("mailed_on", "")),
        )
        return (
            f"已登记邮寄，卡号 {dispatch.card.card_number}，邮件单号 {dispatch.tracking_number}。"
        )
    if action == "delivered" and card_id.isdigit():
        postal_delivery_confirm(actor=actor, card_id=int(card_id))
        return "已登记签收，卡片已发放。"
    if action == "returned" and card_id.isdigit():
        dispatch = postal_dispatch_return(
            actor=actor,
            card_id=int(card_id),
            reason=request.POST.get("reason", ""),
            note=request.POST.get("note", ""),
        )
        return (
            f"已登记邮件退回（{dispatch.get_return_reason_display()}），"
            "卡片回到本中心（已制卡），核实地址后可重新邮寄。"
        )
    if action == "reveal":
        ready = list(postal_cards_ready(actor).values_list("pk", flat=True)[:READY_SHOWN])
        sent = list(postal_dispatches(actor).values_list("card_id", flat=True)[:PAGE_SIZE])
        postal_addresses_reveal(
            actor=actor,
            card_ids=ready + sent,
            purpose=request.POST.get("purpose", ""),
            purpose_note=request.POST.get("purpose_note", ""),
        )
        request.session[REVEAL_SESSION_KEY] = (timezone.now() + REVEAL_TTL).timestamp()
        return "已显示完整邮寄地址（10 分钟内有效），查看已记入审计日志。"
    if action == "mask":
        request.session.pop(REVEAL_SESSION_KEY, None)
        return "已恢复脱敏显示。"
    raise ShebaoError(code="ACTION_UNKNOWN", message="未知的操作")


@login_required
@require_http_methods(["GET", "POST"])
def postal(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    error = ""
    try:
        if request.method == "POST":
            messages.success(request, _post(request, actor))
            return redirect(reverse("cards:postal"))
    except ShebaoError as exc:
        if exc.status == 403:
            return render(request, "403.html", {"message": exc.message}, status=403)
        error = exc.message
    try:
        ready = postal_cards_ready(actor)
        sent = postal_dispatches(actor)
    except PermissionDenied as exc:
        return render(request, "403.html", {"message": exc.message}, status=403)
    full = _revealed(request)
    ready_rows: list[dict[str, Any]] = [
        {
            "card_number": card.card_number,
            "name": mask_name(card.person.name),
            "id_number": mask_id_number(card.person.id_number),
            "address": card.application.postal_address
            if full
            else mask_address(card.application.postal_address),
        }
        for card in ready[:READY_SHOWN]
    ]
    page = Paginator(sent, PAGE_SIZE).get_page(request.GET.get("page"))
    sent_rows = [
        {
            "card_id": d.card_id,
            "card_number": d.card.card_number,
            "name": mask_name(d.card.person.name),
            "tracking_number": d.tracking_number,
            "mailed_on": d.mailed_on,
            "address": d.address if full else mask_address(d.address),
            "phone": d.phone if full else mask_phone(d.phone),
            "status": d.get_status_display(),
            "open": d.status == PostalDispatchStatus.MAILED,
            "delivered_on": d.delivered_on,
            "returned": d.status == PostalDispatchStatus.RETURNED,
            "return_reason": d.get_return_reason_display() if d.return_reason else "",
            "note": d.note,
        }
        for d in page
    ]
    return render(
        request,
        "cards/postal/postal.html",
        {
            "breadcrumbs": breadcrumbs(("邮寄到家", "")),
            "ready": ready_rows,
            "ready_total": ready.count(),
            "sent": sent_rows,
            "page": page,
            "error": error,
            "full": full,
            "purposes": Purpose.choices,
            "return_reasons": PostalReturnReason.choices,
        },
        status=400 if error else 200,
    )


def _mailing_list(request: HttpRequest, export: str) -> tuple[User, list[Any]] | HttpResponse:
    actor = _actor(request)
    try:
        labels = postal_mailing_list(
            actor=actor,
            purpose=request.GET.get("purpose", ""),
            purpose_note=request.GET.get("purpose_note", ""),
            export=export,
        )
    except ShebaoError as exc:
        return error_page(request, exc)
    return actor, labels


@login_required
@require_http_methods(["GET"])
def postal_labels(request: HttpRequest) -> HttpResponse:
    """Printable mailing labels (full name, phone, address) of the cards waiting to be
    mailed."""
    result = _mailing_list(request, "labels")
    if isinstance(result, HttpResponse):
        return result
    _, labels = result
    return render(
        request,
        "cards/postal/labels.html",
        {
            "breadcrumbs": breadcrumbs(("邮寄到家", reverse("cards:postal")), ("邮寄标签", "")),
            "labels": labels,
            "today": timezone.localdate(),
        },
    )


@login_required
@require_http_methods(["GET"])
def postal_export(request: HttpRequest) -> HttpResponse:
    """The mailing list as a spreadsheet for the post office (audited as an export)."""
    result = _mailing_list(request, "xlsx")
    if isinstance(result, HttpResponse):
        return result
    _, labels = result
    frame = pl.DataFrame(
        {
            "序号": list(range(1, len(labels) + 1)),
            "卡号": [x.card_number for x in labels],
            "收件人": [x.name for x in labels],
            "联系电话": [x.phone for x in labels],
            "邮寄地址": [x.address for x in labels],
            "邮件单号": [x.tracking_number for x in labels],
        },
        schema={
            "序号": pl.Int64,
            "卡号": pl.String,
            "收件人": pl.String,
            "联系电话": pl.String,
            "邮寄地址": pl.String,
            "邮件单号": pl.String,
        },
    )
    stamp = timezone.localdate().strftime("%Y%m%d")
    return xlsx_attachment(
        [Sheet("邮寄清单", frame, widths=(6, 12, 10, 14, 48, 20))], f"社保卡邮寄清单-{stamp}.xlsx"
    )


urlpatterns = [
    path("postal/", postal, name="postal"),
    path("postal/labels/", postal_labels, name="postal_labels"),
    path("postal/export/", postal_export, name="postal_export"),
]
