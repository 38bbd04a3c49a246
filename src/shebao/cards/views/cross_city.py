"""异地通办 at the counter: a holder of another city's card in the province, present with the
card and the ID card, served at this counter (issue #11 §6).

The rules, checks and audit are `cards.services.cross_city`; this page only collects the card
number and the ID number, shows the masked holder, card status and home city, and offers the
services allowed across cities. The numbers are kept in the (server-side) session, never in the
URL or the page, and every business re-checks both through the service."""

from __future__ import annotations

from typing import Any, Final

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from shebao.accounts.models import User
from shebao.cards.domain.lifecycle import CardStatus, allowed_events
from shebao.cards.models import Card
from shebao.cards.services.card_life import COUNTER_ROLES
from shebao.cards.services.cross_city import (
    CROSS_CITY_EVENTS,
    card_cross_city_find,
    card_cross_city_service,
)
from shebao.errors import PermissionDenied, ShebaoError
from shebao.geo.models import Region
from shebao.identity.masking import mask_id_number, mask_name
from shebao.pages import breadcrumbs as _crumbs
from shebao.pages import error_page as _error_page

CROSS_CITY_SESSION_KEY: Final = "cards_cross_city"

# What the clerk is told about the services that stay with the home city, and why.
NOT_CROSS_CITY: Final[tuple[tuple[str, str], ...]] = (
    ("注销", "注销会关闭持卡人在发卡地的记录，须到发卡地办理。"),
    ("补领、换领", "新卡由发卡地制作、收取工本费并发放，须到发卡地办理。"),
    ("激活", "激活须在该卡的合作银行开立账户，须到发卡地合作银行网点办理。"),
    ("按姓名或身份证号码查找", "异地办理须持卡人本人持卡到场，同时录入卡号和身份证号码。"),
)


def _actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    return user


def home_city_name(card: Card) -> str:
    """The full name of the card's home (issuing region, or the holder's household region)."""
    code = card.issuing_region_id or card.person.hukou_region_id or ""
    region = Region.objects.filter(code=code).first() if code else None
    return region.full_name if region else code


def _card_context(card: Card) -> dict[str, Any]:
    allowed = set(allowed_events(CardStatus(card.status)))
    return {
        "card": card,
        "holder_name": mask_name(card.person.name),
        "holder_id_number": mask_id_number(card.person.id_number),
        "status": CardStatus(card.status).label,
        "home": home_city_name(card),
        "actions": [
            {"code": code, "label": event.label}
            for code, event in CROSS_CITY_EVENTS.items()
            if event in allowed
        ],
    }


@login_required
@require_http_methods(["GET", "POST"])
def cross_city_counter(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    if not (actor.is_superuser or actor.has_role(*COUNTER_ROLES)):
        return _error_page(
            request, PermissionDenied("您的角色不能办理该项卡片业务", code="CARD_SERVICE_FORBIDDEN")
        )
    error: ShebaoError | None = None
    kept: dict[str, Any] | None = request.session.get(CROSS_CITY_SESSION_KEY)
    if request.method == "POST":
        if "clear" in request.POST:
            request.session.pop(CROSS_CITY_SESSION_KEY, None)
            return redirect("cards:cross_city")
        if "lookup" in request.POST:
            request.session.pop(CROSS_CITY_SESSION_KEY, None)
            number = request.POST.get("card_number", "")
            id_number = request.POST.get("holder_id_number", "")
            try:
                card = card_cross_city_find(
                    actor=actor, card_number=number, holder_id_number=id_number
                )
            except ShebaoError as exc:
                messages.error(request, exc.message)
            else:
                request.session[CROSS_CITY_SESSION_KEY] = {
                    "card_id": card.pk,
                    "card_number": card.card_number,
                    "id_number": card.person.id_number,
                }
            return redirect("cards:cross_city")
        if kept is None:
            return redirect("cards:cross_city")
        try:
            card = card_cross_city_service(
                actor=actor,
                card_number=kept["card_number"],
                holder_id_number=kept["id_number"],
                action=request.POST.get("action", ""),
                note=request.POST.get("note", ""),
            )
        except ShebaoError as exc:
            error = exc
        else:
            messages.success(
                request, f"已办理（异地通办），卡状态：{CardStatus(card.status).label}"
            )
            return redirect("cards:cross_city")
    context: dict[str, Any] = {
        "breadcrumbs": _crumbs(("异地通办", "")),
        "error": error,
        "not_cross_city": NOT_CROSS_CITY,
    }
    if kept is not None:
        # Only a card this clerk found with both numbers (the service checked scope and audited).
        shown = Card.objects.select_related("person").filter(pk=kept["card_id"]).first()
        if shown is not None:
            context.update(_card_context(shown))
    return render(request, "cards/cross_city/counter.html", context)


urlpatterns: list[URLPattern] = [
    path("counter/cross-city/", cross_city_counter, name="cross_city"),
]
