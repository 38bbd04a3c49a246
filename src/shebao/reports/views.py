"""Pages of progress reporting: the monthly bulletin, the leader's dashboard (with its JSON
and XLSX) and the work plan. Views parse the request, check who may see which region, and
hand over to selectors and services; the arithmetic lives in `domain`."""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shebao.accounts.choices import Role
from shebao.accounts.decorators import staff_required
from shebao.accounts.models import User
from shebao.accounts.scoping import Scope
from shebao.cards.services.banking import account_opening_stats
from shebao.errors import NotFound, PermissionDenied, ShebaoError, ValidationFailed
from shebao.geo.codes import is_region_code
from shebao.geo.models import Region
from shebao.geo.selectors import region_ancestors
from shebao.pages import breadcrumbs as _crumbs
from shebao.pages import error_page as _error_page
from shebao.payments.selectors import paid_into_cards_panel
from shebao.registration.roles import COVERAGE_ROLES
from shebao.reports.choices import BulletinFormat, WorkPlanStatus
from shebao.reports.documents import PdfUnsupported
from shebao.reports.domain.bulletin import compute_bulletin
from shebao.reports.domain.dashboard import METRIC_UNITS, Dashboard
from shebao.reports.domain.document import bulletin_document, format_cell
from shebao.reports.domain.metrics import Metric
from shebao.reports.domain.numbers import wan_text
from shebao.reports.domain.regions import area_word
from shebao.reports.domain.work_plan import GROUP_LABELS, due_text_of
from shebao.reports.exports import dashboard_xlsx, work_plan_xlsx
from shebao.reports.models import Bulletin, WorkPlanItem
from shebao.reports.selectors import (
    RegionOption,
    bulletin_figures,
    bulletin_latest,
    bulletins_for,
    dashboard_data,
    figure_sources,
    month_has_figures,
    periods_with_data,
    report_region_options,
    target_lines,
    work_plan_can_manage,
    work_plan_items_visible,
    work_plan_sees_whole,
    work_plans_visible,
)
from shebao.reports.services import (
    TargetsNeedConfirmation,
    TargetsRejected,
    WorkPlanRejected,
    bulletin_can_correct,
    bulletin_correct,
    bulletin_issuer,
    bulletin_publish,
    bulletin_render_stored,
    report_access_denied,
    snapshot_digest,
    targets_can_manage,
    targets_save,
    work_plan_import,
    work_plan_item_transition,
)
from shebao.usage.selectors import usage_summary

REPORT_ROLES: Final[frozenset[str]] = frozenset(
    {Role.LEADER_VIEWER, Role.CARD_CENTRE_OPERATOR, Role.DISTRICT_CLERK, Role.SYSTEM_ADMIN}
)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_DOWNLOAD_FORMATS: Final[tuple[BulletinFormat, ...]] = (
    BulletinFormat.XLSX,
    BulletinFormat.DOCX,
    BulletinFormat.PDF,
)
_CONTENT_TYPES: Final[dict[str, str]] = {
    BulletinFormat.TEXT: "text/plain; charset=utf-8",
    BulletinFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    BulletinFormat.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    BulletinFormat.PDF: "application/pdf",
}
_SUFFIX: Final[dict[str, str]] = {
    BulletinFormat.TEXT: "txt",
    BulletinFormat.XLSX: "xlsx",
    BulletinFormat.DOCX: "docx",
    BulletinFormat.PDF: "pdf",
}
XLSX_TYPE: Final[str] = _CONTENT_TYPES[BulletinFormat.XLSX]
MAX_UPLOAD_BYTES: Final[int] = 5 * 1024 * 1024


# ---------------------------------------------------------------- who and where


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    return user


def _reports_user(request: HttpRequest) -> User:
    user = _user(request)
    if not (user.is_superuser or user.has_role(*REPORT_ROLES)):
        raise PermissionDenied("您的角色无权查看进度统计和通报", code="REPORTS_FORBIDDEN")
    return user


