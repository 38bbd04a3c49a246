"""即时制卡 at a bank branch (seed 003: 在金融机构服务网点普遍提供社会保障卡现场申领、即时制卡):
the branch clerk checks the applicant against the ID card, takes or chooses the photo, opens
the account, and — if the applicant is eligible — the card is made and handed over on the spot.
The business is `cards.services.instant.application_instant_issue`; the page shows its
result (masked) as a receipt, and the branch's recent instant issues."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Purpose
from shebao.accounts.models import User
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Application, ApplicationChannel, ApplicationStatus
from shebao.cards.services.applications import CounterInput
from shebao.cards.services.instant import application_instant_issue
from shebao.errors import PermissionDenied, ShebaoError
from shebao.identity.masking import mask_bank_account, mask_id_number, mask_name
from shebao.pages import breadcrumbs as _crumbs
from shebao.pages import error_page as _error_page
from shebao.pages import paginate as _page
from shebao.registry.models import BankAccount

_BANK_KINDS = (OrganisationKind.BANK, OrganisationKind.BANK_BRANCH)


def _actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    org = user.organisation
    if org is None or org.kind not in _BANK_KINDS:
        raise PermissionDenied("即时制卡由合作银行网点经办人员办理", code="NOT_A_BANK_BRANCH")
    return user


class InstantForm(forms.Form):
    id_number = forms.CharField(label="身份证号码", max_length=18)
    name = forms.CharField(label="姓名", max_length=64, help_text="按身份证件填写，与人口库核对")
    phone = forms.CharField(label="联系电话", max_length=16)
    photo_choice = forms.ChoiceField(
        label="照片",
        choices=(("upload", "现场拍摄/上传照片"), ("police", "使用公安部门的身份证照片")),
        widget=forms.RadioSelect,
        error_messages={"required": "请选择照片：上传照片，或使用公安部门的身份证照片"},
    )
    photo = forms.FileField(label="照片（JPEG）", required=False)
    account_number = forms.CharField(
        label="本行开立的社保卡银行账号", max_length=40, help_text="8 至 32 位数字"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("photo_choice") == "upload" and not data.get("photo"):
            self.add_error("photo", "请选择要上传的照片")
        return data

    def counter_input(self) -> CounterInput:
        data = self.cleaned_data
        upload = data.get("photo") if data.get("photo_choice") == "upload" else None
        return CounterInput(
            id_number=data["id_number"],
            name=data["name"],
            bank_id=None,
            phone=data["phone"],
            photo=b"".join(upload.chunks()) if upload else None,
            use_police_photo=data.get("photo_choice") == "police",
        )


def _row(app: Application) -> dict[str, Any]:
    return {
        "app": app,
        "name": mask_name(app.name),
        "id_number": mask_id_number(app.id_number),
        "status": ApplicationStatus(app.status).label,
        "card_number": app.card.card_number if app.card else "",
    }


def _recent(actor: User) -> Any:
    return (
        Application.objects.filter(
            channel=ApplicationChannel.INSTANT, submitter_id=actor.organisation_id
        )
        .select_related("card")
        .order_by("-pk")
    )


@login_required
@require_http_methods(["GET", "POST"])
def instant_view(request: HttpRequest) -> HttpResponse:
    try:
        actor = _actor(request)
    except ShebaoError as exc:
        return _error_page(request, exc)
    form = InstantForm()
    if request.method == "POST":
        form = InstantForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                app = application_instant_issue(
                    actor=actor,
                    data=form.counter_input(),
                    account_number=form.cleaned_data["account_number"],
                )
            except ShebaoError as exc:
                form.add_error(None, exc.message)
            else:
                if app.status == ApplicationStatus.ISSUED and app.card is not None:
                    messages.success(
                        request, f"已即时制卡并发放，卡号 {app.card.card_number}，请打印回执。"
                    )
                else:
                    messages.warning(request, f"不符合制卡条件，未制卡：{app.messages}")
                return redirect("cards:instant_result", pk=app.pk)
    return render(
        request,
        "cards/issuing/instant.html",
        {
            "breadcrumbs": _crumbs(("即时制卡", "")),
            "form": form,
            "org": actor.organisation,
            "page": (page := _page(request, _recent(actor))),
            "rows": [_row(a) for a in page.object_list],
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def instant_result(request: HttpRequest, pk: int) -> HttpResponse:
    """The outcome of one instant issue, printable as the holder's receipt (masked)."""
    try:
        actor = _actor(request)
    except ShebaoError as exc:
        return _error_page(request, exc)
    app = _recent(actor).filter(pk=pk).first()
    if app is None:
        return _error_page(request, PermissionDenied("没有该即时制卡记录，或不是本网点办理的"))
    account = (
        BankAccount.objects.filter(person_id=app.person_id, bank_id=app.bank_id)
        .order_by("-pk")
        .first()
        if app.card is not None
        else None
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.VIEW_PERSON,
            target_type="card_application",
            target_id=app.pk,
            person_id=app.person_id,
            purpose=Purpose.CARD_SERVICE.value,
            detail={"masked": True, "via": "instant"},
        )
    return render(
        request,
        "cards/issuing/instant_result.html",
        {
            "breadcrumbs": _crumbs(("即时制卡", reverse("cards:instant")), ("办理结果", "")),
            "row": _row(app),
            "card_status": CardStatus(app.card.status).label if app.card else "",
            "account": mask_bank_account(account.account_number) if account else "",
            "org": actor.organisation,
        },
    )


urlpatterns: list[URLPattern] = [
    path("instant/", instant_view, name="instant"),
    path("instant/<int:pk>/", instant_result, name="instant_result"),
]
