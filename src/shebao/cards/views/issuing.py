"""Pages of card issuing (申领, 制卡, 开户):

- 申领批次 (issuing/batches/): a unit uploads its collective file and photo ZIP; every level
  sees the batches it sent, holds or passed on, forwards them up, opens one to see each row's
  result (masked) and downloads the ineligible rows as XLSX to correct and re-send;
- 窗口申领 (issuing/counter/): a village clerk registers an applicant (bank, phone, photo or
  the police photo, the scanned signed form), corrects ineligible ones, sends the day's batch;
- 制卡管理 (issuing/production/): the card centre forms production batches, exports the
  encrypted vendor file and imports the vendor's results;
- 开户工作台 (issuing/accounts/): per bank and branch the figures (received, opened, rate,
  due, overdue), the requests to download and the results to upload, the clean-up queue.

Views parse the request, call a selector or a service, and render.
"""

from __future__ import annotations

from typing import Any, Final

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.decorators import staff_required
from shebao.accounts.models import Organisation, User
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Application, ApplicationBatch, ApplicationStatus, Card
from shebao.cards.selectors.issuing import (
    account_failures_visible,
    account_requests_visible,
    application_batches_visible,
    application_rows,
    applications_visible,
    ineligible_of,
    production_batches_visible,
)
from shebao.cards.services.applications import (
    COLLECTIVE_SUBMITTERS,
    CounterInput,
    application_batch_correct,
    application_batch_forward,
    application_batch_upload,
    application_counter_create,
    application_resubmit,
    cooperating_banks_for,
    counter_batch_submit,
    ineligible_xlsx,
)
from shebao.cards.services.banking import (
    account_failures_resubmit,
    account_opening_stats,
    account_request_export,
    account_results_import,
)
from shebao.cards.services.production import (
    production_batch_export,
    production_batches_form,
    production_failed_cards,
    production_failed_remake,
    production_results_import,
)
from shebao.errors import PermissionDenied, ShebaoError
from shebao.identity.masking import mask_id_number, mask_name
from shebao.pages import breadcrumbs as _crumbs
from shebao.pages import error_page as _error_page
from shebao.pages import paginate as _page

XLSX: Final[str] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    return user


def _flash_error(request: HttpRequest, exc: ShebaoError) -> None:
    detail = "；".join(
        f"第 {d.get('row')} 行 {d.get('field', '')}：{d.get('reason', '')}"
        for d in exc.details[:10]
        if "row" in d
    )
    messages.error(request, exc.message + (f"（{detail}）" if detail else ""))


def _is_admin(actor: User) -> bool:
    return bool(actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN))


def _kind(actor: User) -> str:
    return actor.organisation.kind if actor.organisation else ""


# ---------------------------------------------------------------- application batches


class UploadForm(forms.Form):
    file = forms.FileField(
        label="申领文件",
        help_text="CSV 或 Excel，列：银行、姓名、性别、身份证号(18位)、联系电话、工作证号(学籍号)",
    )
    photos = forms.FileField(
        label="照片压缩包",
        required=False,
        help_text="ZIP，照片以身份证号或学籍号命名（如 420704200801011234.jpg）",
    )


@staff_required
@require_http_methods(["GET", "POST"])
def batches_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    can_upload = _kind(actor) in COLLECTIVE_SUBMITTERS or _is_admin(actor)
    form = UploadForm()
    if request.method == "POST":
        if not can_upload:
            return _error_page(request, PermissionDenied("只有申领单位可以上传申领文件"))
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                result = application_batch_upload(
                    actor=actor,
                    file=form.cleaned_data["file"],
                    photo_zip=form.cleaned_data.get("photos"),
                )
            except ShebaoError as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(
                    request,
                    f"已上传申领批次 {result.batch.code}：共 {result.rows} 条，"
                    f"符合制卡条件 {result.eligible} 条，不符合 {result.ineligible} 条",
                )
                return redirect("cards:issuing_batch", pk=result.batch.pk)
    batches = application_batches_visible(actor).order_by("-created_at", "-pk")
    return render(
        request,
        "cards/issuing/batches.html",
        {
            "breadcrumbs": _crumbs(("申领批次", "")),
            "form": form,
            "can_upload": can_upload,
            "page": _page(request, batches),
            "org": actor.organisation,
        },
    )