def _root_region(user: User) -> Region | None:
    """The region a user's reports start from: their organisation's, for everyone who has
    one (an administrator without an organisation starts from the regions with figures)."""
    org = user.organisation
    return org.region if org is not None else None


def _chosen_region(asked: str, user: User, page: str) -> Region | None:
    """The region asked for (`?region=`), checked against the user's scope, else the user's
    own region, else (administrators) the highest region with figures; None: no data."""
    code = asked.strip()
    if not code:
        root = _root_region(user)
        if root is not None:
            return root
        options = report_region_options(root=None, max_level=2)
        top = min(options, key=lambda r: (r.level, r.code), default=None)
        return Region.objects.filter(code=top.code).first() if top is not None else None
    if not is_region_code(code):
        raise NotFound(f"区划代码“{code[:20]}”格式不正确", code="REGION_UNKNOWN")
    if not Scope.for_user(user).contains_region(code):
        report_access_denied(actor=user, region_code=code, page=page)
        raise PermissionDenied("该地区不在您的管辖范围内，无权查看其进度统计", code="OUT_OF_SCOPE")
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise NotFound(f"区划代码“{code}”不存在", code="REGION_UNKNOWN")
    return region


def _month_param(value: str) -> tuple[int, int] | None:
    match = _MONTH.match(value.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _period(request: HttpRequest, region: Region) -> tuple[int, int, list[tuple[int, int]]]:
    """(year, month) asked for, else the latest with figures, else last month; and the
    months with figures (for the picker)."""
    periods = periods_with_data(region=region)
    asked = _month_param(request.GET.get("month", ""))
    if asked is not None:
        return asked[0], asked[1], periods
    if periods:
        return periods[0][0], periods[0][1], periods
    today = timezone.localdate()
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return year, month, periods


@dataclass(frozen=True, slots=True)
class _Option:
    code: str
    label: str
    selected: bool


def _region_options(user: User, current: Region) -> list[_Option]:
    options: list[RegionOption] = report_region_options(root=_root_region(user))
    if all(o.code != current.code for o in options):
        options.append(RegionOption(current.code, current.name, current.level))
    top = min((o.level for o in options), default=1)
    return [
        _Option(o.code, "　" * (o.level - top) + f"{o.name}（{o.code}）", o.code == current.code)
        for o in sorted(options, key=lambda o: o.code)
    ]


def _month_options(periods: list[tuple[int, int]], year: int, month: int) -> list[_Option]:
    values = sorted({*periods, (year, month)}, reverse=True)
    return [_Option(f"{y:04d}-{m:02d}", f"{y}年{m}月", (y, m) == (year, month)) for y, m in values]


def _trail(user: User, region: Region, url_name: str, query: dict[str, str]) -> list[Any]:
    """The regions above `region` within the user's scope, as links (drill back up)."""
    scope = Scope.for_user(user)
    chain = [r for r in region_ancestors(region.code) if scope.contains_region(r.code)]
    base = reverse(url_name)
    return [
        {"label": r.name, "url": f"{base}?{urlencode({**query, 'region': r.code})}"} for r in chain
    ]


# ---------------------------------------------------------------- bulletin


def _html_tables(document: Any) -> list[dict[str, Any]]:
    tables = []
    for table in document.tables:
        rows = [
            {
                "cells": [
                    {"text": format_cell(v, c), "numeric": c.kind != "text"}
                    for v, c in zip(row, table.columns, strict=True)
                ],
                "total": index == len(table.rows) - 1,
            }
            for index, row in enumerate(table.rows)
        ]
        tables.append(
            {
                "label": table.label,
                "title": table.title,
                "headers": [c.header_in_wan() for c in table.columns],
                "rows": rows,
            }
        )
    return tables


@login_required
@require_GET
def bulletin_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _reports_user(request)
        region = _chosen_region(request.GET.get("region", ""), user, "bulletin")
    except ShebaoError as exc:
        return _error_page(request, exc)
    context: dict[str, Any] = {
        "breadcrumbs": _crumbs(("进度通报", "")),
        "region": region,
        "formats": [(f.value, f.label) for f in _DOWNLOAD_FORMATS],
    }
    if region is None:
        return render(request, "reports/bulletin.html", context)
    year, month, periods = _period(request, region)
    figures = bulletin_figures(year=year, month=month, region_code=region.code)
    # Targets alone make no bulletin: something must have been reported for the month.
    has_data = (
        figures.region.submitted is not None
        or any(s.submitted is not None for s in figures.subordinates)
    ) and month_has_figures(region=region, year=year, month=month)
    latest = bulletin_latest(year=year, month=month, region_code=region.code)
    context.update(
        year=year,
        month=month,
        month_value=f"{year:04d}-{month:02d}",
        region_options=_region_options(user, region),
        month_options=_month_options(periods, year, month),
        has_data=has_data,
        sources=figure_sources(region=region, year=year, month=month),
        produced=bulletins_for(region_code=region.code),
        can_correct=bulletin_can_correct(user),
        latest=latest,
        latest_differs=latest is not None
        and has_data
        and latest.figures_sha256 != snapshot_digest(figures),
    )
    if has_data:
        document = bulletin_document(
            compute_bulletin(figures),
            issuer=bulletin_issuer(region.code),
            issued_on=timezone.localdate(),
        )
        context.update(
            document=document,
            sections=list(zip(document.headings, document.paragraphs, strict=True)),
            tables=_html_tables(document),
            # Where each region's figures come from (ADR 0007), beside the document.
            figure_origins=[
                (f.name, f.submitted_source or "—", f.produced_source or "—")
                for f in (*figures.subordinates, figures.region)
            ],
        )
    return render(request, "reports/bulletin.html", context)


def _download_name(region: Region, year: int, month: int, fmt: str) -> str:
    return f"{region.name}{year}年{month}月社会保障卡建设进展情况通报.{_SUFFIX[fmt]}"


@login_required
@require_POST
def bulletin_produce_view(request: HttpRequest) -> HttpResponseBase:
    """Produce the bulletin in a format, keep it (with its figures) and download it.

    POST because producing is recorded: a published bulletin is stored and audited."""
    try:
        user = _reports_user(request)
        region = _chosen_region(request.POST.get("region", ""), user, "bulletin")
    except ShebaoError as exc:
        return _error_page(request, exc)
    asked = _month_param(request.POST.get("month", ""))
    fmt = request.POST.get("format", "")
    back = (
        reverse("reports:bulletin")
        + "?"
        + urlencode(
            {"region": region.code if region else "", "month": request.POST.get("month", "")}
        )
    )
    if region is None or asked is None or fmt not in BulletinFormat.values:
        messages.error(request, "请选择地区、月份和文件格式")
        return redirect(back)
    year, month = asked
    with tempfile.TemporaryDirectory(prefix="shebao-bulletin-") as work:
        out = Path(work) / f"bulletin.{_SUFFIX[fmt]}"
        try:
            bulletin_publish(
                year=year,
                month=month,
                region_code=region.code,
                fmt=BulletinFormat(fmt),
                out=out,
                actor=user,
            )
        except PdfUnsupported as exc:
            messages.error(request, f"{exc.message}（{exc.code}）")
            return redirect(back)
        except ValidationFailed as exc:
            messages.error(request, exc.message)
            return redirect(back)
        data = out.read_bytes()
    return FileResponse(
        io.BytesIO(data),
        as_attachment=True,
        filename=_download_name(region, year, month, fmt),
        content_type=_CONTENT_TYPES[fmt],
    )


@login_required
@require_GET
def bulletin_stored_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A produced bulletin again, from the figures it was produced from."""
    try:
        user = _reports_user(request)
        bulletin = Bulletin.objects.select_related("region").filter(pk=pk).first()
        if bulletin is None:
            raise NotFound("通报不存在", code="BULLETIN_NOT_FOUND")
        if not Scope.for_user(user).contains_region(bulletin.region_id):
            report_access_denied(actor=user, region_code=bulletin.region_id, page="bulletin")
            raise PermissionDenied("该通报不在您的管辖范围内", code="OUT_OF_SCOPE")
    except ShebaoError as exc:
        return _error_page(request, exc)
    with tempfile.TemporaryDirectory(prefix="shebao-bulletin-") as work:
        out = Path(work) / f"bulletin.{_SUFFIX[bulletin.format]}"
        try:
            bulletin_render_stored(bulletin=bulletin, out=out, actor=user)
        except PdfUnsupported as exc:
            messages.error(request, f"{exc.message}（{exc.code}）")
            return redirect(reverse("reports:bulletin") + f"?region={bulletin.region_id}")
        data = out.read_bytes()
    return FileResponse(
        io.BytesIO(data),
        as_attachment=True,
        filename=_download_name(bulletin.region, bulletin.year, bulletin.month, bulletin.format),
        content_type=_CONTENT_TYPES[bulletin.format],
    )


@login_required
@require_POST
def bulletin_correct_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Publish a corrected version of a published bulletin from the current figures; the old
    one stays listed, marked superseded."""
    try:
        user = _reports_user(request)
        bulletin = Bulletin.objects.select_related("region", "superseded_by").filter(pk=pk).first()
        if bulletin is None:
            raise NotFound("通报不存在", code="BULLETIN_NOT_FOUND")
    except ShebaoError as exc:
        return _error_page(request, exc)
    back = (
        reverse("reports:bulletin")
        + "?"
        + urlencode(
            {"region": bulletin.region_id, "month": f"{bulletin.year:04d}-{bulletin.month:02d}"}
        )
    )
    with tempfile.TemporaryDirectory(prefix="shebao-bulletin-") as work:
        out = Path(work) / f"bulletin.{_SUFFIX[bulletin.format]}"
        try:
            outcome = bulletin_correct(
                bulletin=bulletin, actor=user, reason=request.POST.get("reason", ""), out=out
            )
        except PermissionDenied as exc:
            return _error_page(request, exc)
        except ShebaoError as exc:
            messages.error(request, f"{exc.message}（{exc.code}）")
            return redirect(back)
    new = outcome.bulletin
    messages.success(
        request,
        f"已按当前数据发布{bulletin.region.name}{new.year}年{new.month}月通报第{new.version}版"
        f"（{new.get_format_display()}），第{bulletin.version}版已标记为被更正并保留。",
    )
    return redirect(back)


# ---------------------------------------------------------------- dashboard


def _metric_param(request: HttpRequest) -> Metric:
    code = request.GET.get("metric", "")
    return Metric(code) if code in {m.value for m in Metric} else Metric.SUBMITTED


def _dashboard(request: HttpRequest, user: User) -> tuple[Region | None, Dashboard | None, Any]:
    region = _chosen_region(request.GET.get("region", ""), user, "dashboard")
    if region is None:
        return None, None, []
    year, month, periods = _period(request, region)
    data = dashboard_data(region=region, year=year, month=month, metric=_metric_param(request))
    return region, data, periods


def _query(data: Dashboard) -> dict[str, str]:
    return {
        "month": f"{data.year:04d}-{data.month:02d}",
        "metric": str(data.metric),
    }


@login_required
@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _reports_user(request)
        region, data, periods = _dashboard(request, user)
    except ShebaoError as exc:
        return _error_page(request, exc)
    context: dict[str, Any] = {
        "breadcrumbs": _crumbs(("进度看板", "")),
        "region": region,
        "data": data,
    }
    if region is not None and data is not None:
        query = _query(data)
        here = urlencode({**query, "region": region.code})
        today = timezone.localdate()
        is_current = (data.year, data.month) == (today.year, today.month)
        context.update(
            region_options=_region_options(user, region),
            month_options=_month_options(periods, data.year, data.month),
            metric_options=[
                _Option(str(m), f"{m.label}（{METRIC_UNITS[m]}）", m == data.metric) for m in Metric
            ],
            trail=_trail(user, region, "reports:dashboard", query),
            kpis=_kpis(data),
            area=area_word(region.name),
            data_url=f"{reverse('reports:dashboard_data')}?{here}",
            export_url=f"{reverse('reports:dashboard_export')}?{here}",
            page_url=reverse("reports:dashboard"),
            query=query,
            sources=figure_sources(region=region, year=data.year, month=data.month),
            # Today's per-branch progress belongs to the current month only; a past month
            # shows the banks' figures at that month's end (its snapshot).
            is_current_month=is_current,
            account_stats=account_opening_stats(actor=user) if is_current else [],
            # Card use (用卡) of the region and month, counted live (issue #11 §5).
            usage=usage_summary(region_prefix=region.prefix, year=data.year, month=data.month),
            payments=paid_into_cards_panel(
                region_prefix=region.prefix, year=data.year, month=data.month
            ),
        )
        if user.is_superuser or user.has_role(*COVERAGE_ROLES):
            coverage_query = urlencode({"region": region.code})
            context.update(
                coverage_url=f"{reverse('registration:coverage_data')}?{coverage_query}",
                coverage_page=f"{reverse('registration:coverage')}?{coverage_query}",
            )
    return render(request, "reports/dashboard.html", context)


def _amount(value: int | None) -> tuple[str, str]:
    """(number, unit prefix) as the cards show it: 万 from 100,000 up (1855.00万)."""
    if value is None:
        return "—", ""
    if value >= 100_000:
        return wan_text(value, 2), "万"
    return f"{value:,}", ""


def _signed_amount(value: int) -> str:
    """A change as the cards show it, with its sign: `+1,234`, `−86.50万`."""
    sign = "+" if value > 0 else ("\u2212" if value < 0 else "")
    number, prefix = _amount(abs(value))
    return f"{sign}{number}{prefix}"


def _kpis(data: Dashboard) -> list[dict[str, Any]]:
    out = []
    for m in data.metrics:
        number, prefix = _amount(m.value)
        out.append(
            {
                "code": str(m.metric),
                "label": m.metric.label,
                "value": number,
                "unit": (prefix + METRIC_UNITS[m.metric]) if m.value is not None else "",
                "annual_percent": m.annual_percent,
                "month_percent": m.month_percent,
                "increase": _signed_amount(m.increase) if m.increase is not None else "",
                "current": m.metric == data.metric,
                "source": m.source,
            }
        )
    return out


def _json_error(exc: ShebaoError) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
        status=exc.status,
        json_dumps_params={"ensure_ascii": False},
    )


