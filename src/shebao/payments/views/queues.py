"""The failure queue (发放失败) and the recovery list (追回) of the paying office; read-only
for the auditor and the card centre."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods

from shebao.accounts.models import User
from shebao.errors import NotFound, ShebaoError
from shebao.identity.masking import mask_bank_account, mask_id_number, mask_name
from shebao.pages import breadcrumbs, error_page, paginate
from shebao.payments.models import FailureStatus
from shebao.payments.roles import BATCH_VIEW_ROLES, OFFICE_ROLES
from shebao.payments.selectors import failures_visible, recoveries_visible
from shebao.payments.services.bank import payment_failure_correct, payment_failures_repay
from shebao.payments.views.common import actor_with_roles
from shebao.payments.views.office import yuan


def _failure_view(f: Any) -> dict[str, Any]:
    return {
        "id": f.pk,
        "batch": f.line.file.batch.code,
        "programme": f.line.file.batch.programme.name,
        "period": f.line.file.batch.period,
        "name": mask_name(f.person.name),
        "id_number": mask_id_number(f.person.id_number),
        "bank": f.bank.name,
        "amount": yuan(f.amount_fen),
        "reason": f.get_reason_display(),
        "bank_text": f.line.failure_text,
        "status": f.get_status_display(),
        "status_code": f.status,
        "corrected_account": mask_bank_account(f.corrected_account_number)
        if f.corrected_account_number
        else "",
        "repaid_in": f.repaid_by_row.batch.code if f.repaid_by_row else "",
    }


def _post_failures(request: HttpRequest, actor: User) -> HttpResponse:
    action = request.POST.get("action", "")
    visible = failures_visible(actor)
    if action == "correct":
        failure_id = request.POST.get("failure", "")
        found = visible.filter(pk=int(failure_id)).first() if failure_id.isdigit() else None
        if found is None:
            raise NotFound("未找到该发放失败记录", code="PAYMENT_FAILURE_NOT_FOUND")
        account = request.POST.get("account_number", "").strip()
        payment_failure_correct(
            actor=actor,
            failure_id=found.pk,
            account_number=account or None,
            note=request.POST.get("note", ""),
        )
        messages.success(request, "已更正收款账户，可纳入补发批次。")
        return redirect("payments:failures")
    if action == "repay":
        wanted = [int(v) for v in request.POST.getlist("failures") if v.isdigit()]
        ids = list(visible.filter(pk__in=wanted).values_list("pk", flat=True))
        if len(ids) != len(set(wanted)):
            raise NotFound("未找到所选的发放失败记录", code="PAYMENT_FAILURE_NOT_FOUND")
        batch = payment_failures_repay(
            actor=actor, failure_ids=ids, period=request.POST.get("period") or None
        )
        messages.success(
            request, f"已生成补发批次 {batch.code}，校验、提交并由其他经办人审批后发放。"
        )
        return redirect("payments:batch", code=batch.code)
    raise ShebaoError(code="ACTION_UNKNOWN", message="未知的操作")


@login_required
@require_http_methods(["GET", "POST"])
def failures(request: HttpRequest) -> HttpResponse:
    try:
        actor = actor_with_roles(request, BATCH_VIEW_ROLES)
    except ShebaoError as exc:
        return error_page(request, exc)
    may_work = actor.is_superuser or actor.has_role(*OFFICE_ROLES)
    error = ""
    if request.method == "POST":
        if not may_work:
            return error_page(
                request,
                ShebaoError(code="PAYMENT_READ_ONLY", message="您只能查看失败队列", status=403),
            )
        try:
            return _post_failures(request, actor)
        except ShebaoError as exc:
            if exc.status in (403, 404):
                return error_page(request, exc)
            error = exc.message
    status = request.GET.get("status", "")
    page = paginate(request, failures_visible(actor, status=status))
    return render(
        request,
        "payments/failures.html",
        {
            "breadcrumbs": breadcrumbs(
                ("待遇发放", reverse("payments:batches")), ("发放失败队列", "")
            ),
            "page": page,
            "rows": [_failure_view(f) for f in page.object_list],
            "statuses": FailureStatus.choices,
            "status": status,
            "may_work": may_work,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET"])
def recoveries(request: HttpRequest) -> HttpResponse:
    try:
        actor = actor_with_roles(request, BATCH_VIEW_ROLES)
    except ShebaoError as exc:
        return error_page(request, exc)
    page = paginate(request, recoveries_visible(actor))
    return render(
        request,
        "payments/recoveries.html",
        {
            "breadcrumbs": breadcrumbs(("待遇发放", reverse("payments:batches")), ("追回清单", "")),
            "page": page,
            "rows": [
                {
                    "batch": r.line.file.batch.code,
                    "programme": r.line.file.batch.programme.name,
                    "period": r.line.file.batch.period,
                    "name": mask_name(r.person.name),
                    "id_number": mask_id_number(r.person.id_number),
                    "died_on": r.died_on,
                    "amount": yuan(r.amount_fen),
                    "recovered": yuan(r.recovered_fen),
                    "status": r.get_status_display(),
                }
                for r in page.object_list
            ],
        },
    )


urlpatterns: list[URLPattern] = [
    path("failures/", failures, name="failures"),
    path("recoveries/", recoveries, name="recoveries"),
]
