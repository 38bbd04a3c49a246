"""Pages of universal insurance registration: imports, comparison runs, the findings queue,
household surveys and coverage. Views parse input with forms, call selectors and services
(which check scope, mask and audit), and render."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shebao.accounts.audit import audit_record, require_purpose
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import User
from shebao.accounts.scoping import Scope
from shebao.comparison.domain import Category
from shebao.errors import PermissionDenied, ShebaoError
from shebao.geo.models import Region
from shebao.identity.masking import mask_id_number, mask_name
from shebao.intake.choices import ImportMode, ImportStatus
from shebao.intake.exports import rejected_csv_lines, rejected_preview, rejected_xlsx
from shebao.intake.formats.errors import IntakeErrorCode
from shebao.intake.formats.kinds import SourceKind
from shebao.intake.selectors import (
    import_batch_chain,
    import_batch_visible,
    import_batches_current,
    import_batches_visible,
)
from shebao.intake.services import import_batch_make_current, import_batch_submit
from shebao.pages import breadcrumbs as _crumbs
from shebao.pages import error_page as _error
from shebao.pages import page_number as _page
from shebao.registration import exports
from shebao.registration.choices import FindingStatus, RunStatus
from shebao.registration.evidence import finding_evidence
from shebao.registration.forms import (
    AssignForm,
    BulkAssignForm,
    FindingFilterForm,
    ResolveForm,
    RevealForm,
    RunForm,
    SurveyForm,
    UploadForm,
    default_as_of,
)
from shebao.registration.models import ComparisonRun
from shebao.registration.roles import (
    ADDRESS_EXPORT_ROLES,
    COVERAGE_ROLES,
    FINDING_WORK_ROLES,
    INTAKE_ROLES,
    RUN_ROLES,
    RUN_VIEW_ROLES,
)
from shebao.registration.runs import comparison_run_submit
from shebao.registration.selectors import (
    MEDICAL_GOAL,
    PENSION_GOAL,
    FindingFilter,
    RosterHousehold,
    coverage_by_region,
    finding_counts,
    finding_rows,
    finding_visible,
    findings_queue,
    latest_run,
    roster_for_village,
    scheme_names,
    survey_completeness,
    survey_villages,
)
from shebao.registration.services import (
    FindingCorrection,
    SurveyInput,
    finding_assign,
    finding_resolve,
    findings_assign,
    survey_record,
)
from shebao.registry.selectors import person_scoped

PAGE_SIZE: Final = 50
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest, roles: frozenset[str]) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    if not (user.is_superuser or user.has_role(*roles)):
        raise PermissionDenied("您的角色无权使用此功能", code="ROLE_FORBIDDEN")
    return user


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
    return response


def _quote(name: str) -> str:
    return quote(name)


def _scope_regions(user: User, max_depth: int = 2) -> list[tuple[str, str]]:
    """Regions under the user's own, for filter choices (two levels down)."""
    org = user.organisation
    scope = Scope.for_user(user)
    if scope.unrestricted:
        roots = list(Region.objects.filter(level__in=(2, 3), code__in=_regions_with_people()))
    elif org is not None:
        roots = [org.region]
    else:
        return []
    out: list[tuple[str, str]] = []
    for root in roots:
        out.append((root.code, root.full_name or root.name))
        level = root.level
        for region in Region.objects.filter(
            code__startswith=root.prefix, level__gt=level, level__lte=level + max_depth
        ).order_by("code"):
            out.append((region.code, "　" * (region.level - level) + region.name))
    return out


def _regions_with_people() -> list[str]:
    from shebao.registration.models import PersonRegistration

    codes = PersonRegistration.objects.values_list("region_id", flat=True).distinct()[:2000]
    return sorted({c[:4] + "00" for c in codes} | {c[:6] for c in codes})


# ---------------------------------------------------------------- imports

_KIND_CODES: Final = frozenset({IntakeErrorCode.UNKNOWN_KIND, IntakeErrorCode.AMBIGUOUS_KIND})


def _upload_message(exc: ShebaoError) -> str:
    """The refusal as the uploader can act on it: where the kind must be given, the page's
    own field for it."""
    if exc.code in _KIND_CODES:
        return f"{exc.message}：请在上方“数据类型”中选择后重新上传"
    return exc.message


