"""The paying office's pages (待遇发放): programmes and batches (search, status filter,
pagination), preparing a batch (upload the office's file or generate it from the system's
data), the check results with every problem row's reasons in Chinese, correcting or dropping
rows, submitting, and approval by another clerk (maker–checker). The auditor and the card
centre see the same pages read-only, with the batch's history and audit trail.

Views parse the request, call a selector or a service and render; scope (a paying office
sees only its own programmes), masking and auditing happen in those selectors and
services. Out-of-scope batches answer 404, never revealing that they exist.

Importing a file and generating a batch always run on the worker, the clerk following the
job's page; checking, approving and exporting a big batch too (see `views.jobs`)."""

from __future__ import annotations

from typing import Any, Final

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods

from shebao.accounts.choices import Purpose
from shebao.accounts.models import User
from shebao.errors import ShebaoError
from shebao.identity.masking import mask_bank_account, mask_id_number, mask_name
from shebao.jobs.models import Job
from shebao.jobs.selectors import job_progress
from shebao.pages import breadcrumbs, error_page, paginate
from shebao.payments.domain.amounts import format_yuan, parse_amount_fen
from shebao.payments.domain.batch_lifecycle import BatchEvent, BatchStatus, allowed_events
from shebao.payments.forms import BatchGenerateForm, BatchImportForm
from shebao.payments.jobs_batches import BATCH_APPROVE, BATCH_CHECK, BATCH_GENERATE, BATCH_IMPORT
from shebao.payments.models import PaymentBatch
from shebao.payments.roles import BATCH_VIEW_ROLES, OFFICE_ROLES
from shebao.payments.selectors import (
    bank_files_visible,
    batch_audit_events,
    batch_history,
    batch_reconciliation_view,
    batch_rows,
    batch_visible_get,
    batches_visible,
    programmes_visible,
    reason_texts,
)
from shebao.payments.services.bank import EXPORT_IN_BACKGROUND_ROWS, payment_files_export_start
from shebao.payments.services.batches import (
    payment_batch_approve,
    payment_batch_cancel,
    payment_batch_check,
    payment_batch_drop_problem_rows,
    payment_batch_submit,
    payment_row_correct,
    payment_row_drop,
)
from shebao.payments.services.checking import parse_batch_period
from shebao.payments.services.viewing import payment_rows_viewed
from shebao.payments.views.common import actor_with_roles
from shebao.payments.views.jobs import batch_jobs_pending, enqueue, store_upload

ROWS_PAGE_SIZE: Final[int] = 50
_CRUMB: Final[str] = "待遇发放"


def _may_work(actor: User) -> bool:
    return actor.is_superuser or actor.has_role(*OFFICE_ROLES)


def yuan(fen: int | None) -> str:
    return "—" if fen is None else format_yuan(fen)


@login_required
@require_http_methods(["GET"])
def batches(request: HttpRequest) -> HttpResponse:
    try:
        actor = actor_with_roles(request, BATCH_VIEW_ROLES)
    except ShebaoError as exc:
        return error_page(request, exc)
    search = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    page = paginate(request, batches_visible(actor, search=search, status=status))
    return render(
        request,
        "payments/batches.html",
        {
            "breadcrumbs": breadcrumbs((_CRUMB, "")),
            "page": page,
            "rows": [
                {
                    "code": b.code,
                    "programme": b.programme.name,
                    "office": b.programme.paying_office.name,
                    "period": b.period,
                    "status": BatchStatus(b.status).label,
                    "status_code": b.status,
                    "row_count": b.row_count,
                    "payable_count": b.payable_count,
                    "payable_yuan": yuan(b.payable_fen),
                    "problem_count": b.problem_count,
                    "prepared_by": b.prepared_by.get_full_name() or b.prepared_by.username,
                    "prepared_at": b.prepared_at,
                }
                for b in page.object_list
            ],
            "programmes": list(programmes_visible(actor).order_by("code")),
            "statuses": [(s.value, s.label) for s in BatchStatus],
            "q": search,
            "status": status,
            "may_work": _may_work(actor),
        },
    )


def _enqueue_upload(actor: User, form: BatchImportForm) -> Job:
    """The office's file kept for the worker, the import (and its check) queued. The period
    is checked here so that a typing slip is answered at once, not by a failed job."""
    programme = form.cleaned_data["programme"]
    parse_batch_period(programme, form.cleaned_data["period"])
    upload = form.cleaned_data["file"]
    stored = store_upload(upload)
    return enqueue(
        BATCH_IMPORT,
        actor,
        programme_id=programme.pk,
        period=form.cleaned_data["period"],
        path=str(stored),
        file_name=upload.name,
    )