@require_GET
def dashboard_data_view(request: HttpRequest) -> JsonResponse:
    """The dashboard's figures as JSON (the page's charts draw these), scoped like the page."""
    try:
        user = _reports_user(request)
        region, data, _periods = _dashboard(request, user)
    except ShebaoError as exc:
        return _json_error(exc)
    if region is None or data is None:
        return _json_error(NotFound("暂无任何地区的进度数据", code="NO_FIGURES"))
    payload = data.to_json()
    payload["drill_url"] = reverse("reports:dashboard") + "?" + urlencode(_query(data))
    return JsonResponse(payload, json_dumps_params={"ensure_ascii": False})


@login_required
@require_GET
def dashboard_export_view(request: HttpRequest) -> HttpResponseBase:
    try:
        user = _reports_user(request)
        region, data, _periods = _dashboard(request, user)
        if region is None or data is None:
            raise NotFound("暂无任何地区的进度数据", code="NO_FIGURES")
    except ShebaoError as exc:
        return _error_page(request, exc)
    with tempfile.TemporaryDirectory(prefix="shebao-dashboard-") as work:
        out = Path(work) / "dashboard.xlsx"
        dashboard_xlsx(data, out)
        content = out.read_bytes()
    name = f"{region.name}{data.year}年{data.month}月{data.metric.label}进度.xlsx"
    return FileResponse(
        io.BytesIO(content), as_attachment=True, filename=name, content_type=XLSX_TYPE
    )