@login_required
@require_http_methods(["GET", "POST"])
def imports_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request, INTAKE_ROLES)
    except ShebaoError as exc:
        return _error(request, exc)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        kind = SourceKind(form.cleaned_data["kind"]) if form.cleaned_data["kind"] else None
        suffix = Path(upload.name).suffix.lower()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            with path.open("wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
            try:
                batch, created = import_batch_submit(
                    actor=user,
                    path=path,
                    kind=kind,
                    file_name=upload.name,
                    mode=form.cleaned_data["mode"] or ImportMode.SNAPSHOT,
                    confirm_shrink=form.cleaned_data["confirm_shrink"],
                )
            except ShebaoError as exc:
                form.add_error(None, _upload_message(exc))
            else:
                if created:
                    messages.success(
                        request,
                        f"已提交导入：{batch.file_name}（{batch.kind_label}），后台正在处理",
                    )
                else:
                    current = (
                        "，是当前数据"
                        if batch.is_current
                        else "；如需再次使用，请在该批次页面点击“设为当前数据”"
                    )
                    messages.info(
                        request, f"该文件已导入过（导入批次#{batch.pk}），未重复导入{current}"
                    )
                return redirect("registration:import_detail", pk=batch.pk)
    batches = import_batches_visible(actor=user)
    page = Paginator(batches, PAGE_SIZE).get_page(_page(request))
    return render(
        request,
        "registration/imports.html",
        {
            "form": form,
            "page": page,
            "breadcrumbs": _crumbs(("数据导入", "")),
        },
    )


@login_required
@require_GET
def import_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        user = _user(request, INTAKE_ROLES | RUN_VIEW_ROLES)
        batch = import_batch_visible(actor=user, batch_id=pk)
    except ShebaoError as exc:
        return _error(request, exc)
    return render(
        request,
        "registration/import_detail.html",
        {
            "batch": batch,
            "rejected": rejected_preview(batch) if batch.status == ImportStatus.IMPORTED else [],
            "pending": batch.status in (ImportStatus.QUEUED, ImportStatus.RUNNING),
            "chain": import_batch_chain(batch) if batch.base_id is not None else [],
            "can_make_current": batch.status == ImportStatus.IMPORTED
            and not batch.is_current
            and (user.is_superuser or user.has_role(*INTAKE_ROLES)),
            "breadcrumbs": _crumbs(
                ("数据导入", reverse("registration:imports")), (f"批次#{batch.pk}", "")
            ),
        },
    )


@login_required
@require_POST
def import_make_current_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Make an earlier batch the current data of its kind again (audited by the service)."""
    try:
        user = _user(request, INTAKE_ROLES)
        batch = import_batch_visible(actor=user, batch_id=pk)
        import_batch_make_current(actor=user, batch_id=batch.pk)
    except ShebaoError as exc:
        if exc.status in (403, 404):
            return _error(request, exc)
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"导入批次#{batch.pk}（{batch.file_name}）已设为{batch.kind_label}的当前数据，"
            "下次比对将使用它",
        )
    return redirect("registration:import_detail", pk=pk)


@login_required
@require_GET
def import_rejected_view(request: HttpRequest, pk: int, fmt: str) -> HttpResponseBase:
    try:
        user = _user(request, INTAKE_ROLES | RUN_VIEW_ROLES)
        batch = import_batch_visible(actor=user, batch_id=pk)
    except ShebaoError as exc:
        return _error(request, exc)
    stem = f"拒收行-批次{batch.pk}-{Path(batch.file_name).stem}"
    with transaction.atomic():
        audit_record(
            actor=user,
            action=AuditAction.EXPORT,
            target_type="import_rejected",
            target_id=batch.pk,
            # The refused rows carry names and ID numbers: a purpose, as every export has.
            purpose=Purpose.REGISTRATION,
            detail={"format": fmt, "rows": batch.rows_rejected},
        )
    if fmt == "xlsx":
        return _xlsx(rejected_xlsx(batch), f"{stem}.xlsx")
    response = StreamingHttpResponse(
        rejected_csv_lines(batch), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(stem + '.csv')}"
    return response


# ---------------------------------------------------------------- comparison runs


@login_required
@require_http_methods(["GET", "POST"])
def runs_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request, RUN_VIEW_ROLES)
    except ShebaoError as exc:
        return _error(request, exc)
    can_run = user.is_superuser or user.has_role(*RUN_ROLES)
    form = RunForm(request.POST or None, initial={"as_of": default_as_of(), "engine": "duckdb"})
    if request.method == "POST":
        if not can_run:
            return _error(request, PermissionDenied("您的角色无权发起比对", code="ROLE_FORBIDDEN"))
        if form.is_valid():
            try:
                run = comparison_run_submit(
                    actor=user,
                    engine=form.cleaned_data["engine"],
                    as_of=form.cleaned_data["as_of"],
                    threshold=form.cleaned_data["threshold"],
                )
            except ShebaoError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"已提交比对#{run.pk}，后台正在运行")
                return redirect("registration:run_detail", pk=run.pk)
    runs = ComparisonRun.objects.select_related("created_by", "job").prefetch_related("inputs")
    page = Paginator(runs, PAGE_SIZE).get_page(_page(request))
    return render(
        request,
        "registration/runs.html",
        {
            "form": form,
            "can_run": can_run,
            "page": page,
            "latest_batches": import_batches_current(),
            "breadcrumbs": _crumbs(("比对批次", "")),
        },
    )


@login_required
@require_GET
def run_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        user = _user(request, RUN_VIEW_ROLES)
    except ShebaoError as exc:
        return _error(request, exc)
    run = ComparisonRun.objects.filter(pk=pk).select_related("created_by", "job").first()
    if run is None:
        return render(request, "404.html", {"message": "未找到该比对批次"}, status=404)
    counts = [
        {
            "code": c.value,
            "label": c.label,
            "count": run.counts.get(c.value),
            "skipped": run.skipped.get(c.value, ""),
        }
        for c in Category
    ]
    return render(
        request,
        "registration/run_detail.html",
        {
            "run": run,
            "counts": counts,
            "inputs": run.inputs.order_by("kind", "id"),
            "pending": run.status in (RunStatus.QUEUED, RunStatus.RUNNING),
            "scoped_counts": finding_counts(actor=user, run=run)
            if run.status == RunStatus.SUCCEEDED
            else {},
            "breadcrumbs": _crumbs(
                ("比对批次", reverse("registration:runs")), (f"比对#{run.pk}", "")
            ),
        },
    )


# ---------------------------------------------------------------- findings


def _filter(request: HttpRequest, user: User) -> tuple[FindingFilterForm, FindingFilter]:
    form = FindingFilterForm(request.GET or None, regions=_scope_regions(user))
    query = FindingFilter()
    if form.is_valid():
        data = form.cleaned_data
        query = FindingFilter(
            category=data["category"],
            status=data["status"],
            region=data["region"],
            mine=data["mine"],
            search=data["q"],
            sort=data["sort"],
        )
    return form, query


_COLUMNS: Final = (
    ("id", "编号"),
    ("category", "问题类别"),
    ("", "身份证号码"),
    ("name", "姓名"),
    ("", "来源"),
    ("region", "地区"),
    ("status", "状态"),
    ("assignee", "经办人"),
)


def _headers(request: HttpRequest) -> list[dict[str, str]]:
    """The list's column headers; a sortable one links to the list sorted by it, ascending,
    or descending when it is the sort now."""
    current = request.GET.get("sort", "") or "region"
    out = []
    for key, label in _COLUMNS:
        header = {"key": key, "label": label, "link": "", "arrow": "", "aria": ""}
        if key:
            params = request.GET.copy()
            params["sort"] = f"-{key}" if current == key else key
            params.pop("page", None)
            header["link"] = "?" + params.urlencode()
            if current == key:
                header["arrow"], header["aria"] = " ▲", "ascending"
            elif current == f"-{key}":
                header["arrow"], header["aria"] = " ▼", "descending"
        out.append(header)
    return out


def _bulk_assignees(user: User) -> list[tuple[str, str]]:
    """Clerks and surveyors of the user's organisation and of those below it."""
    candidates = User.objects.filter(
        is_active=True, roles__role__in=list(FINDING_WORK_ROLES)
    ).distinct()
    org = user.organisation
    if org is not None and not Scope.for_user(user).unrestricted:
        candidates = candidates.filter(organisation__region__code__startswith=org.region.prefix)
    return [
        (
            str(c.pk),
            f"{c}（{c.organisation.name}）" if c.organisation is not None else str(c),
        )
        for c in candidates.select_related("organisation").order_by(
            "organisation__region__code", "username"
        )[:200]
    ]


@login_required
@require_GET
def findings_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request, FINDING_WORK_ROLES)
    except ShebaoError as exc:
        return _error(request, exc)
    form, query = _filter(request, user)
    findings = findings_queue(actor=user, query=query)
    page = Paginator(findings, PAGE_SIZE).get_page(_page(request))
    shown = list(page.object_list)
    # The list names persons (masked): audited as verification work, with those shown.
    with transaction.atomic():
        audit_record(
            actor=user,
            action=AuditAction.VIEW_PERSON,
            target_type="findings",
            purpose=Purpose.REGISTRATION,
            detail={
                "page": page.number,
                "person_ids": sorted({f.person_id for f in shown if f.person_id is not None}),
            },
        )
    return render(
        request,
        "registration/findings.html",
        {
            "form": form,
            "page": page,
            "rows": finding_rows(shown),
            "run": latest_run(),
            "export_query": request.GET.urlencode(),
            "headers": _headers(request),
            "bulk_form": BulkAssignForm(assignees=_bulk_assignees(user)),
            "address_export": user.is_superuser or user.has_role(*ADDRESS_EXPORT_ROLES),
            "purposes": Purpose.choices,
            "breadcrumbs": _crumbs(("比对问题处理", "")),
        },
    )


