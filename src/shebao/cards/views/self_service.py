"""申领进度查询 (self-service/): a citizen, not signed in, follows the application and the card,
applies online with postal delivery (网上申领), reports a temporary loss and confirms a
mailed card's receipt.

Two steps before anything is shown or done: what the citizen knows (ID number, name, the
phone's last four digits), then a one-time code sent to the phone on record. The phone and
the postal address are those on record (changed only at a verified counter). The identity
logic, the codes and the rate limits (per person and per client address) are in
`cards.services.self_service`; this module keeps the session and renders.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from django import forms
from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from shebao.accounts.choices import OrganisationKind
from shebao.accounts.models import Organisation
from shebao.cards.domain.lifecycle import CardEvent, CardStatus, allowed_events
from shebao.cards.domain.progress import application_progress, mask_address
from shebao.cards.models import (
    Application,
    ApplicationChannel,
    ApplicationStatus,
    Card,
    PostalDispatch,
    PostalDispatchStatus,
)
from shebao.cards.models.applications import OPEN_APPLICATION_STATUSES
from shebao.cards.services import card_life
from shebao.cards.services.applications import application_online_submit, cooperating_banks_for
from shebao.cards.services.postal import postal_delivery_confirm
from shebao.cards.services.self_service import (
    CHANGE_CONTACT_HINT,
    client_address,
    self_service_action_allowed,
    self_service_postal_address,
    self_service_request_code,
    self_service_resend_code,
    self_service_verify,
)
from shebao.errors import ShebaoError
from shebao.identity.masking import mask_id_number, mask_name, mask_phone
from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person

SELF_SERVICE_SESSION_KEY: Final[str] = "cards_self_service"
SELF_SERVICE_TTL: Final[timedelta] = timedelta(minutes=10)
TEMPLATE: Final[str] = "cards/custody/self_service.html"


def _client_ip(request: HttpRequest) -> str:
    """The client's address; X-Forwarded-For only from a proxy in SHEBAO_TRUSTED_PROXIES."""
    return client_address(
        remote_addr=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        trusted=getattr(settings, "SHEBAO_TRUSTED_PROXIES", []),
    )