# ---------------------------------------------------------------- work plan


@dataclass(frozen=True, slots=True)
class _ItemRow:
    item: WorkPlanItem
    cooperating: str
    due: str
    overdue: bool
    can_change: bool
    next_statuses: list[tuple[str, str]]


_NEXT: Final[dict[str, tuple[WorkPlanStatus, ...]]] = {
    WorkPlanStatus.NOT_STARTED: (WorkPlanStatus.IN_PROGRESS, WorkPlanStatus.DONE),
    WorkPlanStatus.IN_PROGRESS: (WorkPlanStatus.DONE, WorkPlanStatus.NOT_STARTED),
    WorkPlanStatus.DONE: (WorkPlanStatus.IN_PROGRESS,),
}


def _item_rows(user: User, items: list[WorkPlanItem]) -> list[_ItemRow]:
    today = timezone.localdate()
    admin = user.is_superuser or user.has_role(Role.SYSTEM_ADMIN)
    rows = []
    for item in items:
        names = [o.name for o in item.cooperating.all()]
        names += [GROUP_LABELS.get(g.kind, g.get_kind_display()) for g in item.groups.all()]
        can_change = admin or (
            user.organisation_id is not None and user.organisation_id == item.lead_id
        )
        rows.append(
            _ItemRow(
                item=item,
                cooperating="、".join(names) or "—",
                due=due_text_of(item.due_date, item.due_text) or "—",
                overdue=item.overdue_on(today),
                can_change=can_change,
                next_statuses=[(s.value, s.label) for s in _NEXT[item.status]],
            )
        )
    return rows