@login_required
@require_GET
def findings_export_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request, FINDING_WORK_ROLES)
    except ShebaoError as exc:
        return _error(request, exc)
    _, query = _filter(request, user)
    with_address = request.GET.get("address") == "1"
    purpose, note = "", ""
    if with_address:
        if not (user.is_superuser or user.has_role(*ADDRESS_EXPORT_ROLES)):
            return _error(
                request, PermissionDenied("您的角色无权导出住址和户号", code="ROLE_FORBIDDEN")
            )
        try:
            purpose, note = require_purpose(
                request.GET.get("purpose"), request.GET.get("purpose_note")
            )
        except ShebaoError as exc:
            messages.error(request, exc.message)
            return redirect(reverse("registration:findings") + "?" + request.GET.urlencode())
    findings = findings_queue(actor=user, query=query)
    region = user.organisation.region.name if user.organisation is not None else "全市"
    content, count = exports.findings_xlsx(
        findings, title=f"{region} 比对问题清单", with_address=with_address
    )
    with transaction.atomic():
        audit_record(
            actor=user,
            action=AuditAction.EXPORT,
            target_type="findings",
            # Without the address columns the list is the verification work's own.
            purpose=purpose or Purpose.REGISTRATION,
            purpose_note=note,
            detail={
                "rows": count,
                "category": query.category,
                "status": query.status,
                "region": query.region,
                "search": bool(query.search),
                "with_address": with_address,
            },
        )
    return _xlsx(content, "比对问题清单（含住址）.xlsx" if with_address else "比对问题清单.xlsx")