@login_required
@require_http_methods(["GET", "POST"])
def batch_new(request: HttpRequest) -> HttpResponse:
    try:
        actor = actor_with_roles(request, OFFICE_ROLES)
    except ShebaoError as exc:
        return error_page(request, exc)
    programmes = programmes_visible(actor).filter(is_active=True).order_by("code")
    mode = request.POST.get("mode", "")
    upload_form = BatchImportForm(
        request.POST if mode == "import" else None,
        request.FILES if mode == "import" else None,
        programmes=programmes,
    )
    generate_form = BatchGenerateForm(
        request.POST if mode == "generate" else None, programmes=programmes
    )
    error = ""
    if request.method == "POST":
        try:
            if mode == "import" and upload_form.is_valid():
                job = _enqueue_upload(actor, upload_form)
                return redirect("payments:job", pk=job.pk)
            if mode == "generate" and generate_form.is_valid():
                programme = generate_form.cleaned_data["programme"]
                parse_batch_period(programme, generate_form.cleaned_data["period"])
                amount = generate_form.cleaned_data["amount"].strip()
                job = enqueue(
                    BATCH_GENERATE,
                    actor,
                    programme_id=programme.pk,
                    period=generate_form.cleaned_data["period"],
                    amount_fen=parse_amount_fen(amount) if amount else None,
                )
                return redirect("payments:job", pk=job.pk)
        except ShebaoError as exc:
            if exc.status in (403, 404):
                return error_page(request, exc)
            error = exc.message
            details = [d for d in (exc.details or []) if isinstance(d, dict)]
            if details:
                error += "：" + "；".join(
                    "，".join(f"{k} {v}" for k, v in d.items()) for d in details[:5]
                )
    return render(
        request,
        "payments/batch_new.html",
        {
            "breadcrumbs": breadcrumbs((_CRUMB, reverse("payments:batches")), ("新建批次", "")),
            "upload_form": upload_form,
            "generate_form": generate_form,
            "error": error,
            "has_programmes": programmes.exists(),
        },
        status=400 if error else 200,
    )


def _row_view(row: Any) -> dict[str, Any]:
    line = getattr(row, "bank_line", None)
    return {
        "id": row.pk,
        "number": row.row_number,
        "id_number": mask_id_number(row.id_number),
        "name": mask_name(row.name),
        "amount_text": row.amount_text,
        "amount": yuan(row.amount_fen),
        "payable": row.payable,
        "dropped": row.dropped,
        "note": row.note,
        "reasons": reason_texts(row.reasons),
        "account": mask_bank_account(row.frozen_account_number)
        if row.frozen_account_number
        else "",
        "line_status": line.get_status_display() if line is not None else "",
        "line_reason": line.failure_text or line.get_failure_reason_display()
        if line is not None and line.failure_reason
        else "",
    }


def _in_background(batch: PaymentBatch) -> bool:
    """A big batch is checked, approved and exported by the worker (the export's rule)."""
    return batch.row_count > EXPORT_IN_BACKGROUND_ROWS


def _post_batch(request: HttpRequest, actor: User, batch: PaymentBatch) -> str:
    action = request.POST.get("action", "")
    note = request.POST.get("note", "").strip()
    row_id = request.POST.get("row", "")
    if action in ("check", "approve") and _in_background(batch):
        kind = BATCH_CHECK if action == "check" else BATCH_APPROVE
        enqueue(kind, actor, batch_id=batch.pk, note=note)
        return "已提交后台处理，完成后本页自动刷新。"
    if action == "check":
        payment_batch_check(actor=actor, batch_id=batch.pk)
        return "已重新逐行校验。"
    if action == "correct" and row_id.isdigit():
        row = payment_row_correct(
            actor=actor,
            row_id=int(row_id),
            id_number=request.POST.get("id_number") or None,
            name=request.POST.get("name") or None,
            amount=request.POST.get("amount") or None,
            note=note,
        )
        payment_batch_check(actor=actor, batch_id=batch.pk)
        return f"已更正第 {row.row_number} 行并重新校验。"
    if action == "drop" and row_id.isdigit():
        row = payment_row_drop(actor=actor, row_id=int(row_id), note=note)
        payment_batch_check(actor=actor, batch_id=batch.pk)
        return f"已剔除第 {row.row_number} 行。"
    if action == "drop_problems":
        dropped = payment_batch_drop_problem_rows(actor=actor, batch_id=batch.pk, note=note)
        payment_batch_check(actor=actor, batch_id=batch.pk)
        return f"已剔除 {dropped} 行有问题的明细。"
    if action == "submit":
        payment_batch_submit(actor=actor, batch_id=batch.pk)
        return "已提交审批，请由本机构的其他经办人审批。"
    if action == "approve":
        payment_batch_approve(actor=actor, batch_id=batch.pk, note=note)
        return "已审批通过，批次已冻结。"
    if action == "export":
        files = payment_files_export_start(actor=actor, batch_id=batch.pk)
        if isinstance(files, int):
            return "已提交后台生成银行发放文件，完成后本页自动刷新。"
        return f"已生成 {len(files)} 个银行发放文件（SM4 加密），各合作银行可下载。"
    if action == "cancel":
        payment_batch_cancel(actor=actor, batch_id=batch.pk, note=note)
        return "批次已作废。"
    raise ShebaoError(code="ACTION_UNKNOWN", message="未知的操作")