def _plan_region_options(user: User) -> list[_Option]:
    root = _root_region(user)
    if root is None:
        return []
    return [_Option(root.code, f"{root.name}（{root.code}）", True)]


def _work_plan_page(
    request: HttpRequest,
    user: User,
    *,
    errors: list[Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    plans = work_plans_visible(user=user)
    chosen = request.GET.get("plan", "")
    plan = next((p for p in plans if str(p.pk) == chosen), plans[0] if plans else None)
    items = work_plan_items_visible(user=user, plan=plan) if plan is not None else []
    rows = _item_rows(user, items)
    context = {
        "breadcrumbs": _crumbs(("工作计划", "")),
        "plans": plans,
        "plan": plan,
        "rows": rows,
        "overdue_count": sum(1 for r in rows if r.overdue),
        "whole_plan": plan is not None and work_plan_sees_whole(user=user, plan=plan),
        "can_import": work_plan_can_manage(user=user),
        "region_options": _plan_region_options(user),
        "import_errors": errors or [],
        "form_title": request.POST.get("title", plan.title if plan else ""),
        "form_region": request.POST.get("region", ""),
    }
    return render(request, "reports/work_plan.html", context, status=status)


@staff_required
@require_GET
def work_plan_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request)
    except ShebaoError as exc:
        return _error_page(request, exc)
    return _work_plan_page(request, user)


@login_required
@require_http_methods(["POST"])
def work_plan_import_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request)
        if not work_plan_can_manage(user=user):
            raise PermissionDenied("您的角色无权导入工作计划", code="WORK_PLAN_FORBIDDEN")
    except ShebaoError as exc:
        return _error_page(request, exc)
    upload = request.FILES.get("file")
    title = request.POST.get("title", "")
    root = _root_region(user)
    region_code = request.POST.get("region", "").strip() or (root.code if root else "")
    if upload is None:
        messages.error(request, "请选择要导入的工作计划表文件（XLSX 或 CSV）")
        return _work_plan_page(request, user, status=400)
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        messages.error(request, "文件过大（不超过 5 MB）")
        return _work_plan_page(request, user, status=400)
    suffix = Path(upload.name or "plan.xlsx").suffix.lower()
    if suffix not in {".xlsx", ".xls", ".csv"}:
        messages.error(request, "文件应为 XLSX 或 CSV 格式")
        return _work_plan_page(request, user, status=400)
    with tempfile.TemporaryDirectory(prefix="shebao-plan-") as work:
        path = Path(work) / f"{Path(upload.name or 'plan').stem[:100]}{suffix}"
        with path.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        try:
            outcome = work_plan_import(path=path, title=title, region_code=region_code, actor=user)
        except WorkPlanRejected as exc:
            messages.error(request, exc.message)
            return _work_plan_page(request, user, errors=exc.errors, status=422)
        except ShebaoError as exc:
            if exc.status == 403:
                return _error_page(request, exc)
            messages.error(request, exc.message)
            return _work_plan_page(request, user, status=400)
    replaced = f"，替换原有{outcome.replaced}项" if outcome.replaced else ""
    messages.success(request, f"已导入“{outcome.plan.title}”共{outcome.items}项{replaced}")
    return redirect(reverse("reports:work_plan") + f"?plan={outcome.plan.pk}")