@login_required
@require_POST
def findings_assign_view(request: HttpRequest) -> HttpResponse:
    """批量分派: the findings ticked on the list, to one clerk; back to the same list."""
    try:
        user = _user(request, FINDING_WORK_ROLES)
    except ShebaoError as exc:
        return _error(request, exc)
    back = reverse("registration:findings")
    next_query = request.POST.get("next", "")
    if next_query.startswith("?"):
        back += next_query
    form = BulkAssignForm(request.POST, assignees=_bulk_assignees(user))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(back)
    assignee = User.objects.get(pk=int(form.cleaned_data["assignee"]))
    try:
        result = findings_assign(
            actor=user, finding_ids=form.cleaned_data["finding"], assignee=assignee
        )
    except ShebaoError as exc:
        return _error(request, exc)
    if result.assigned:
        messages.success(request, f"已将 {len(result.assigned)} 条问题分派给 {assignee}")
    for finding_id, reason in result.refused[:10]:
        messages.error(request, f"问题#{finding_id}未分派：{reason}")
    if len(result.refused) > 10:
        messages.error(request, f"另有 {len(result.refused) - 10} 条未分派")
    return redirect(back)


def _assignees(user: User, finding_region: str | None) -> list[tuple[str, str]]:
    if finding_region is None:
        return [(str(user.pk), f"{user}（本人）")]
    org = user.organisation
    candidates = User.objects.filter(
        is_active=True, roles__role__in=list(FINDING_WORK_ROLES)
    ).distinct()
    if org is not None and not Scope.for_user(user).unrestricted:
        candidates = candidates.filter(organisation__region__code__startswith=org.region.prefix)
    out = []
    for candidate in candidates.select_related("organisation__region").order_by("username")[:200]:
        if Scope.for_user(candidate).contains_region(finding_region):
            label = (
                f"{candidate}（{candidate.organisation.name}）"
                if candidate.organisation
                else str(candidate)
            )
            out.append((str(candidate.pk), label))
    return out