@login_required
@require_http_methods(["GET", "POST"])
def batch_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        actor = actor_with_roles(request, BATCH_VIEW_ROLES)
        batch = batch_visible_get(actor, code)
    except ShebaoError as exc:
        return error_page(request, exc)
    error = ""
    if request.method == "POST":
        try:
            if not _may_work(actor):
                return error_page(
                    request,
                    ShebaoError(code="PAYMENT_READ_ONLY", message="您只能查看发放批次", status=403),
                )
            messages.success(request, _post_batch(request, actor, batch))
            return redirect("payments:batch", code=batch.code)
        except ShebaoError as exc:
            if exc.status == 404:
                return error_page(request, exc)
            error = exc.message
        batch.refresh_from_db()
    status = BatchStatus(batch.status)
    # While problems wait to be corrected the page opens on them; otherwise on every row.
    default_show = "problems" if batch.problem_count and status.is_editable else "all"
    problems_only = request.GET.get("show", default_show) == "problems"
    rows_page = paginate(request, batch_rows(batch, problems_only=problems_only), ROWS_PAGE_SIZE)
    rows = [_row_view(r) for r in rows_page.object_list]
    payment_rows_viewed(actor=actor, batch=batch, row_numbers=[r["number"] for r in rows])
    pending = batch_jobs_pending(batch.pk)
    # While a job works on the batch, no other action is offered (the page follows the job).
    events = set(allowed_events(status)) if _may_work(actor) and pending is None else set()
    files = list(bank_files_visible(actor).filter(batch=batch))
    reconciliation = batch_reconciliation_view(actor=actor, batch=batch) if files else None
    return render(
        request,
        "payments/batch.html",
        {
            "breadcrumbs": breadcrumbs(
                (_CRUMB, reverse("payments:batches")), (f"批次 {batch.code}", "")
            ),
            "batch": batch,
            "status": status.label,
            "payable_yuan": yuan(batch.payable_fen),
            "rows": rows,
            "page": rows_page,
            "problems_only": problems_only,
            "editable": status.is_editable and _may_work(actor) and pending is None,
            "may_check": BatchEvent.CHECK in events,
            # Submitting needs every problem corrected or dropped (the service says so too).
            "may_submit": BatchEvent.SUBMIT in events
            and batch.problem_count == 0
            and batch.payable_count > 0,
            "may_approve": BatchEvent.APPROVE in events,
            "may_cancel": BatchEvent.CANCEL in events,
            "may_export": BatchEvent.EXPORT in events,
            "files": [
                {
                    "code": f.code,
                    "bank": f.bank.name,
                    "branch": f.branch.name if f.branch else "",
                    "status": f.get_status_display(),
                    "record_count": f.record_count,
                    "total": yuan(f.total_fen),
                    "paid_count": f.paid_count,
                    "paid": yuan(f.paid_fen),
                    "failed_count": f.failed_count,
                    "failed": yuan(f.failed_fen),
                }
                for f in files
            ],
            "reconciliation": reconciliation,
            "job": job_progress(pending) if pending is not None else None,
            "history": [
                {
                    "at": h.at,
                    "event": BatchEvent(h.event).label,
                    "from": BatchStatus(h.from_status).label,
                    "to": BatchStatus(h.to_status).label,
                    "actor": (h.actor.get_full_name() or h.actor.username) if h.actor else "系统",
                    "note": h.note,
                }
                for h in batch_history(batch)
            ],
            "audit": [
                {
                    "at": e.at,
                    "username": e.username,
                    "action": e.get_action_display(),
                    "event": e.detail.get("event", "") if isinstance(e.detail, dict) else "",
                    "purpose": Purpose(e.purpose).label if e.purpose in Purpose.values else "—",
                }
                for e in batch_audit_events(batch)
            ],
            "error": error,
        },
        status=400 if error else 200,
    )


urlpatterns: list[URLPattern] = [
    path("", batches, name="batches"),
    path("batches/new/", batch_new, name="batch_new"),
    path("batches/<str:code>/", batch_detail, name="batch"),
]
