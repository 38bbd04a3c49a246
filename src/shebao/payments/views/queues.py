"""The failure queue (发放失败) and the recovery list (追回) of the paying office; read-only
for the auditor and the card centre.

Failures: correct the account (the card's, after a replacement card the new one's), close
as 不再补发 with a reason, re-pay the corrected ones in a new batch, release those whose
re-payment batch was cancelled. Recoveries: record money recovered, ask for a waiver (核销)
that another clerk approves or refuses; the page gives the list's exact totals."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from shebao.accounts.models import User
from shebao.errors import NotFound, ShebaoError, ValidationFailed
from shebao.identity.masking import mask_bank_account, mask_id_number, mask_name
from shebao.pages import breadcrumbs, error_page, paginate
from shebao.payments.domain.amounts import parse_amount_fen
from shebao.payments.models import FailureStatus, RecoveryStatus
from shebao.payments.roles import BATCH_VIEW_ROLES, OFFICE_ROLES
from shebao.payments.selectors import failures_visible, recoveries_visible, recovery_totals
from shebao.payments.services.bank import payment_failures_repay
from shebao.payments.services.failures import (
    payment_failure_close,
    payment_failure_correct,
    payment_failure_release,
)
from shebao.payments.services.recoveries import (
    payment_recovery_record,
    payment_recovery_waive_decide,
    payment_recovery_waive_request,
)
from shebao.payments.services.viewing import payment_persons_listed
from shebao.payments.views.common import actor_with_roles
from shebao.payments.views.office import yuan


def _back(request: HttpRequest, name: str) -> str:
    """The list again, with the filter the clerk was looking at."""
    status = request.POST.get("status_filter", "")
    url = reverse(name)
    return f"{url}?status={status}" if status.isalnum() else url


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
        # The re-payment batch was cancelled: the failure may be released and paid again.
        "releasable": f.status == FailureStatus.QUEUED
        and f.repaid_by_row is not None
        and f.repaid_by_row.batch.status == "cancelled",
        "closed_reason": f.closed_reason,
    }


def _post_failures(request: HttpRequest, actor: User) -> HttpResponse:
    action = request.POST.get("action", "")
    visible = failures_visible(actor)
    if action in ("correct", "close", "release"):
        failure_id = request.POST.get("failure", "")
        found = visible.filter(pk=int(failure_id)).first() if failure_id.isdigit() else None
        if found is None:
            raise NotFound("未找到该发放失败记录", code="PAYMENT_FAILURE_NOT_FOUND")
        if action == "correct":
            account = request.POST.get("account_number", "").strip()
            failure = payment_failure_correct(
                actor=actor,
                failure_id=found.pk,
                account_number=account or None,
                note=request.POST.get("note", ""),
            )
            messages.success(
                request,
                f"已更正收款账户（社保卡账户尾号 {failure.corrected_account_number[-4:]}），"
                "可纳入补发批次。",
            )
        elif action == "close":
            payment_failure_close(
                actor=actor, failure_id=found.pk, reason=request.POST.get("reason", "")
            )
            messages.success(request, "已标记为不再补发。")
        else:
            payment_failure_release(actor=actor, failure_id=found.pk)
            messages.success(request, "补发批次已作废，该记录已释放，可重新纳入补发批次。")
        return redirect(_back(request, "payments:failures"))
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
    rows = [_failure_view(f) for f in page.object_list]
    payment_persons_listed(
        actor=actor, page="failures", person_ids=[f.person_id for f in page.object_list]
    )
    return render(
        request,
        "payments/failures.html",
        {
            "breadcrumbs": breadcrumbs(
                ("待遇发放", reverse("payments:batches")), ("发放失败队列", "")
            ),
            "page": page,
            "rows": rows,
            # The re-payment form only when the page lists something it could re-pay.
            "has_corrected": any(r["status_code"] == FailureStatus.CORRECTED for r in rows),
            "statuses": FailureStatus.choices,
            "status": status,
            "may_work": may_work,
            "error": error,
        },
        status=400 if error else 200,
    )


def _recovery_view(r: Any, actor: User) -> dict[str, Any]:
    def who(user: Any) -> str:
        return (user.get_full_name() or user.username) if user is not None else ""

    return {
        "id": r.pk,
        "batch": r.line.file.batch.code,
        "programme": r.line.file.batch.programme.name,
        "period": r.line.file.batch.period,
        "name": mask_name(r.person.name),
        "id_number": mask_id_number(r.person.id_number),
        "died_on": r.died_on,
        "amount": yuan(r.amount_fen),
        "recovered": yuan(r.recovered_fen),
        "outstanding": yuan(r.amount_fen - r.recovered_fen),
        "recovered_on": r.recovered_on,
        "reference": r.recovered_reference,
        "status": r.get_status_display(),
        "status_code": r.status,
        "waive_reason": r.waive_reason,
        "waive_requested_by": who(r.waive_requested_by),
        "waived_by": who(r.waived_by),
        "note": r.note,
        "is_open": r.status == RecoveryStatus.OPEN,
        "awaiting_waiver": r.status == RecoveryStatus.OPEN and r.waive_requested_by_id is not None,
        # The clerk who asked for the waiver does not decide it (maker–checker).
        "may_decide": r.waive_requested_by_id is not None and r.waive_requested_by_id != actor.pk,
    }


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(
            "追回日期格式应为 YYYY-MM-DD",
            code="RECOVERY_DATE_INVALID",
            details=[{"field": "recovered_on", "reason": "日期格式错误"}],
        ) from None


def _post_recoveries(request: HttpRequest, actor: User) -> HttpResponse:
    action = request.POST.get("action", "")
    recovery_id = request.POST.get("recovery", "")
    found = (
        recoveries_visible(actor).filter(pk=int(recovery_id)).first()
        if recovery_id.isdigit()
        else None
    )
    if found is None:
        raise NotFound("未找到该追回记录", code="RECOVERY_NOT_FOUND")
    if action == "recover":
        amount_text = request.POST.get("amount", "").strip()
        if not amount_text:
            raise ValidationFailed(
                "请填写追回金额（元）",
                code="RECOVERY_AMOUNT_INVALID",
                details=[{"field": "amount", "reason": "必填"}],
            )
        recovery = payment_recovery_record(
            actor=actor,
            recovery_id=found.pk,
            amount_fen=parse_amount_fen(amount_text),
            recovered_on=_parse_day(request.POST.get("recovered_on", "")),
            reference=request.POST.get("reference", ""),
        )
        left = yuan(recovery.amount_fen - recovery.recovered_fen)
        messages.success(
            request,
            "已登记追回，该笔已全部追回。"
            if recovery.status == RecoveryStatus.RECOVERED
            else f"已登记追回，尚余 {left} 元待追回。",
        )
    elif action == "waive_request":
        payment_recovery_waive_request(
            actor=actor, recovery_id=found.pk, reason=request.POST.get("reason", "")
        )
        messages.success(request, "已申请核销，请由本机构的其他经办人审批。")
    elif action in ("waive_approve", "waive_refuse"):
        payment_recovery_waive_decide(
            actor=actor,
            recovery_id=found.pk,
            approve=action == "waive_approve",
            note=request.POST.get("note", ""),
        )
        messages.success(request, "已核销。" if action == "waive_approve" else "已退回核销申请。")
    else:
        raise ShebaoError(code="ACTION_UNKNOWN", message="未知的操作")
    return redirect(_back(request, "payments:recoveries"))


@login_required
@require_http_methods(["GET", "POST"])
def recoveries(request: HttpRequest) -> HttpResponse:
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
                ShebaoError(code="PAYMENT_READ_ONLY", message="您只能查看追回清单", status=403),
            )
        try:
            return _post_recoveries(request, actor)
        except ShebaoError as exc:
            if exc.status == 404:
                return error_page(request, exc)
            error = exc.message
    status = request.GET.get("status", "")
    listed = recoveries_visible(actor, status=status)
    page = paginate(request, listed)
    totals = recovery_totals(recoveries_visible(actor))
    payment_persons_listed(
        actor=actor, page="recoveries", person_ids=[r.person_id for r in page.object_list]
    )
    return render(
        request,
        "payments/recoveries.html",
        {
            "breadcrumbs": breadcrumbs(("待遇发放", reverse("payments:batches")), ("追回清单", "")),
            "page": page,
            "rows": [_recovery_view(r, actor) for r in page.object_list],
            "totals": {
                "count": totals.count,
                "owed": yuan(totals.owed_fen),
                "recovered": yuan(totals.recovered_fen),
                "waived": yuan(totals.waived_fen),
                "outstanding": yuan(totals.outstanding_fen),
                "awaiting_waiver": totals.awaiting_waiver,
            },
            "statuses": [*RecoveryStatus.choices, ("waiving", "核销待审批")],
            "status": status,
            "may_work": may_work,
            "today": timezone.localdate(),
            "error": error,
        },
        status=400 if error else 200,
    )


urlpatterns: list[URLPattern] = [
    path("failures/", failures, name="failures"),
    path("recoveries/", recoveries, name="recoveries"),
]
