"""Pages of card use (/usage/): the card centre's list of records with filters (holders
masked), a partner operator's CSV upload for its terminals, and the public evaluation
metrics (评估指标) of the application directory. Views parse, call a selector or service,
and render."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose, Role
from shebao.accounts.models import User
from shebao.errors import PermissionDenied, ShebaoError, ValidationFailed
from shebao.identity.masking import mask_name
from shebao.pages import breadcrumbs, error_page, paginate
from shebao.partners.models import Terminal
from shebao.usage import selectors
from shebao.usage.choices import UploadChannel
from shebao.usage.domain.records import (
    CARD_FORM_LABELS,
    FIELD_LABELS,
    RESULT_LABELS,
    SERVICE_LABELS,
)
from shebao.usage.services import usage_upload_text

LIST_ROLES: Final[frozenset[str]] = frozenset(
    {Role.CARD_CENTRE_OPERATOR, Role.LEADER_VIEWER, Role.DISTRICT_CLERK, Role.SYSTEM_ADMIN}
)
UPLOAD_ROLES: Final[frozenset[str]] = frozenset({Role.PARTNER_OPERATOR})
MAX_UPLOAD_BYTES: Final[int] = 20 * 1024 * 1024


def _user(request: HttpRequest, roles: frozenset[str]) -> User:
    user = request.user
    if not isinstance(user, User) or not (user.is_superuser or user.has_role(*roles)):
        raise PermissionDenied("无权使用该功能", code="ROLE_DENIED")
    return user


def _month(value: str) -> date | None:
    try:
        return date.fromisoformat(f"{value}-01") if value else None
    except ValueError:
        return None


@login_required
@require_GET
def records_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request, LIST_ROLES)
    except ShebaoError as exc:
        return error_page(request, exc)
    g = request.GET
    filters = {
        "field": g.get("field", "") if g.get("field", "") in FIELD_LABELS else "",
        "service": g.get("service", "") if g.get("service", "") in SERVICE_LABELS else "",
        "result": g.get("result", "") if g.get("result", "") in RESULT_LABELS else "",
        "region_prefix": "".join(ch for ch in g.get("region", "") if ch.isdigit())[:12],
        "card_number": g.get("card_number", "").strip()[:9],
    }
    month = _month(g.get("month", ""))
    records = selectors.usage_list(actor=user, month=month, **filters)
    if filters["card_number"]:
        # Looking up one card's use is looking at a person: audited with its purpose.
        audit_record(
            actor=user,
            action=AuditAction.SEARCH_PERSON,
            target_type="usage_records",
            purpose=Purpose.CARD_USE,
            detail={"card_number": filters["card_number"]},
        )
    page = paginate(request, records)
    rows = [
        {
            "occurred_at": r.occurred_at,
            "partner": r.partner.organisation.name,
            "point": r.service_point.name,
            "region": r.region.name,
            "field": FIELD_LABELS.get(r.field, r.field),
            "service": SERVICE_LABELS.get(r.service, r.service),
            "form": CARD_FORM_LABELS.get(r.card_form, r.card_form),
            "result": RESULT_LABELS.get(r.result, r.result),
            "reason": r.reason,
            "card_number": r.card.card_number if r.card else "",
            "holder": mask_name(r.person.name) if r.person else "",
        }
        for r in page.object_list
    ]
    return render(
        request,
        "usage/records.html",
        {
            "breadcrumbs": breadcrumbs(("用卡记录", "")),
            "page": page,
            "rows": rows,
            "filters": {**filters, "month": g.get("month", "")},
            "fields": list(FIELD_LABELS.items()),
            "services": list(SERVICE_LABELS.items()),
            "results": list(RESULT_LABELS.items()),
        },
    )


def _terminals_of(user: User) -> list[Terminal]:
    if user.organisation_id is None:
        return []
    return list(
        Terminal.objects.filter(
            service_point__partner__organisation_id=user.organisation_id, is_active=True
        )
        .select_related("service_point")
        .order_by("code")
    )


@login_required
@require_http_methods(["GET", "POST"])
def upload_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request, UPLOAD_ROLES)
    except ShebaoError as exc:
        return error_page(request, exc)
    terminals = _terminals_of(user)
    context: dict[str, Any] = {"breadcrumbs": breadcrumbs(("上传用卡记录", ""))}
    if request.method == "POST":
        try:
            chosen = next(
                (t for t in terminals if str(t.pk) == request.POST.get("terminal", "")), None
            )
            if chosen is None:
                raise ValidationFailed("请选择本机构的终端", code="TERMINAL_REQUIRED")
            upload = request.FILES.get("file")
            if upload is None:
                raise ValidationFailed("请选择要上传的 CSV 文件", code="FILE_REQUIRED")
            if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
                raise ValidationFailed("文件超过 20MB，请分批上传", code="FILE_TOO_LARGE")
            raw = upload.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("gb18030", errors="strict")
            context["outcome"] = usage_upload_text(
                actor=user,
                terminal=chosen,
                text=text,
                fmt="csv",
                channel=UploadChannel.PAGE,
                file_name=upload.name or "",
            )
        except UnicodeDecodeError:
            context["error"] = "文件编码无法识别，请保存为 UTF-8 编码的 CSV"
        except ShebaoError as exc:
            context["error"] = exc.message
            context["details"] = [d.get("message", "") for d in exc.details]
    partner_ids = {t.service_point.partner_id for t in terminals}
    context.update(
        terminals=terminals,
        uploads=[
            u for pid in sorted(partner_ids) for u in selectors.usage_uploads_of(partner_id=pid)
        ],
        services=list(SERVICE_LABELS.items()),
    )
    return render(request, "usage/upload.html", context)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Public: aggregate figures only, no person appears."""
    region = "".join(ch for ch in request.GET.get("region", "") if ch.isdigit())[:6]
    today = timezone.localdate()
    since = date(today.year - 1, today.month, 1)
    months = selectors.usage_by_month(region_prefix=region, since=since)
    return render(
        request,
        "usage/metrics.html",
        {
            "breadcrumbs": breadcrumbs(("用卡评估指标", "")),
            "points": selectors.service_points_per_region(region_prefix=region),
            "months": months,
            "shares": selectors.holders_share_by_field(
                region_prefix=region, since=since, until=None
            ),
            "since": since,
        },
    )