@login_required
@require_http_methods(["GET", "POST"])
def finding_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        user = _user(request, FINDING_WORK_ROLES)
        finding = finding_visible(actor=user, finding_id=pk)
    except ShebaoError as exc:
        return _error(request, exc)
    reveal_form = RevealForm(request.POST if request.POST.get("action") == "reveal" else None)
    revealed = False
    if reveal_form.is_bound and reveal_form.is_valid():
        try:
            purpose, note = require_purpose(
                reveal_form.cleaned_data["purpose"], reveal_form.cleaned_data["purpose_note"]
            )
        except ShebaoError as exc:
            reveal_form.add_error(None, exc.message)
        else:
            with transaction.atomic():
                audit_record(
                    actor=user,
                    action=AuditAction.REVEAL_PERSON,
                    target_type="finding",
                    target_id=finding.pk,
                    person_id=finding.person_id,
                    purpose=purpose,
                    purpose_note=note,
                )
            revealed = True
    if not revealed:
        # The page shows the person masked, for the registration work it belongs to.
        with transaction.atomic():
            audit_record(
                actor=user,
                action=AuditAction.VIEW_PERSON,
                target_type="finding",
                target_id=finding.pk,
                person_id=finding.person_id,
                purpose=Purpose.REGISTRATION,
            )
    evidence = finding_evidence(finding, revealed=revealed, schemes=scheme_names())
    return render(
        request,
        "registration/finding_detail.html",
        {
            "finding": finding,
            "category": Category(finding.category),
            "status_label": FindingStatus(finding.status).label,
            "id_number": finding.id_number if revealed else mask_id_number(finding.id_number),
            "name": finding.name if revealed else mask_name(finding.name),
            "reason": evidence.reason,
            "evidence": evidence,
            "revealed": revealed,
            "reveal_form": reveal_form,
            "assign_form": AssignForm(assignees=_assignees(user, finding.region_id)),
            "resolve_form": ResolveForm(),
            "open": finding.status in (FindingStatus.OPEN, FindingStatus.ASSIGNED),
            "breadcrumbs": _crumbs(
                ("比对问题处理", reverse("registration:findings")), (f"问题#{finding.pk}", "")
            ),
        },
    )


@login_required
@require_POST
def finding_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        user = _user(request, FINDING_WORK_ROLES)
        finding = finding_visible(actor=user, finding_id=pk)
        form = AssignForm(request.POST, assignees=_assignees(user, finding.region_id))
        if not form.is_valid():
            messages.error(request, "请选择经办人")
            return redirect("registration:finding_detail", pk=pk)
        assignee = User.objects.get(pk=int(form.cleaned_data["assignee"]))
        finding_assign(actor=user, finding_id=pk, assignee=assignee)
    except ShebaoError as exc:
        if exc.status in (403, 404):
            return _error(request, exc)
        messages.error(request, exc.message)
        return redirect("registration:finding_detail", pk=pk)
    messages.success(request, f"已分派给 {assignee}")
    return redirect("registration:finding_detail", pk=pk)