def _batch_for(actor: User, pk: int) -> ApplicationBatch:
    batch = application_batches_visible(actor).filter(pk=pk).first()
    if batch is None:
        raise PermissionDenied("申领批次不存在或不在您的管辖范围内", code="NOT_FOUND")
    return batch


@staff_required
def batch_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    try:
        batch = _batch_for(actor, pk)
    except ShebaoError as exc:
        return _error_page(request, exc)
    only_bad = request.GET.get("show") == "ineligible"
    apps = Application.objects.filter(batch=batch).select_related("card").order_by("row", "pk")
    if only_bad:
        apps = apps.filter(status=ApplicationStatus.INELIGIBLE)
    page = _page(request, apps)
    return render(
        request,
        "cards/issuing/batch.html",
        {
            "breadcrumbs": _crumbs(
                ("申领批次", reverse("cards:issuing_batches")), (batch.code, "")
            ),
            "batch": batch,
            "page": page,
            "rows": application_rows(page.object_list),
            "only_bad": only_bad,
            "can_forward": (batch.holder_id == actor.organisation_id or _is_admin(actor))
            and batch.status in ("at_submitter", "at_intermediate", "at_district"),
            "is_counter": batch.kind == "individual",
            "can_correct": batch.kind == "collective"
            and batch.submitter_id == actor.organisation_id
            and batch.ineligible_count > 0,
            "correct_form": UploadForm(),
        },
    )


@staff_required
@require_POST
def batch_correct_view(request: HttpRequest, pk: int) -> HttpResponse:
    """更正后重新提交: the corrected rows join this batch, keeping the photos it holds."""
    actor = _actor(request)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "请选择更正后的申领文件")
        return redirect("cards:issuing_batch", pk=pk)
    try:
        result = application_batch_correct(
            actor=actor,
            batch_id=_batch_for(actor, pk).pk,
            file=form.cleaned_data["file"],
            photo_zip=form.cleaned_data.get("photos"),
        )
    except ShebaoError as exc:
        _flash_error(request, exc)
    else:
        messages.success(
            request,
            f"已更正重报 {result.rows} 条（并入批次 {result.batch.code}）："
            f"符合制卡条件 {result.eligible} 条，仍不符合 {result.ineligible} 条",
        )
    return redirect("cards:issuing_batch", pk=pk)


@staff_required
@require_POST
def batch_forward_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    try:
        batch = application_batch_forward(actor=actor, batch_id=_batch_for(actor, pk).pk)
    except ShebaoError as exc:
        _flash_error(request, exc)
    else:
        messages.success(request, f"批次 {batch.code} 已上报至“{batch.holder.name}”")
    return redirect("cards:issuing_batch", pk=pk)


@staff_required
def batch_ineligible_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    try:
        batch = _batch_for(actor, pk)
    except ShebaoError as exc:
        return _error_page(request, exc)
    data = ineligible_xlsx(list(ineligible_of(batch)))
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="ineligible-{batch.code}.xlsx"'
    return response


# ---------------------------------------------------------------- village counter


