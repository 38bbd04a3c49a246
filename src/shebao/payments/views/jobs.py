"""Long payment work on the worker, with its progress on a page (as the registration imports
and comparisons do): importing an office file and generating a batch always run as a job; a
batch's check, approval and bank-file export run as a job above
`EXPORT_IN_BACKGROUND_ROWS` rows (the export's existing rule) and in the request below it.

The job page polls the jobs app's progress endpoint and, once the job has succeeded, sends
the clerk to the batch; a failed job shows its Chinese error. A job is followed by its
submitter, a colleague of the same organisation or an administrator (`jobs.selectors`)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET

from shebao.accounts.models import User
from shebao.errors import NotFound, ShebaoError
from shebao.jobs.models import Job
from shebao.jobs.selectors import job_progress, job_visible
from shebao.jobs.services import job_enqueue
from shebao.pages import breadcrumbs, error_page
from shebao.payments.jobs_bank import EXPORT_BANK_FILES
from shebao.payments.jobs_batches import BATCH_APPROVE, BATCH_CHECK, BATCH_GENERATE, BATCH_IMPORT
from shebao.payments.roles import BATCH_VIEW_ROLES
from shebao.payments.views.common import actor_with_roles

BATCH_JOB_KINDS: Final = (BATCH_IMPORT, BATCH_GENERATE, BATCH_CHECK, BATCH_APPROVE)
PAYMENT_JOB_KINDS: Final = (*BATCH_JOB_KINDS, EXPORT_BANK_FILES)
_DONE_TEXT: Final[dict[str, str]] = {
    BATCH_IMPORT: "发放名单已导入并逐行校验。",
    BATCH_GENERATE: "发放批次已生成并逐行校验。",
    BATCH_CHECK: "已重新逐行校验。",
    BATCH_APPROVE: "已审批通过，批次已冻结。",
    EXPORT_BANK_FILES: "已生成银行发放文件（SM4 加密），各合作银行可下载。",
}


def _upload_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "payments" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_upload(upload: UploadedFile) -> Path:
    """Keep the office's file where the worker can read it (the request's temporary file is
    gone by the time the job runs)."""
    suffix = Path(upload.name or "").suffix.lower()[:8]
    target = _upload_dir() / f"{uuid.uuid4().hex}{suffix}"
    partial = target.with_name(target.name + ".part")
    with partial.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    partial.replace(target)
    return target


def enqueue(kind: str, actor: User, **parameters: Any) -> Job:
    return job_enqueue(kind=kind, parameters={"actor_id": actor.pk, **parameters}, created_by=actor)


def batch_jobs_pending(batch_id: int) -> Job | None:
    """The newest unfinished job working on the batch, if any (the batch page shows it)."""
    return (
        Job.objects.filter(
            kind__in=PAYMENT_JOB_KINDS,
            parameters__batch_id=batch_id,
            status__in=("queued", "running"),
        )
        .order_by("-pk")
        .first()
    )


def _payment_job(actor: User, pk: int) -> Job:
    job = job_visible(actor=actor, job_id=pk)
    if job.kind not in PAYMENT_JOB_KINDS:
        raise NotFound("未找到该任务", code="JOB_NOT_FOUND")
    return job


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        actor = actor_with_roles(request, BATCH_VIEW_ROLES)
        job = _payment_job(actor, pk)
    except ShebaoError as exc:
        return error_page(request, exc)
    result = job.result if isinstance(job.result, dict) else {}
    code = result.get("batch")
    if code is None and "batch_id" in job.parameters:
        from shebao.payments.models import PaymentBatch

        code = (
            PaymentBatch.objects.filter(pk=job.parameters["batch_id"])
            .values_list("code", flat=True)
            .first()
        )
    if job.status == "succeeded" and code:
        text = _DONE_TEXT.get(job.kind, "任务已完成。")
        if job.kind == BATCH_GENERATE and result.get("created") is False:
            text = f"相同数据已生成过发放批次 {code}。"
        messages.success(request, text)
        return redirect("payments:batch", code=code)
    progress = job_progress(job)
    return render(
        request,
        "payments/job.html",
        {
            "breadcrumbs": breadcrumbs(
                ("待遇发放", reverse("payments:batches")), (progress["kind_label"], "")
            ),
            "job": progress,
            "batch_code": code or "",
            "retry_url": reverse("payments:batch_new")
            if job.kind in (BATCH_IMPORT, BATCH_GENERATE)
            else "",
        },
    )


urlpatterns: list[URLPattern] = [
    path("jobs/<int:pk>/", job_detail, name="job"),
]