@login_required
@require_POST
def finding_resolve_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        user = _user(request, FINDING_WORK_ROLES)
    except ShebaoError as exc:
        return _error(request, exc)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请选择处理结果并正确填写更正内容")
        return redirect("registration:finding_detail", pk=pk)
    data = form.cleaned_data
    correction = FindingCorrection(
        name=data["name"].strip(),
        phone=data["phone"].strip(),
        death_date=data["death_date"],
        scheme_code=data["scheme_code"],
        start_date=data["start_date"],
    )
    try:
        finding = finding_resolve(
            actor=user,
            finding_id=pk,
            outcome=data["outcome"],
            note=data["note"],
            correction=correction if data["outcome"] == FindingStatus.CORRECTED else None,
        )
    except ShebaoError as exc:
        if exc.status in (403, 404):
            return _error(request, exc)
        messages.error(request, exc.message)
        return redirect("registration:finding_detail", pk=pk)
    messages.success(request, f"问题#{finding.pk}已处理：{FindingStatus(finding.status).label}")
    return redirect("registration:finding_detail", pk=pk)


# ---------------------------------------------------------------- survey


def _villages(user: User) -> list[Region]:
    return survey_villages(actor=user)


@login_required
@require_GET
def survey_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request, FINDING_WORK_ROLES)
    except ShebaoError as exc:
        return _error(request, exc)
    villages = _villages(user)
    rows = [survey_completeness(actor=user, village_code=v.code) for v in villages[:100]]
    return render(
        request,
        "registration/survey.html",
        {"rows": rows, "run": latest_run(), "breadcrumbs": _crumbs(("入户调查", ""))},
    )


def _roster_person_ids(households: list[RosterHousehold]) -> list[int]:
    """The persons a roster shows, for its audit row (who was looked at, not only where)."""
    return [m.person_id for h in households for m in h.members]


@login_required
@require_GET
def roster_view(request: HttpRequest, code: str) -> HttpResponse:
    try:
        user = _user(request, FINDING_WORK_ROLES)
        village, households = roster_for_village(actor=user, village_code=code)
        completeness = survey_completeness(actor=user, village_code=code)
    except ShebaoError as exc:
        return _error(request, exc)
    with transaction.atomic():
        audit_record(
            actor=user,
            action=AuditAction.VIEW_PERSON,
            target_type="survey_roster",
            target_id=village.code,
            purpose="survey",
            detail={"households": len(households), "person_ids": _roster_person_ids(households)},
        )
    return render(
        request,
        "registration/roster.html",
        {
            "village": village,
            "households": households,
            "completeness": completeness,
            "run": latest_run(),
            "breadcrumbs": _crumbs(
                ("入户调查", reverse("registration:survey")), (village.name, "")
            ),
        },
    )


@login_required
@require_GET
def roster_xlsx_view(request: HttpRequest, code: str) -> HttpResponse:
    try:
        user = _user(request, FINDING_WORK_ROLES)
        village, households = roster_for_village(actor=user, village_code=code)
    except ShebaoError as exc:
        return _error(request, exc)
    with transaction.atomic():
        audit_record(
            actor=user,
            action=AuditAction.EXPORT,
            target_type="survey_roster",
            target_id=village.code,
            purpose="survey",
            detail={"households": len(households), "person_ids": _roster_person_ids(households)},
        )
    return _xlsx(exports.roster_xlsx(village, households), f"入户调查花名册-{village.name}.xlsx")


@login_required
@require_http_methods(["GET", "POST"])
def survey_person_view(request: HttpRequest, person_id: int) -> HttpResponse:
    try:
        user = _user(request, FINDING_WORK_ROLES)
    except ShebaoError as exc:
        return _error(request, exc)
    person = person_scoped(user).select_related("household").filter(pk=person_id).first()
    if person is None:
        return render(request, "404.html", {"message": "未找到该人员"}, status=404)
    if request.method == "GET":
        with transaction.atomic():
            audit_record(
                actor=user,
                action=AuditAction.VIEW_PERSON,
                target_type="person",
                target_id=person.pk,
                person_id=person.pk,
                purpose=Purpose.SURVEY,
            )
    form = SurveyForm(request.POST or None)
    village = person.residence_region_id or person.hukou_region_id
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            survey_record(
                actor=user,
                person_id=person.pk,
                data=SurveyInput(
                    outcome=data["outcome"],
                    employment=data["employment"],
                    reason_uninsured=data["reason_uninsured"],
                    scheme_wanted=data["scheme_wanted"],
                    phone=data["phone"],
                    voluntary_schemes=tuple(data["voluntary_schemes"]),
                    note=data["note"],
                ),
            )
        except ShebaoError as exc:
            if exc.status in (403, 404):
                return _error(request, exc)
            form.add_error(None, exc.message)
            for detail in exc.details:
                if detail.get("field") in form.fields:
                    form.add_error(detail["field"], detail.get("reason", ""))
        else:
            messages.success(request, f"已记录 {mask_name(person.name)} 的调查结果")
            return redirect("registration:roster", code=village)
    return render(
        request,
        "registration/survey_person.html",
        {
            "person": person,
            "masked_name": mask_name(person.name),
            "masked_id": mask_id_number(person.id_number),
            "form": form,
            "village": village,
            "breadcrumbs": _crumbs(
                ("入户调查", reverse("registration:survey")),
                ("花名册", reverse("registration:roster", args=[village])),
                ("调查登记", ""),
            ),
        },
    )