class CounterForm(forms.Form):
    id_number = forms.CharField(label="身份证号码", max_length=18)
    name = forms.CharField(label="姓名", max_length=64)
    bank = forms.ChoiceField(label="金融服务银行", choices=())
    phone = forms.CharField(label="联系电话", max_length=16)
    photo_choice = forms.ChoiceField(
        label="照片",
        choices=(("upload", "上传照片"), ("police", "使用公安部门的身份证照片")),
        widget=forms.RadioSelect,
        error_messages={"required": "请选择照片：上传照片，或使用公安部门的身份证照片"},
    )
    photo = forms.FileField(label="上传照片（JPEG）", required=False)
    signed_form = forms.FileField(label="签字的申领登记表扫描件")
    correcting = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        banks: dict[str, Organisation],
        keep_photo: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if keep_photo:
            choice = self.fields["photo_choice"]
            assert isinstance(choice, forms.ChoiceField)  # noqa: S101 - declared above
            choice.choices = [
                ("keep", "沿用原申领上传的照片"),
                ("upload", "上传照片"),
                ("police", "使用公安部门的身份证照片"),
            ]
        bank_field = self.fields["bank"]
        assert isinstance(bank_field, forms.ChoiceField)  # noqa: S101 - declared above
        bank_field.choices = [("", "请选择")] + [
            (str(org.pk), org.name) for _, org in sorted(banks.items())
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("photo_choice") == "upload" and not data.get("photo"):
            self.add_error("photo", "请选择要上传的照片")
        return data


def _stored_photo(app: Application | None) -> bytes | None:
    if app is None or not app.photo:
        return None
    try:
        with app.photo.open("rb") as fh:
            data: bytes = fh.read()
    except OSError:
        return None
    return data


def _counter_input(form: CounterForm, correcting: Application | None = None) -> CounterInput:
    data = form.cleaned_data
    choice = data.get("photo_choice")
    upload = data.get("photo") if choice == "upload" else None
    photo = b"".join(upload.chunks()) if upload else None
    if choice == "keep":
        photo = _stored_photo(correcting)
    signed = data["signed_form"]
    return CounterInput(
        id_number=data["id_number"],
        name=data["name"],
        bank_id=int(data["bank"]) if data.get("bank") else None,
        phone=data["phone"],
        photo=photo,
        use_police_photo=choice == "police",
        signed_form=b"".join(signed.chunks()),
        signed_form_name=signed.name or "form.pdf",
    )


@login_required
@require_http_methods(["GET", "POST"])
def counter_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    org = actor.organisation
    if org is None or org.kind != OrganisationKind.VILLAGE_COMMITTEE:
        return _error_page(request, PermissionDenied("窗口申领由村（居）委会经办人员办理"))
    banks = cooperating_banks_for(org.region_id)
    correcting = None
    if request.GET.get("correct", "").isdigit():
        correcting = (
            applications_visible(actor)
            .filter(pk=request.GET["correct"], status=ApplicationStatus.INELIGIBLE)
            .first()
        )
    initial: dict[str, Any] = {}
    if correcting is not None:
        initial = {
            "id_number": correcting.id_number,
            "name": correcting.name,
            "phone": correcting.phone,
            "bank": str(correcting.bank_id or ""),
            "correcting": correcting.pk,
        }
    if request.method == "POST" and str(request.POST.get("correcting", "")).isdigit():
        correcting = (
            applications_visible(actor)
            .filter(pk=request.POST["correcting"], status=ApplicationStatus.INELIGIBLE)
            .first()
        )
    keep_photo = correcting is not None and bool(correcting.photo)
    form = CounterForm(initial=initial, banks=banks, keep_photo=keep_photo)
    if request.method == "POST":
        form = CounterForm(request.POST, request.FILES, banks=banks, keep_photo=keep_photo)
        if form.is_valid():
            try:
                fix = form.cleaned_data.get("correcting")
                data = _counter_input(form, correcting)
                app = (
                    application_resubmit(actor=actor, application_id=fix, data=data)
                    if fix
                    else application_counter_create(actor=actor, data=data)
                )
            except ShebaoError as exc:
                form.add_error(None, exc.message)
            else:
                if app.status == ApplicationStatus.ELIGIBLE:
                    messages.success(request, f"已受理 {app.name} 的申领，符合制卡条件")
                else:
                    messages.warning(
                        request, f"已登记 {app.name} 的申领，但不符合制卡条件：{app.messages}"
                    )
                return redirect("cards:issuing_counter")
    open_batch = (
        ApplicationBatch.objects.filter(
            submitter=org, holder=org, status="at_submitter", kind="individual"
        )
        .order_by("-pk")
        .first()
    )
    apps = (
        Application.objects.filter(batch=open_batch).select_related("card").order_by("-row")
        if open_batch
        else Application.objects.none()
    )
    returned = (
        applications_visible(actor)
        .filter(status=ApplicationStatus.INELIGIBLE, submitter=org)
        .exclude(batch=open_batch)
        .order_by("-pk")[:50]
    )
    return render(
        request,
        "cards/issuing/counter.html",
        {
            "breadcrumbs": _crumbs(("窗口申领", "")),
            "form": form,
            "correcting": correcting,
            "open_batch": open_batch,
            "rows": application_rows(apps),
            "returned": application_rows(returned),
            "no_banks": not banks,
        },
    )


@login_required
@require_POST
def counter_submit_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    try:
        batch = counter_batch_submit(actor=actor)
    except ShebaoError as exc:
        _flash_error(request, exc)
    else:
        messages.success(request, f"批次 {batch.code} 已上报至“{batch.holder.name}”")
    return redirect("cards:issuing_counter")


# ---------------------------------------------------------------- production (card centre)


class ResultUploadForm(forms.Form):
    file = forms.FileField(label="回盘文件（加密）")


@staff_required
def production_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    is_centre = _kind(actor) == OrganisationKind.CARD_CENTRE or _is_admin(actor)
    batches = production_batches_visible(actor).order_by("-created_at", "-pk")
    waiting = (
        applications_visible(actor)
        .filter(status=ApplicationStatus.ELIGIBLE, production_batch__isnull=True)
        .filter(batch__status="at_card_centre")
        .count()
        + applications_visible(actor)
        .filter(status=ApplicationStatus.ELIGIBLE, batch__isnull=True, channel="online")
        .count()
        if is_centre
        else 0
    )
    centre = actor.organisation
    reissues_waiting = (
        Card.objects.filter(
            status=CardStatus.PENDING_PRODUCTION.value,
            custodian=centre,
            reissued_from__isnull=False,
            reissued_from__production_batch__isnull=True,
        ).count()
        if is_centre and centre is not None
        else 0
    )
    vendors = Organisation.objects.filter(kind=OrganisationKind.CARD_VENDOR, is_active=True)
    failed = (
        [
            (c.pk, c.card_number, mask_name(c.person.name), mask_id_number(c.person.id_number))
            for c in production_failed_cards(actor)[:200]
        ]
        if is_centre
        else []
    )
    return render(
        request,
        "cards/issuing/production.html",
        {
            "breadcrumbs": _crumbs(("制卡管理", "")),
            "page": _page(request, batches),
            "is_centre": is_centre,
            "waiting": waiting,
            "reissues_waiting": reissues_waiting,
            "failed_cards": failed,
            "vendors": vendors,
            "upload": ResultUploadForm(),
        },
    )


@login_required
@require_POST
def production_form_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    try:
        formed = production_batches_form(actor=actor)
    except ShebaoError as exc:
        _flash_error(request, exc)
    else:
        cards = sum(b.card_count for b in formed)
        messages.success(request, f"已组成 {len(formed)} 个制卡批次，共 {cards} 张卡")
    return redirect("cards:issuing_production")


@login_required
@require_POST
def production_remake_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    ids = [int(v) for v in request.POST.getlist("card") if v.isdigit()]
    try:
        formed = production_failed_remake(actor=actor, card_ids=ids)
    except ShebaoError as exc:
        _flash_error(request, exc)
    else:
        codes = "、".join(b.code for b in formed)
        messages.success(
            request, f"已重新制卡 {len(ids)} 张，组成重新制卡批次 {codes}，请导出送制卡厂商"
        )
    return redirect("cards:issuing_production")


@login_required
@require_POST
def production_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    vendor = Organisation.objects.filter(
        pk=request.POST.get("vendor") or 0, kind=OrganisationKind.CARD_VENDOR
    ).first()
    try:
        batch, data = production_batch_export(actor=actor, batch_id=pk, vendor=vendor)
    except ShebaoError as exc:
        _flash_error(request, exc)
        return redirect("cards:issuing_production")
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{batch.code}.sm4"'
    return response


@login_required
@require_POST
def production_import_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = ResultUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "请选择回盘文件")
        return redirect("cards:issuing_production")
    try:
        result = production_results_import(
            actor=actor, data=b"".join(form.cleaned_data["file"].chunks())
        )
    except ShebaoError as exc:
        _flash_error(request, exc)
    else:
        if result.already_imported:
            messages.info(request, f"批次 {result.batch.code} 的这份回盘文件已导入过，未做改动")
        else:
            messages.success(
                request,
                f"批次 {result.batch.code}：制卡成功 {result.made} 张，失败 {result.failed} 张",
            )
    return redirect("cards:issuing_production")


