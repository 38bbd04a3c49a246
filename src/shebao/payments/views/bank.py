"""The cooperating bank's page (待遇发放文件): the payment files addressed to the bank (a
branch: only those addressed to the branch itself), to download SM4-sealed, and the sealed
results file to upload. The first download counts as sent; results are imported whole or
refused whole, and the same results file twice changes nothing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from shebao.errors import ShebaoError, ValidationFailed
from shebao.pages import breadcrumbs, error_page, paginate
from shebao.payments.roles import BANK_ROLES
from shebao.payments.selectors import bank_file_visible_get, bank_files_visible
from shebao.payments.services.bank import payment_file_download, payment_results_import
from shebao.payments.views.common import actor_with_roles
from shebao.payments.views.office import yuan

_MAX_UPLOAD = 512 * 1024 * 1024


@login_required
@require_http_methods(["GET", "POST"])
def bank_files(request: HttpRequest) -> HttpResponse:
    try:
        actor = actor_with_roles(request, BANK_ROLES)
    except ShebaoError as exc:
        return error_page(request, exc)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationFailed("请选择银行回盘文件", code="FILE_REQUIRED")
            if upload.size is not None and upload.size > _MAX_UPLOAD:
                raise ValidationFailed("回盘文件过大", code="FILE_TOO_LARGE")
            result = payment_results_import(actor=actor, data=b"".join(upload.chunks()))
            if result.already_imported:
                messages.info(
                    request, f"该回盘文件已导入过（发放文件 {result.file.code}），未重复记账。"
                )
            else:
                messages.success(
                    request,
                    f"已导入发放文件 {result.file.code} 的回盘：成功 {result.paid} 笔，"
                    f"失败 {result.failed} 笔"
                    + (f"，未发送的流水号 {result.never_sent} 笔" if result.never_sent else "")
                    + "。",
                )
            return redirect("payments:bank_files")
        except ShebaoError as exc:
            if exc.status == 403:
                return error_page(request, exc)
            error = exc.message
            details = [d for d in (exc.details or []) if isinstance(d, dict)][:10]
            if details:
                error += "：" + "；".join(
                    "，".join(f"{k} {v}" for k, v in d.items()) for d in details
                )
    page = paginate(request, bank_files_visible(actor))
    return render(
        request,
        "payments/bank_files.html",
        {
            "breadcrumbs": breadcrumbs(("待遇发放文件", "")),
            "page": page,
            "files": [
                {
                    "code": f.code,
                    "programme": f.batch.programme.name,
                    "period": f.batch.period,
                    "branch": f.branch.name if f.branch else f.bank.name,
                    "status": f.get_status_display(),
                    "record_count": f.record_count,
                    "total": yuan(f.total_fen),
                    "paid_count": f.paid_count,
                    "failed_count": f.failed_count,
                    "created_at": f.created_at,
                    "downloads": f.download_count,
                }
                for f in page.object_list
            ],
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET"])
def bank_file_download(request: HttpRequest, code: str) -> HttpResponse:
    try:
        actor = actor_with_roles(request, BANK_ROLES)
        found = bank_file_visible_get(actor, code)
        record, data = payment_file_download(actor=actor, file_id=found.pk)
    except ShebaoError as exc:
        return error_page(request, exc)
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{record.code}.sm4"'
    return response


urlpatterns: list[URLPattern] = [
    path("bank/", bank_files, name="bank_files"),
    path("bank/files/<str:code>/", bank_file_download, name="bank_file_download"),
]
