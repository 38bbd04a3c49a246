"""上门服务 pages: the public booking form (holder or relative; phone verified by an SMS code,
two steps on one page) and the clerks' list where an appointment is taken, visited or
cancelled. Views parse the request, call a service and render."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import User
from shebao.cards.domain.home_service import KIND_LABELS, REASON_LABELS, STATUS_LABELS
from shebao.cards.services.home_service import (
    BookingInput,
    home_service_assign,
    home_service_book,
    home_service_cancel,
    home_service_request_code,
    home_service_visible,
    home_service_visit,
)
from shebao.errors import PermissionDenied, ShebaoError
from shebao.identity.masking import mask_id_number, mask_name, mask_phone
from shebao.pages import breadcrumbs, error_page, paginate

_FIELDS = (
    "id_number",
    "name",
    "booker_name",
    "booker_relation",
    "phone",
    "address",
    "kind",
    "reason",
    "preferred_date",
    "note",
)
_CODE_KEY = "home_service_code_id"


def _preferred(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return date.min


@require_http_methods(["GET", "POST"])
def home_service_book_view(request: HttpRequest) -> HttpResponse:
    form = {f: request.POST.get(f, "").strip() for f in _FIELDS}
    context: dict[str, Any] = {
        "breadcrumbs": breadcrumbs(("预约上门服务", "")),
        "form": form,
        "kinds": list(KIND_LABELS.items()),
        "reasons": list(REASON_LABELS.items()),
        "code_sent": bool(request.session.get(_CODE_KEY)),
    }
    if request.method == "POST":
        try:
            if request.POST.get("action") == "send_code":
                issued = home_service_request_code(
                    phone=form["phone"], client=request.META.get("REMOTE_ADDR", "")
                )
                request.session[_CODE_KEY] = issued.code_id
                context["code_sent"] = True
                context["notice"] = "验证码已发送到该手机，请在下方填写。"
            else:
                code_id = request.session.get(_CODE_KEY)
                if not isinstance(code_id, int):
                    raise ShebaoError(code="OTP_REQUIRED", message="请先获取短信验证码")
                appointment = home_service_book(
                    data=BookingInput(
                        **{k: v for k, v in form.items() if k != "preferred_date"},
                        preferred_date=_preferred(form["preferred_date"]),
                    ),
                    code_id=code_id,
                    code=request.POST.get("code", ""),
                )
                request.session.pop(_CODE_KEY, None)
                context.update(booked=appointment, form={})
        except ShebaoError as exc:
            context["error"] = exc.message
    return render(request, "cards/home_service/book.html", context)


def _clerk(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    return user


@login_required
@require_http_methods(["GET", "POST"])
def home_service_work_view(request: HttpRequest) -> HttpResponse:
    try:
        actor = _clerk(request)
        if request.method == "POST":
            target = int(request.POST.get("appointment", "0") or 0)
            action = request.POST.get("action", "")
            try:
                if action == "take":
                    done = home_service_assign(actor=actor, appointment_id=target)
                    messages.success(request, f"预约 {done.reference} 已派给您上门办理。")
                elif action == "visit":
                    done = home_service_visit(
                        actor=actor, appointment_id=target, outcome=request.POST.get("outcome", "")
                    )
                    messages.success(request, f"预约 {done.reference} 已登记上门办结。")
                elif action == "cancel":
                    done = home_service_cancel(
                        actor=actor, appointment_id=target, reason=request.POST.get("reason", "")
                    )
                    messages.success(request, f"预约 {done.reference} 已取消。")
            except ShebaoError as exc:
                if exc.status == 403 and exc.code == "HOME_SERVICE_FORBIDDEN":
                    raise
                messages.error(request, exc.message)
            return redirect(request.get_full_path())
        status = request.GET.get("status", "")
        status = status if status in {s.value for s in STATUS_LABELS} else ""
        page = paginate(request, home_service_visible(actor=actor, status=status))
    except ShebaoError as exc:
        return error_page(request, exc)
    rows = [
        {
            "a": a,
            "name": mask_name(a.person.name),
            "id_number": mask_id_number(a.person.id_number),
            # The visiting clerk needs the phone and address; others see them masked.
            "phone": a.phone if a.assigned_to_id == actor.pk else mask_phone(a.phone),
            "address": a.address if a.assigned_to_id == actor.pk else a.address[:6] + "……",
            "kind": KIND_LABELS.get(a.kind, a.kind),
            "reason": REASON_LABELS.get(a.reason, a.reason),
            "status": STATUS_LABELS.get(a.status, a.status),
            "mine": a.assigned_to_id == actor.pk,
        }
        for a in page.object_list
    ]
    shown = [r["a"] for r in rows if r["mine"]]
    if shown:
        with transaction.atomic():
            for a in shown:
                audit_record(
                    actor=actor,
                    action=AuditAction.VIEW_PERSON,
                    target_type="home_service",
                    target_id=a.pk,
                    person_id=a.person_id,
                    purpose=Purpose.CARD_SERVICE.value,
                    detail={"reference": a.reference, "contact": True},
                )
    return render(
        request,
        "cards/home_service/work.html",
        {
            "breadcrumbs": breadcrumbs(("上门服务", "")),
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": [(s.value, label) for s, label in STATUS_LABELS.items()],
        },
    )


urlpatterns: list[URLPattern] = [
    path("home-service/", home_service_book_view, name="home_service_book"),
    path("home-service/work/", home_service_work_view, name="home_service_work"),
]