# ---------------------------------------------------------------- account opening (banks)


@staff_required
def accounts_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    requests_qs = account_requests_visible(actor).order_by("-created_at", "-pk")
    is_centre = _kind(actor) == OrganisationKind.CARD_CENTRE or _is_admin(actor)
    failures = account_failures_visible(actor).order_by("request__bank__name", "pk")[:200]
    return render(
        request,
        "cards/issuing/accounts.html",
        {
            "breadcrumbs": _crumbs(("开户工作台", "")),
            "stats": account_opening_stats(actor=actor),
            "page": _page(request, requests_qs),
            "upload": ResultUploadForm(),
            "is_centre": is_centre,
            "failures": [
                {
                    "pk": f.pk,
                    "bank": f.request.bank.name,
                    "request": f.request.code,
                    "name": mask_name(f.person.name),
                    "id_number": mask_id_number(f.person.id_number),
                    "reason": f.failure_reason,
                }
                for f in failures
            ],
        },
    )


@login_required
@require_POST
def accounts_download_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    try:
        req, data = account_request_export(actor=actor, request_id=pk)
    except ShebaoError as exc:
        _flash_error(request, exc)
        return redirect("cards:issuing_accounts")
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{req.code}.sm4"'
    return response


@login_required
@require_POST
def accounts_import_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = ResultUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "请选择开户回盘文件")
        return redirect("cards:issuing_accounts")
    try:
        result = account_results_import(
            actor=actor, data=b"".join(form.cleaned_data["file"].chunks())
        )
    except ShebaoError as exc:
        _flash_error(request, exc)
    else:
        if result.already_imported:
            messages.info(request, "这份开户回盘文件已导入过，未做改动")
        else:
            messages.success(
                request,
                f"开户批次 {result.request.code}：开户成功 {result.opened} 户，"
                f"失败 {result.failed} 户",
            )
    return redirect("cards:issuing_accounts")


