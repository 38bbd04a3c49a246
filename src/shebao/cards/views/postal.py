"""邮寄到家 (cards/postal/): the card centre's page for cards of online applications with
postal delivery — the cards made and waiting to be mailed, the mailing form (card number,
tracking number, date), the mailings with their masked addresses, and recording receipt or a
returned letter. Views parse the request, call a service and render."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from shebao.accounts.models import User
from shebao.cards.domain.progress import mask_address
from shebao.cards.models import PostalDispatchStatus
from shebao.cards.services.postal import (
    postal_cards_ready,
    postal_delivery_confirm,
    postal_dispatch_record,
    postal_dispatch_return,
    postal_dispatches,
)
from shebao.errors import PermissionDenied, ShebaoError
from shebao.identity.masking import mask_id_number, mask_name, mask_phone

PAGE_SIZE: Final[int] = 50


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
        postal_dispatch_return(actor=actor, card_id=int(card_id), note=request.POST.get("note", ""))
        return "已登记邮件退回，卡片回到本中心（已制卡），可重新邮寄。"
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
    ready_rows: list[dict[str, Any]] = [
        {
            "card_number": card.card_number,
            "name": mask_name(card.person.name),
            "id_number": mask_id_number(card.person.id_number),
            "address": mask_address(card.application.postal_address),
        }
        for card in ready[:200]
    ]
    page = Paginator(sent, PAGE_SIZE).get_page(request.GET.get("page"))
    sent_rows = [
        {
            "card_id": d.card_id,
            "card_number": d.card.card_number,
            "name": mask_name(d.card.person.name),
            "tracking_number": d.tracking_number,
            "mailed_on": d.mailed_on,
            "address": mask_address(d.address),
            "phone": mask_phone(d.phone),
            "status": d.get_status_display(),
            "open": d.status == PostalDispatchStatus.MAILED,
            "delivered_on": d.delivered_on,
        }
        for d in page
    ]
    return render(
        request,
        "cards/postal/postal.html",
        {
            "breadcrumbs": [
                {"label": "首页", "url": reverse("web:home")},
                {"label": "邮寄到家", "url": ""},
            ],
            "ready": ready_rows,
            "ready_total": ready.count(),
            "sent": sent_rows,
            "page": page,
            "error": error,
        },
        status=400 if error else 200,
    )


urlpatterns = [path("postal/", postal, name="postal")]
