"""The holder's own pages at /me/ (phone-sized). Sign-in is the provider's citizen sign-in
page (shebao.sso: e-card QR or card number + SMS code), which returns here."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User
from shebao.cards.models import Card
from shebao.cards.selectors.person import person_cards
from shebao.cards.services.card_life import card_report_temporary_loss
from shebao.citizen.selectors import person_access_log
from shebao.errors import ShebaoError
from shebao.identity.masking import mask_id_number, mask_name
from shebao.registry.models import Person
from shebao.sso.holders import holder_person_id
from shebao.sso.selectors import consent_list
from shebao.sso.services import consent_revoke
from shebao.usage.selectors import usage_for_person

View = Callable[[HttpRequest, User, Person], HttpResponse]


def holder_required(view: View) -> Callable[[HttpRequest], HttpResponse]:
    """Let only a signed-in holder in; anyone else goes to the citizen sign-in page."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        user = request.user
        person_id = holder_person_id(user) if isinstance(user, User) else None
        if not isinstance(user, User) or person_id is None:
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('sso:login')}?{query}")
        person = Person.objects.only("pk", "name", "id_number").get(pk=person_id)
        return view(request, user, person)

    return wrapper


def _ecard_url() -> str:
    try:
        return reverse("ecard:mine")
    except NoReverseMatch:
        return ""


def _context(person: Person, **extra: object) -> dict[str, object]:
    return {
        "holder_name": mask_name(person.name),
        "holder_id": mask_id_number(person.id_number),
        "ecard_url": _ecard_url(),
        **extra,
    }


@require_GET
def login_view(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('sso:login')}?{urlencode({'next': reverse('citizen:home')})}")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """The header's 退出登录 for a holder: audited like a staff sign-out, then back to the
    citizen sign-in (not the staff one)."""
    user = request.user
    if isinstance(user, User) and user.is_authenticated:
        with transaction.atomic():
            audit_record(actor=user, action=AuditAction.LOGOUT)
        logout(request)
        messages.info(request, "您已安全退出。")
    return redirect("citizen:login")


@require_GET
@holder_required
def home(request: HttpRequest, user: User, person: Person) -> HttpResponse:
    return render(request, "citizen/home.html", _context(person))


@require_GET
@holder_required
def cards(request: HttpRequest, user: User, person: Person) -> HttpResponse:
    held = person_cards(person_id=person.pk)
    return render(request, "citizen/cards.html", _context(person, cards=held.cards))


@require_http_methods(["GET", "POST"])
@holder_required
def loss_report(request: HttpRequest, user: User, person: Person) -> HttpResponse:
    """临时挂失 online: the holder is identified by the sign-in; a formal loss and a new card
    are the counter's business."""
    if request.method == "POST":
        card = Card.objects.filter(pk=request.POST.get("card", "0"), person_id=person.pk).first()
        if card is None:
            messages.error(request, "没有找到您的这张社保卡")
        else:
            try:
                card_report_temporary_loss(actor=None, card_id=card.pk, channel="online")
            except ShebaoError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    "已临时挂失。电子社保卡随之暂停。请尽快携带身份证到服务网点办理正式挂失和补卡。",
                )
        return redirect("citizen:cards")
    held = person_cards(person_id=person.pk)
    reportable = [c for c in held.cards if c.status_code == "active"]
    return render(request, "citizen/loss.html", _context(person, cards=reportable))


@require_GET
@holder_required
def card_use(request: HttpRequest, user: User, person: Person) -> HttpResponse:
    records = usage_for_person(person)
    return render(request, "citizen/card_use.html", _context(person, records=records))


@require_GET
@holder_required
def access_log(request: HttpRequest, user: User, person: Person) -> HttpResponse:
    rows = person_access_log(person_id=person.pk, holder_user_id=user.pk)
    return render(request, "citizen/access_log.html", _context(person, rows=rows))


@require_GET
@holder_required
def consents(request: HttpRequest, user: User, person: Person) -> HttpResponse:
    return render(
        request, "citizen/consents.html", _context(person, consents=consent_list(user=user))
    )


@require_POST
@holder_required
def consent_revoke_view(request: HttpRequest, user: User, person: Person) -> HttpResponse:
    try:
        consent = consent_revoke(user=user, consent_id=int(request.POST.get("consent", "0")))
    except (ShebaoError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", "授权记录不存在"))
    else:
        messages.success(
            request, f"已撤销对「{consent.application.name}」的授权，该网站需重新经您同意才能登录。"
        )
    return redirect("citizen:consents")
