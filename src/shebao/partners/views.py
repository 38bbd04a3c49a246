"""Pages of the partners app: the card centre's partner registry, the partner operator's
own partner, the public application directory and the government service window. Thin:
the services and selectors decide, these pages only parse forms and show results."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from shebao.accounts.choices import Purpose
from shebao.accounts.decorators import staff_required
from shebao.accounts.models import User
from shebao.cards.selectors.person import person_cards
from shebao.errors import PermissionDenied, ShebaoError, ValidationFailed
from shebao.geo.models import Region
from shebao.partners import selectors
from shebao.partners.choices import (
    CardFunction,
    PartnerField,
    PartnerStatus,
    ServicePointKind,
)
from shebao.partners.domain.scopes import FIELD_LABELS, SERVICE_LABELS
from shebao.partners.services import registry as partner_services
from shebao.partners.services.identity import caller_cache_clear
from shebao.partners.services.window import window_find_person
from shebao.registry.selectors import person_detail


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _require_card_centre_view(user: User) -> None:
    if not selectors.can_manage_partners(user):
        raise PermissionDenied("只有社保卡管理中心可以管理合作机构", code="CARD_CENTRE_ONLY")


def _region(code: str) -> Region:
    region = Region.objects.filter(code=code.strip()).first()
    if region is None:
        raise ValidationFailed("请选择有效的行政区划", code="REGION_INVALID")
    return region


def _regions_for(user: User) -> list[Region]:
    """The regions a card-centre user registers partners and service points in: its own
    organisation's region and the counties below it (the whole country for an admin)."""
    qs = Region.objects.filter(level__lte=3)
    org = user.organisation
    if org is not None:
        qs = qs.filter(code__startswith=org.region.prefix)
    return list(qs.order_by("code")[:300])


def _denied(request: HttpRequest, exc: ShebaoError) -> HttpResponse:
    return render(request, "partners/denied.html", {"message": exc.message}, status=exc.status)


@login_required
@require_http_methods(["GET", "POST"])
def partner_list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        _require_card_centre_view(user)
    except ShebaoError as exc:
        return _denied(request, exc)
    if request.method == "POST":
        try:
            partner = partner_services.partner_register(
                actor=user,
                name=request.POST.get("name", ""),
                field=request.POST.get("field", ""),
                region=_region(request.POST.get("region", "")),
                code=request.POST.get("code", ""),
                contact_name=request.POST.get("contact_name", ""),
                contact_phone=request.POST.get("contact_phone", ""),
            )
        except ShebaoError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"已登记合作机构申请：{partner}")
            return redirect("partners:detail", pk=partner.pk)
    query = request.GET.get("q", "")
    status = request.GET.get("status", "")
    field = request.GET.get("field", "")
    page = Paginator(
        selectors.partners_list(actor=user, query=query, status=status, field=field), 25
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "partners/list.html",
        {
            "page": page,
            "query": query,
            "status": status,
            "field": field,
            "statuses": PartnerStatus.choices,
            "fields": PartnerField.choices,
            "regions": _regions_for(user),
        },
    )


def _detail_context(user: User, pk: int) -> dict[str, Any]:
    partner = selectors.partner_get(actor=user, partner_id=pk)
    return {
        "partner": partner,
        "points": selectors.partner_service_points(partner_id=partner.pk),
        "terminals": selectors.partner_terminals(partner_id=partner.pk),
        "calls": selectors.partner_calls(partner_id=partner.pk, limit=50),
        "directory": selectors.directory_of_partner(partner_id=partner.pk),
        "field_choices": [(k, v, k in partner.granted_fields) for k, v in FIELD_LABELS.items()],
        "service_choices": [
            (k, v, k in partner.granted_services) for k, v in SERVICE_LABELS.items()
        ],
        "point_kinds": ServicePointKind.choices,
        "fields_all": PartnerField.choices,
        "card_functions": CardFunction.choices,
        "regions": _regions_for(user),
        "can_manage": selectors.can_change_partners(user),
    }


@login_required
def partner_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    try:
        _require_card_centre_view(user)
        context = _detail_context(user, pk)
    except ShebaoError as exc:
        return _denied(request, exc)
    return render(request, "partners/detail.html", context)