# ---------------------------------------------------------------- coverage


def _coverage_region(request: HttpRequest, user: User) -> Region:
    code = request.GET.get("region", "").strip()
    if code:
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise PermissionDenied("该地区不存在或不在您的管辖范围内", code="OUT_OF_SCOPE")
        return region
    if user.organisation is not None:
        return user.organisation.region
    codes = _regions_with_people()
    region = Region.objects.filter(code__in=codes, level=2).order_by("code").first()
    if region is None:
        raise PermissionDenied("尚无参保登记数据", code="NO_DATA")
    return region


def _coverage_payload(total: Any, rows: list[Any], names: dict[str, str]) -> dict[str, Any]:
    def rate(value: float | None) -> float | None:
        return None if value is None else round(value * 100, 2)

    return {
        "region": {"code": total.code, "name": total.name},
        "goals": {"pension": PENSION_GOAL * 100, "medical": MEDICAL_GOAL * 100},
        "regions": [
            {
                "code": r.code,
                "name": r.name,
                "population": r.population,
                "pension_rate": rate(r.pension_rate),
                "medical_rate": rate(r.medical_rate),
                "drillable": r.drillable,
            }
            for r in rows
            if r.population
        ],
        "schemes": [
            {"code": code, "name": names.get(code, code), "persons": n}
            for code, n in sorted(total.by_scheme.items())
        ],
    }


@login_required
@require_GET
def coverage_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request, COVERAGE_ROLES)
        region = _coverage_region(request, user)
        total, rows = coverage_by_region(actor=user, region=region)
    except ShebaoError as exc:
        return _error(request, exc)
    names = scheme_names()
    scope = Scope.for_user(user)
    parent = (
        region.parent
        if region.parent is not None and scope.contains_region(region.parent_id)
        else None
    )
    return render(
        request,
        "registration/coverage.html",
        {
            "region": region,
            "parent": parent,
            "total": total,
            "rows": rows,
            "schemes": sorted(total.by_scheme.items()),
            "scheme_names": names,
            "payload": _coverage_payload(total, rows, names),
            "pension_goal": int(PENSION_GOAL * 100),
            "medical_goal": int(MEDICAL_GOAL * 100),
            "breadcrumbs": _crumbs(("参保覆盖", "")),
        },
    )


@login_required
@require_GET
def coverage_data_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request, COVERAGE_ROLES)
        region = _coverage_region(request, user)
        total, rows = coverage_by_region(actor=user, region=region)
    except ShebaoError as exc:
        return JsonResponse(
            {"error": {"code": exc.code, "message": exc.message}}, status=exc.status
        )
    return JsonResponse(
        _coverage_payload(total, rows, scheme_names()), json_dumps_params={"ensure_ascii": False}
    )


@login_required
@require_GET
def coverage_export_view(request: HttpRequest) -> HttpResponse:
    try:
        user = _user(request, COVERAGE_ROLES)
        region = _coverage_region(request, user)
        total, rows = coverage_by_region(actor=user, region=region)
    except ShebaoError as exc:
        return _error(request, exc)
    with transaction.atomic():
        audit_record(
            actor=user, action=AuditAction.EXPORT, target_type="coverage", target_id=region.code
        )
    return _xlsx(exports.coverage_xlsx(total, rows, scheme_names()), f"参保覆盖-{region.name}.xlsx")