@staff_required
@require_GET
def work_plan_export_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The plan as an XLSX in the import layout: the items the user sees."""
    try:
        user = _user(request)
        plan = next((p for p in work_plans_visible(user=user) if p.pk == pk), None)
        if plan is None:
            raise NotFound("工作计划不存在或您无权查看", code="WORK_PLAN_NOT_FOUND")
    except ShebaoError as exc:
        return _error_page(request, exc)
    items = work_plan_items_visible(user=user, plan=plan)
    with tempfile.TemporaryDirectory(prefix="shebao-plan-") as work:
        out = Path(work) / "plan.xlsx"
        work_plan_xlsx(title=plan.title, items=items, out=out)
        content = out.read_bytes()
    return FileResponse(
        io.BytesIO(content),
        as_attachment=True,
        filename=f"{plan.title}.xlsx",
        content_type=XLSX_TYPE,
    )


@staff_required
@require_POST
def work_plan_item_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        user = _user(request)
        item = work_plan_item_transition(
            item_id=pk, to_status=request.POST.get("status", ""), actor=user
        )
    except (PermissionDenied, NotFound) as exc:
        return _error_page(request, exc)
    except ShebaoError as exc:
        messages.error(request, exc.message)
        plan = request.POST.get("plan", "")
        return redirect(reverse("reports:work_plan") + (f"?plan={plan}" if plan.isdigit() else ""))
    messages.success(request, f"“{item.task[:24]}”已标记为{item.get_status_display()}")
    return redirect(reverse("reports:work_plan") + f"?plan={item.plan_id}#item-{item.pk}")


# ---------------------------------------------------------------- targets

_PERIODS: Final[tuple[int, ...]] = tuple(range(13))  # 0: the annual target, then months


def _target_cells(post: Any) -> dict[tuple[str, str, int], str]:
    """The grid's cells from the form: `cell|<region>|<bank>|<period>`, and the new-bank row
    (`new_bank` and `new|<period>`) when a bank name was typed."""
    cells: dict[tuple[str, str, int], str] = {}
    region = post.get("region", "")
    for name, value in post.items():
        parts = name.split("|")
        if parts[0] == "cell" and len(parts) == 4 and parts[3].isdigit():
            cells[(parts[1], parts[2], int(parts[3]))] = value
    new_bank = "".join(post.get("new_bank", "").split())
    if new_bank:
        for period in _PERIODS:
            value = post.get(f"new|{period}", "")
            if value.strip():
                cells[(region, new_bank, period)] = value
    return cells


@login_required
@require_http_methods(["GET", "POST"])
def targets_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _reports_user(request)
        asked = request.POST.get("region", "") if request.method == "POST" else ""
        region = _chosen_region(asked or request.GET.get("region", ""), user, "targets")
    except ShebaoError as exc:
        return _error_page(request, exc)
    if region is None:
        return render(request, "reports/targets.html", {"region": None})
    source = request.POST if request.method == "POST" else request.GET
    try:
        year = int(source.get("year", "") or timezone.localdate().year)
        metric = Metric(source.get("metric", "") or Metric.SUBMITTED.value)
    except ValueError:
        return _error_page(
            request, ValidationFailed("年度或指标不正确", code="TARGETS_BAD_PARAMETER")
        )
    can_manage = targets_can_manage(user)
    errors: list[Any] = []
    rollup_warnings: list[str] = []
    typed: dict[tuple[str, str, int], str] = {}
    if request.method == "POST":
        typed = _target_cells(request.POST)
        try:
            saved = targets_save(
                actor=user,
                year=year,
                metric=metric,
                cells=typed,
                confirm_rollup=request.POST.get("confirm_rollup") == "1",
            )
        except TargetsRejected as exc:
            errors = exc.errors
        except TargetsNeedConfirmation as exc:
            rollup_warnings = exc.messages
        except ShebaoError as exc:
            return _error_page(request, exc)
        else:
            messages.success(
                request,
                f"已保存：新增{saved.created}项，修改{saved.updated}项，删除{saved.removed}项",
            )
            query = urlencode({"region": region.code, "year": year, "metric": metric.value})
            return redirect(f"{reverse('reports:targets')}?{query}")
    bad = {(e.region_code, e.bank, e.period) for e in errors}
    lines = []
    for line in target_lines(region=region, year=year, metric=metric):
        cells = []
        for period in _PERIODS:
            key = (line.region_code, line.bank, period)
            stored = line.values.get(period)
            value = typed.get(key, "" if stored is None else str(stored)) if typed else stored
            cells.append(
                {
                    "name": f"cell|{line.region_code}|{line.bank}|{period}",
                    "value": "" if value is None else value,
                    "error": key in bad,
                }
            )
        lines.append({"line": line, "cells": cells})
    # The subordinates' roll-up beside the region's own targets (ADR 0007: a region's own
    # target is used over the sum below it, so the page shows both).
    stored_lines = target_lines(region=region, year=year, metric=metric)
    below = [ln for ln in stored_lines if ln.region_code != region.code and not ln.bank]
    rollup_row = [
        sum(v for ln in below if (v := ln.values.get(period)) is not None)
        if any(ln.values.get(period) is not None for ln in below)
        else None
        for period in _PERIODS
    ]
    context = {
        "region": region,
        "year": year,
        "metric": metric,
        "lines": lines,
        "errors": errors,
        "rollup_warnings": rollup_warnings,
        "rollup_row": rollup_row if any(v is not None for v in rollup_row) else None,
        "can_manage": can_manage,
        "periods": ["年度", *[f"{m}月" for m in range(1, 13)]],
        "period_numbers": _PERIODS,
        "region_options": _region_options(user, region),
        "metric_options": [_Option(m.value, m.label, m == metric) for m in Metric],
        "year_options": [
            _Option(str(y), f"{y}年", y == year)
            for y in range(timezone.localdate().year + 1, timezone.localdate().year - 4, -1)
        ],
        "crumbs": _crumbs(("目标任务", reverse("reports:targets"))),
    }
    status = 400 if errors else (409 if rollup_warnings else 200)
    return render(request, "reports/targets.html", context, status=status)