@login_required
@require_POST
def partner_action_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")
    try:
        if action == "approve":
            partner_services.partner_approve(actor=user, partner_id=pk, reason=reason)
        elif action == "suspend":
            partner_services.partner_suspend(actor=user, partner_id=pk, reason=reason)
        elif action == "resume":
            partner_services.partner_resume(actor=user, partner_id=pk, reason=reason)
        elif action == "end":
            partner_services.partner_end(actor=user, partner_id=pk, reason=reason)
        elif action == "rate_limit":
            partner_services.partner_set_rate_limit(
                actor=user, partner_id=pk, per_minute=int(request.POST.get("per_minute") or 0)
            )
        elif action == "webhook":
            _, secret = partner_services.partner_set_webhook(
                actor=user, partner_id=pk, url=request.POST.get("url", "")
            )
            caller_cache_clear()
            context = _detail_context(user, pk)
            context["webhook_secret"] = secret
            return render(request, "partners/detail.html", context)
        elif action == "directory":
            partner_services.directory_service_create(
                actor=user,
                partner_id=pk,
                name=request.POST.get("name", ""),
                field=request.POST.get("field", ""),
                card_functions=request.POST.getlist("card_functions"),
                regions=[_region(c) for c in request.POST.getlist("regions")],
                since=date.fromisoformat(
                    request.POST.get("since") or timezone.localdate().isoformat()
                ),
            )
        else:
            raise ValidationFailed("未知的操作", code="ACTION_UNKNOWN")
    except ShebaoError as exc:
        messages.error(request, exc.message)
    except ValueError:
        messages.error(request, "请输入有效的数字或日期")
    else:
        caller_cache_clear()
        messages.success(request, "已保存")
    return redirect("partners:detail", pk=pk)


@login_required
@require_POST
def partner_scopes_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        partner_services.partner_set_scopes(
            actor=_user(request),
            partner_id=pk,
            fields=request.POST.getlist("fields"),
            services=request.POST.getlist("services"),
        )
    except ShebaoError as exc:
        messages.error(request, exc.message)
    else:
        caller_cache_clear()
        messages.success(request, "授权范围已更新")
    return redirect("partners:detail", pk=pk)


@login_required
@require_POST
def service_point_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        partner_services.service_point_create(
            actor=_user(request),
            partner_id=pk,
            name=request.POST.get("name", ""),
            region=_region(request.POST.get("region", "")),
            kind=request.POST.get("kind", ""),
            address=request.POST.get("address", ""),
        )
    except ShebaoError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已添加服务网点")
    return redirect("partners:detail", pk=pk)


def _show_credential(
    request: HttpRequest, pk: int, credential: partner_services.TerminalCredential
) -> HttpResponse:
    # The secret is the answer to this POST only: it is not stored in plain text anywhere,
    # and a reload shows the page without it.
    context = _detail_context(_user(request), pk)
    context["credential"] = credential
    return render(request, "partners/detail.html", context)


@login_required
@require_POST
def terminal_issue_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    try:
        point_id = int(request.POST.get("service_point") or 0)
        if not selectors.partner_service_points(partner_id=pk).filter(pk=point_id).exists():
            raise ValidationFailed("请选择本机构的服务网点", code="SERVICE_POINT_INVALID")
        credential = partner_services.terminal_issue(
            actor=user,
            service_point_id=point_id,
            code=request.POST.get("code", ""),
            name=request.POST.get("name", ""),
        )
    except ShebaoError as exc:
        messages.error(request, exc.message)
        return redirect("partners:detail", pk=pk)
    except ValueError:
        messages.error(request, "请选择服务网点")
        return redirect("partners:detail", pk=pk)
    return _show_credential(request, pk, credential)


@login_required
@require_POST
def terminal_rotate_view(request: HttpRequest, terminal_pk: int) -> HttpResponse:
    user = _user(request)
    try:
        credential = partner_services.terminal_rotate_secret(actor=user, terminal_id=terminal_pk)
    except ShebaoError as exc:
        messages.error(request, exc.message)
        return redirect("partners:list")
    caller_cache_clear()
    return _show_credential(request, credential.terminal.service_point.partner_id, credential)


@login_required
def my_partner_view(request: HttpRequest) -> HttpResponse:
    """A partner operator's own partner: service points, terminals, calls, directory."""
    user = _user(request)
    try:
        partner = selectors.partner_for_operator(actor=user)
        context = _detail_context(user, partner.pk)
    except ShebaoError as exc:
        return _denied(request, exc)
    return render(request, "partners/mine.html", context)


def directory_view(request: HttpRequest) -> HttpResponse:
    """The public application directory (no sign-in): where the card is accepted."""
    field = request.GET.get("field", "")
    region = request.GET.get("region", "")
    entries = selectors.directory_entries(field=field or None, region=region or None)
    return render(
        request,
        "partners/directory.html",
        {
            "entries": entries,
            "field": field,
            "region": region,
            "fields": PartnerField.choices,
            "regions": selectors.directory_regions(),
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def window_view(request: HttpRequest) -> HttpResponse:
    """政务服务窗口: card number or QR text → the person's record, audited as 办事."""
    user = _user(request)
    context: dict[str, Any] = {}
    if request.method == "POST":
        try:
            person_id = window_find_person(
                actor=user,
                card_number=request.POST.get("card_number", ""),
                qr_text=request.POST.get("qr_text", ""),
            )
            context["person"] = person_detail(
                actor=user, person_id=person_id, purpose=Purpose.SERVICE_WINDOW
            )
            context["cards"] = person_cards(person_id=person_id).cards
        except ShebaoError as exc:
            context["error"] = exc.message
    return render(request, "partners/window.html", context)