class OnlineApplicationForm(forms.Form):
    """网上申领 with postal delivery to the address on record, for a verified citizen."""

    bank = forms.ChoiceField(label="金融服务银行", choices=())
    photo = forms.FileField(
        label="上传照片（JPEG，可不传）",
        required=False,
        help_text="不上传则使用公安部门的身份证照片",
    )

    def __init__(self, *args: Any, banks: dict[str, Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bank_field = self.fields["bank"]
        assert isinstance(bank_field, forms.ChoiceField)  # noqa: S101 - declared above
        bank_field.choices = [("", "请选择")] + [
            (str(org.pk), org.name) for _, org in sorted(banks.items())
        ]


def _can_apply_online(person: Person) -> bool:
    """Offer the online application to a person with no open card and no open application
    (the eligibility check would refuse them anyway, as HAS_CARD or DUPLICATE_APPLICATION)."""
    closed = [s.value for s in CardStatus if s.is_terminal]
    has_card = Card.objects.filter(person=person).exclude(status__in=closed).exists()
    applying = Application.objects.filter(
        person=person, status__in=OPEN_APPLICATION_STATUSES
    ).exists()
    return not (has_card or applying or person.life_status == LifeStatus.DECEASED)


def _apply_online(
    request: HttpRequest, person: Person
) -> tuple[OnlineApplicationForm, str, str, int]:
    """Submit the online application; returns the form (with its errors, if any), a notice,
    an error message and the response status."""
    form = OnlineApplicationForm(
        request.POST, request.FILES, banks=cooperating_banks_for(person.hukou_region_id)
    )
    if not form.is_valid():
        return form, "", "请检查申领信息", 400
    address = self_service_postal_address(person)
    if not address:
        return form, "", "登记信息中没有您的住址，不能邮寄。" + CHANGE_CONTACT_HINT, 400
    try:
        self_service_action_allowed(person=person)
        photo = form.cleaned_data.get("photo")
        app = application_online_submit(
            id_number=person.id_number,
            name=person.name,
            phone=person.phone,
            bank_id=int(form.cleaned_data["bank"]),
            postal_address=address,
            photo=b"".join(photo.chunks()) if photo else None,
        )
    except ShebaoError as exc:
        return form, "", exc.message, exc.status if exc.status == 429 else 400
    if app.status == ApplicationStatus.ELIGIBLE:
        notice = "网上申领已受理，符合制卡条件。制卡后将邮寄到您登记的住址，可在本页查询进度。"
        return form, notice, "", 200
    return form, "", f"网上申领已登记，但不符合制卡条件：{app.messages}", 200


def _applications(person: Person) -> list[dict[str, Any]]:
    """The person's applications (申领) with their status and, if refused, the reasons."""
    rows = (
        Application.objects.filter(Q(person=person) | Q(id_number=person.id_number))
        .order_by("-created_at", "-pk")
        .values(
            "created_at",
            "channel",
            "status",
            "messages",
            "postal_delivery",
            "card__status",
            "card__custodian__kind",
        )[:10]
    )
    return [
        {
            "at": row["created_at"],
            "channel": (
                ApplicationChannel(row["channel"]).label
                if row["channel"] in ApplicationChannel.values
                else row["channel"]
            )
            + ("（邮寄到家）" if row["postal_delivery"] else ""),
            # Once the card exists, the progress is the card's (made, in transit, awaiting
            # pickup, mailed, issued, activated), not the application's 已制卡.
            "status": application_progress(
                ApplicationStatus(row["status"]).label
                if row["status"] in ApplicationStatus.values
                else row["status"],
                row["card__status"],
                custodian_is_card_centre=row["card__custodian__kind"]
                in (None, OrganisationKind.CARD_CENTRE),
                postal_delivery=row["postal_delivery"],
            ),
            "reasons": row["messages"] if row["status"] == ApplicationStatus.INELIGIBLE else "",
        }
        for row in rows
    ]


def _open_mailing(card: Card) -> dict[str, Any] | None:
    dispatch = PostalDispatch.objects.filter(card=card, status=PostalDispatchStatus.MAILED).first()
    if dispatch is None:
        return None
    return {"tracking_number": dispatch.tracking_number, "mailed_on": dispatch.mailed_on}


def _progress(person: Person) -> list[dict[str, Any]]:
    cards = Card.objects.filter(person=person).select_related("custodian").order_by("-created_at")
    out = []
    for card in cards:
        status = CardStatus(card.status)
        out.append(
            {
                "pk": card.pk,
                "number": "*****" + card.card_number[-4:],
                "status": status.label,
                "where": card.custodian.name
                if card.custodian is not None and status is CardStatus.AWAITING_PICKUP
                else "",
                "steps": [
                    (CardEvent(h.event).label, h.at) for h in card.history.order_by("at", "pk")
                ],
                "can_report_loss": CardEvent.REPORT_TEMPORARY_LOSS in allowed_events(status),
                "mailed": _open_mailing(card) if status is CardStatus.MAILED else None,
            }
        )
    return out


def card_life_policy_days() -> int:
    from shebao.cards.selectors.custody import card_policy

    return card_policy().temporary_loss_days


def _session(request: HttpRequest) -> dict[str, Any]:
    value = request.session.get(SELF_SERVICE_SESSION_KEY)
    if not isinstance(value, dict) or value.get("until", 0) <= timezone.now().timestamp():
        return {}
    return value


def _remember(request: HttpRequest, **state: Any) -> None:
    request.session[SELF_SERVICE_SESSION_KEY] = {
        **state,
        "until": (timezone.now() + SELF_SERVICE_TTL).timestamp(),
    }


def _own_card(person: Person | None, card_id: str) -> Card | None:
    if person is None or not card_id.isdigit():
        return None
    return Card.objects.filter(pk=int(card_id), person=person).first()


def _act(request: HttpRequest, person: Person | None, action: str) -> tuple[str, str, int]:
    """A verified citizen's action on a card: (notice, error, status)."""
    card = _own_card(person, request.POST.get("card", ""))
    if card is None or person is None:
        return "", "请先核验身份", 400
    try:
        if action == "confirm_delivery":
            postal_delivery_confirm(actor=None, card_id=card.pk)
            return "已确认收到社会保障卡。请携带本人身份证到合作银行网点激活。", "", 200
        self_service_action_allowed(person=person)
        card_life.card_report_temporary_loss(actor=None, card_id=card.pk, channel="online")
    except ShebaoError as exc:
        return "", exc.message, exc.status if exc.status == 429 else 400
    days = card_life_policy_days()
    notice = f"已办理临时挂失，{days} 天内请到合作银行网点办理正式挂失或解挂，逾期自动解除。"
    return notice, "", 200


@require_http_methods(["GET", "POST"])
def self_service(request: HttpRequest) -> HttpResponse:
    """申领进度查询, 网上申领 and 临时挂失 for citizens, without signing in."""
    context: dict[str, Any] = {"public": True, "contact_hint": CHANGE_CONTACT_HINT}
    status = 200
    state = _session(request)
    person: Person | None = None
    if state.get("verified"):
        person = Person.objects.filter(pk=state["person"]).first()
    action = request.POST.get("action", "") if request.method == "POST" else ""
    client = _client_ip(request)
    apply_form: OnlineApplicationForm | None = None
    if action == "apply_online":
        if person is None:
            context["error"], status = "请先核验身份", 400
        elif not _can_apply_online(person):
            context["error"], status = "您已有社会保障卡或未办结的申领，不能重复申领。", 400
        else:
            apply_form, notice, error, status = _apply_online(request, person)
            if error:
                context["error"] = error
            else:
                context["notice"], apply_form = notice, None
    elif action in ("confirm_delivery", "report_loss"):
        notice, error, status = _act(request, person, action)
        context["notice" if notice else "error"] = notice or error
    elif action in ("verify", "resend"):
        pending = state if state.get("code") and not state.get("verified") else {}
        if not pending:
            context["error"], status = "验证码已失效，请重新核验身份", 400
        else:
            try:
                if action == "resend":
                    sent = self_service_resend_code(person_id=pending["person"], client=client)
                    _remember(request, person=sent.person_id, code=sent.code_id)
                    context["notice"] = f"验证码已重新发送至 {sent.phone_masked}"
                else:
                    person = self_service_verify(
                        person_id=pending["person"],
                        code_id=pending["code"],
                        code=request.POST.get("code", ""),
                        client=client,
                    )
                    _remember(request, person=person.pk, verified=True)
            except ShebaoError as exc:
                context["error"], status = exc.message, exc.status if exc.status == 429 else 400
            if person is None:
                context["awaiting_code"] = mask_phone(
                    Person.objects.filter(pk=pending["person"]).values_list("phone", flat=True)[0]
                )
    elif request.method == "POST":
        request.session.pop(SELF_SERVICE_SESSION_KEY, None)
        try:
            sent = self_service_request_code(
                id_number=request.POST.get("id_number", ""),
                name=request.POST.get("name", ""),
                phone_last4=request.POST.get("phone_last4", ""),
                client=client,
            )
        except ShebaoError as exc:
            context["error"], status = exc.message, exc.status if exc.status == 429 else 400
        else:
            _remember(request, person=sent.person_id, code=sent.code_id)
            context["awaiting_code"] = sent.phone_masked
            context["notice"] = f"验证码已发送至 {sent.phone_masked}，5 分钟内有效。"
    elif state.get("code") and not state.get("verified"):
        phone = Person.objects.filter(pk=state["person"]).values_list("phone", flat=True).first()
        context["awaiting_code"] = mask_phone(phone or "")
    if person is not None:
        address = self_service_postal_address(person)
        context.update(
            who=mask_name(person.name),
            id_masked=mask_id_number(person.id_number),
            phone_masked=mask_phone(person.phone),
            address_masked=mask_address(address) if address else "",
            progress=_progress(person),
            applications=_applications(person),
        )
        if _can_apply_online(person):
            context["apply_form"] = apply_form or OnlineApplicationForm(
                banks=cooperating_banks_for(person.hukou_region_id)
            )
    return render(request, TEMPLATE, context, status=status)
