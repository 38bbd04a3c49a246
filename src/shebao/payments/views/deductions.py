"""Contributions from the card account (代扣) pages: the paying office signs and revokes
withholding authorisations and produces a month's deduction file per bank; the bank
downloads its deduction files (SM4-sealed) and uploads the results, imported whole or
refused whole. Persons are masked in every list."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods

from shebao.accounts.models import User
from shebao.errors import ShebaoError, ValidationFailed
from shebao.identity.masking import mask_bank_account, mask_id_number, mask_name
from shebao.pages import breadcrumbs, error_page, paginate
from shebao.payments.domain.amounts import parse_amount_fen
from shebao.payments.models import DeductionFile
from shebao.payments.roles import BANK_ROLES, BATCH_VIEW_ROLES, OFFICE_ROLES
from shebao.payments.selectors_withholding import (
    deduction_file_visible_get,
    deduction_files_visible,
    withholding_authorisations,
    withholding_banks,
    withholding_person_in_scope,
)
from shebao.payments.services.viewing import payment_persons_listed
from shebao.payments.services.withholding import (
    deduction_file_download,
    deduction_file_export,
    deduction_results_import,
    withholding_authorise,
    withholding_revoke,
)
from shebao.payments.views.common import actor_with_roles
from shebao.payments.views.office import yuan
from shebao.registry.models import Person, Scheme

_MAX_UPLOAD = 512 * 1024 * 1024


# The form fields a detail may name, as the clerk sees them on the page.
_FIELD_LABELS = {
    "id_number": "公民身份号码",
    "account_number": "扣款账号",
    "period": "扣款期别",
    "amount": "金额",
    "valid_from": "生效日期",
    "valid_until": "失效日期",
    "bank": "扣款银行",
    "scheme": "险种",
    "reason": "原因",
    "file": "文件",
}


def _detail_text(detail: dict[str, object]) -> str:
    """One detail in words ("第 3 行 扣款账号：应为 8 至 32 位数字"), never the machine keys."""
    where = []
    if detail.get("row") is not None:
        where.append(f"第 {detail['row']} 行")
    for key in ("field", "column"):
        if detail.get(key):
            where.append(_FIELD_LABELS.get(str(detail[key]), str(detail[key])))
    reason = str(detail.get("reason") or "")
    return " ".join(where) + (f"：{reason}" if where and reason else reason)


def _error_text(exc: ShebaoError) -> str:
    text = exc.message
    # A detail naming only a field repeats the message (“未找到该公民身份号码的人员”);
    # the row-by-row details of a file say where.
    details = [d for d in (exc.details or []) if isinstance(d, dict) and d.get("row") is not None][
        :10
    ]
    if details:
        text += "：" + "；".join(_detail_text(d) for d in details)
    return text


def _parse_date(value: str, field: str, label: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(
            f"{label}应为 YYYY-MM-DD",
            code="DATE_INVALID",
            details=[{"field": field, "reason": "应为 YYYY-MM-DD"}],
        ) from None


def _post_withholding(request: HttpRequest, actor: User) -> str:
    if request.POST.get("action") == "revoke":
        try:
            authorisation_id = int(request.POST.get("authorisation", ""))
        except ValueError:
            raise ValidationFailed("请选择要撤销的授权", code="AUTHORISATION_REQUIRED") from None
        withholding_revoke(actor=actor, authorisation_id=authorisation_id)
        return "已撤销代扣授权。"
    id_number = request.POST.get("id_number", "").strip().upper()
    person = Person.objects.filter(id_number=id_number).first()
    # Someone of another region is "not found" too: the office learns nothing of them.
    if person is None or not withholding_person_in_scope(actor, person.pk):
        raise ValidationFailed(
            "未找到该公民身份号码的人员",
            code="PERSON_NOT_FOUND",
            details=[{"field": "id_number", "reason": "未找到人员"}],
        )
    try:
        bank_id = int(request.POST.get("bank", ""))
    except ValueError:
        raise ValidationFailed("请选择扣款银行", code="BANK_REQUIRED") from None
    valid_to_text = request.POST.get("valid_to", "").strip()
    withholding_authorise(
        actor=actor,
        person_id=person.pk,
        scheme_code=request.POST.get("scheme", ""),
        bank_id=bank_id,
        account_number=request.POST.get("account_number", ""),
        valid_from=_parse_date(request.POST.get("valid_from", ""), "valid_from", "生效日期"),
        valid_to=_parse_date(valid_to_text, "valid_to", "截止日期") if valid_to_text else None,
    )
    return f"已为 {mask_name(person.name)} 签订代扣授权。"


@login_required
@require_http_methods(["GET", "POST"])
def withholding(request: HttpRequest) -> HttpResponse:
    try:
        # Auditors and the card centre read the page; only the office's clerks change it.
        actor = actor_with_roles(
            request, OFFICE_ROLES if request.method == "POST" else BATCH_VIEW_ROLES
        )
    except ShebaoError as exc:
        return error_page(request, exc)
    error = ""
    if request.method == "POST":
        try:
            messages.success(request, _post_withholding(request, actor))
            return redirect("payments:withholding")
        except ShebaoError as exc:
            # A revocation of another region's authorisation: 404, as for the other pages.
            if exc.status == 403 or (exc.status == 404 and request.POST.get("action") == "revoke"):
                return error_page(request, exc)
            error = _error_text(exc)
    search = request.GET.get("q", "")
    live_only = request.GET.get("live") == "1"
    page = paginate(request, withholding_authorisations(actor, search=search, live_only=live_only))
    payment_persons_listed(
        actor=actor, page="withholding", person_ids=[a.person_id for a in page.object_list]
    )
    return render(
        request,
        "payments/withholding.html",
        {
            "breadcrumbs": breadcrumbs(("代扣授权", "")),
            "page": page,
            "q": search,
            "live": live_only,
            "rows": [
                {
                    "id": a.pk,
                    "id_number": mask_id_number(a.person.id_number),
                    "name": mask_name(a.person.name),
                    "scheme": a.scheme.name,
                    "bank": a.bank.name,
                    "account": mask_bank_account(a.account_number),
                    "valid_from": a.valid_from,
                    "valid_to": a.valid_to,
                    "revoked_at": a.revoked_at,
                }
                for a in page.object_list
            ],
            "banks": withholding_banks(),
            "schemes": Scheme.objects.order_by("code"),
            "form": request.POST if error else {},
            "error": error,
            "may_work": actor.is_superuser or actor.has_role(*OFFICE_ROLES),
        },
        status=400 if error else 200,
    )


def _file_view(f: DeductionFile) -> dict[str, Any]:
    return {
        "code": f.code,
        "bank": f.bank.name,
        "scheme": f.scheme.name,
        "period": f.period,
        "status": f.get_status_display(),
        "record_count": f.record_count,
        "total": yuan(f.total_fen),
        "deducted_count": f.deducted_count,
        "deducted": yuan(f.deducted_fen),
        "failed_count": f.failed_count,
        "failed": yuan(f.failed_fen),
        "pending_count": f.record_count - f.deducted_count - f.failed_count,
        "created_at": f.created_at,
        "downloads": f.download_count,
    }


@login_required
@require_http_methods(["GET", "POST"])
def deductions(request: HttpRequest) -> HttpResponse:
    try:
        # Auditors and the card centre read the page; only the office's clerks change it.
        actor = actor_with_roles(
            request, OFFICE_ROLES if request.method == "POST" else BATCH_VIEW_ROLES
        )
    except ShebaoError as exc:
        return error_page(request, exc)
    error = ""
    if request.method == "POST":
        try:
            amount_fen = parse_amount_fen(request.POST.get("amount", ""))
            try:
                bank_id = int(request.POST.get("bank", ""))
            except ValueError:
                raise ValidationFailed("请选择银行", code="BANK_REQUIRED") from None
            produced = deduction_file_export(
                actor=actor,
                bank_id=bank_id,
                scheme_code=request.POST.get("scheme", ""),
                period=request.POST.get("period", "").strip(),
                amount_fen=amount_fen,
            )
            messages.success(
                request,
                f"已生成 {produced.bank.name} 的代扣文件 {produced.code}："
                f"{produced.record_count} 笔，{yuan(produced.total_fen)} 元。",
            )
            return redirect("payments:deductions")
        except ShebaoError as exc:
            # A revocation of another region's authorisation: 404, as for the other pages.
            if exc.status == 403 or (exc.status == 404 and request.POST.get("action") == "revoke"):
                return error_page(request, exc)
            error = _error_text(exc)
    page = paginate(request, deduction_files_visible(actor))
    return render(
        request,
        "payments/deductions.html",
        {
            "breadcrumbs": breadcrumbs(("代扣文件", "")),
            "page": page,
            "files": [_file_view(f) for f in page.object_list],
            "banks": withholding_banks(),
            "schemes": Scheme.objects.order_by("code"),
            "form": request.POST if error else {},
            "error": error,
            "may_work": actor.is_superuser or actor.has_role(*OFFICE_ROLES),
        },
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def bank_deductions(request: HttpRequest) -> HttpResponse:
    try:
        actor = actor_with_roles(request, BANK_ROLES)
    except ShebaoError as exc:
        return error_page(request, exc)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationFailed("请选择代扣回盘文件", code="FILE_REQUIRED")
            if upload.size is not None and upload.size > _MAX_UPLOAD:
                raise ValidationFailed("回盘文件过大", code="FILE_TOO_LARGE")
            result = deduction_results_import(actor=actor, data=b"".join(upload.chunks()))
            if result.already_imported:
                messages.info(
                    request, f"该回盘文件已导入过（代扣文件 {result.file.code}），未重复记账。"
                )
            else:
                messages.success(
                    request,
                    f"已导入代扣文件 {result.file.code} 的回盘：扣款成功 {result.deducted} 笔，"
                    f"失败 {result.failed} 笔。",
                )
            return redirect("payments:bank_deductions")
        except ShebaoError as exc:
            # A revocation of another region's authorisation: 404, as for the other pages.
            if exc.status == 403 or (exc.status == 404 and request.POST.get("action") == "revoke"):
                return error_page(request, exc)
            error = _error_text(exc)
    page = paginate(request, deduction_files_visible(actor))
    return render(
        request,
        "payments/bank_deductions.html",
        {
            "breadcrumbs": breadcrumbs(
                ("待遇发放文件", reverse("payments:bank_files")), ("代扣文件", "")
            ),
            "page": page,
            "files": [_file_view(f) for f in page.object_list],
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET"])
def bank_deduction_download(request: HttpRequest, code: str) -> HttpResponse:
    try:
        actor = actor_with_roles(request, BANK_ROLES)
        found = deduction_file_visible_get(actor, code)
        record, data = deduction_file_download(actor=actor, file_id=found.pk)
    except ShebaoError as exc:
        return error_page(request, exc)
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{record.code}.sm4"'
    return response


urlpatterns: list[URLPattern] = [
    path("withholding/", withholding, name="withholding"),
    path("deductions/", deductions, name="deductions"),
    path("bank/deductions/", bank_deductions, name="bank_deductions"),
    path("bank/deductions/<str:code>/", bank_deduction_download, name="bank_deduction_download"),
]