@login_required
@require_POST
def accounts_resubmit_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    ids = [int(v) for v in request.POST.getlist("item") if v.isdigit()]
    try:
        req = account_failures_resubmit(actor=actor, item_ids=ids)
    except ShebaoError as exc:
        _flash_error(request, exc)
    else:
        messages.success(request, f"已重新提交 {req.record_count} 条开户数据（批次 {req.code}）")
    return redirect("cards:issuing_accounts")


urlpatterns: list[URLPattern] = [
    path("issuing/batches/", batches_view, name="issuing_batches"),
    path("issuing/batches/<int:pk>/", batch_view, name="issuing_batch"),
    path("issuing/batches/<int:pk>/forward/", batch_forward_view, name="issuing_batch_forward"),
    path("issuing/batches/<int:pk>/correct/", batch_correct_view, name="issuing_batch_correct"),
    path(
        "issuing/batches/<int:pk>/ineligible.xlsx",
        batch_ineligible_view,
        name="issuing_batch_ineligible",
    ),
    path("issuing/counter/", counter_view, name="issuing_counter"),
    path("issuing/counter/submit/", counter_submit_view, name="issuing_counter_submit"),
    path("issuing/production/", production_view, name="issuing_production"),
    path("issuing/production/form/", production_form_view, name="issuing_production_form"),
    path(
        "issuing/production/<int:pk>/export/",
        production_export_view,
        name="issuing_production_export",
    ),
    path("issuing/production/import/", production_import_view, name="issuing_production_import"),
    path("issuing/production/remake/", production_remake_view, name="issuing_production_remake"),
    path("issuing/accounts/", accounts_view, name="issuing_accounts"),
    path(
        "issuing/accounts/<int:pk>/download/",
        accounts_download_view,
        name="issuing_accounts_download",
    ),
    path("issuing/accounts/import/", accounts_import_view, name="issuing_accounts_import"),
    path("issuing/accounts/resubmit/", accounts_resubmit_view, name="issuing_accounts_resubmit"),
]
