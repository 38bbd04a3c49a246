"""The holder's e-card pages (phone-sized): apply (签发, with the real-name checks and an SMS
code), "my e-card" with the dynamic QR code that refreshes every 60 seconds with a countdown
(static/ecard/ecard.js; CSP forbids inline scripts), a JSON endpoint that issues the next
code, and the public key list terminals verify codes with (/ecard/keys.json).

A visitor who is not a signed-in holder goes to the citizen sign-in page (the provider's,
`sso:login`, which calls `ecard.services.holders`) and comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Final
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shebao.accounts.clients import request_client_address
from shebao.ecard.domain.lifecycle import ECardStatus
from shebao.ecard.domain.qr import ALG, QR_TTL_SECONDS
from shebao.ecard.domain.sm2 import SIGNER_ID
from shebao.ecard.selectors import codes_issued_since, ecard_of_person, issuable_cards
from shebao.ecard.services.common import QrRefused
from shebao.ecard.services.ecards import ecard_issue_confirm, ecard_issue_start
from shebao.ecard.services.holders import holder_person
from shebao.ecard.services.keys import keys_published
from shebao.ecard.services.qr import IssuedQr, qr_issue, qr_png_data_uri
from shebao.errors import ShebaoError
from shebao.identity.masking import mask_id_number, mask_name
from shebao.registry.models import Person

APPLY_SESSION_KEY: Final[str] = "ecard_apply"
# A page refreshes once a minute; a holder pressing "刷新" now and then stays far below this.
CODES_PER_MINUTE: Final[int] = 20

HolderView = Callable[[HttpRequest, Person], HttpResponse]


def _client(request: HttpRequest) -> str:
    return request_client_address(request)


def _sign_in_url(next_path: str) -> str:
    try:
        base = reverse("sso:login")
    except NoReverseMatch:  # a deployment without the citizen sign-in page
        base = reverse("web:login")
    return f"{base}?{urlencode({'next': next_path})}"


def holder_required(view: HolderView) -> Callable[[HttpRequest], HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        person = holder_person(request.user)
        if person is None:
            if request.headers.get("Accept", "").startswith("application/json"):
                return JsonResponse({"error": {"code": "SIGN_IN_REQUIRED"}}, status=401)
            return redirect(_sign_in_url(request.get_full_path()))
        return view(request, person)

    return wrapper


def _qr_json(issued: IssuedQr) -> dict[str, object]:
    return {
        "text": issued.text,
        "image": qr_png_data_uri(issued.text, scale=5),
        "expires_at": int(issued.expires_at.timestamp() * 1000),
        "ttl": QR_TTL_SECONDS,
    }


@require_GET
@never_cache
@holder_required
def mine(request: HttpRequest, person: Person) -> HttpResponse:
    """我的电子社保卡: the QR code (a fresh one on every visit) and its countdown."""
    ecard = ecard_of_person(person.pk)
    context: dict[str, object] = {
        "holder_name": mask_name(person.name),
        "holder_id": mask_id_number(person.id_number),
        "ecard": ecard,
        "ttl": QR_TTL_SECONDS,
    }
    if ecard is not None and ecard.status == ECardStatus.ACTIVE.value:
        context["qr"] = _qr_json(qr_issue(ecard))
    elif ecard is not None:
        context["status_label"] = ECardStatus(ecard.status).label
    try:
        context["portal_url"] = reverse("citizen:home")
    except NoReverseMatch:
        context["portal_url"] = ""
    return render(request, "ecard/mine.html", context)


@require_POST
@never_cache
@holder_required
def next_code(request: HttpRequest, person: Person) -> HttpResponse:
    """The next QR code for the page's countdown (JSON); 410 when the e-card is not usable."""
    ecard = ecard_of_person(person.pk)
    if ecard is None:
        return JsonResponse(
            {"error": {"code": "ECARD_NONE", "message": "您还没有电子社保卡"}}, status=404
        )
    if codes_issued_since(ecard.pk, timezone.now()) >= CODES_PER_MINUTE:
        # Codes still valid now were all issued within the last minute.
        return JsonResponse(
            {"error": {"code": "QR_TOO_MANY", "message": "刷新过于频繁，请稍后再试"}}, status=429
        )
    try:
        issued = qr_issue(ecard)
    except QrRefused as exc:
        return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=410)
    return JsonResponse(_qr_json(issued))


@require_http_methods(["GET", "POST"])
@never_cache
@holder_required
def apply(request: HttpRequest, person: Person) -> HttpResponse:
    """申领电子社保卡: ID number, name and card number checked against the registry and the
    card, then the SMS code to the phone on record."""
    existing = ecard_of_person(person.pk)
    if existing is not None and existing.status == ECardStatus.ACTIVE.value:
        return redirect("ecard:mine")
    cards = list(issuable_cards(person.pk))
    pending = request.session.get(APPLY_SESSION_KEY)
    error = ""
    step = request.POST.get("step", "")
    if request.method == "POST" and step == "restart":
        request.session.pop(APPLY_SESSION_KEY, None)
        return redirect("ecard:apply")
    if request.method == "POST" and step == "send":
        try:
            sent = ecard_issue_start(
                id_number=request.POST.get("id_number", ""),
                name=request.POST.get("name", ""),
                card_number=request.POST.get("card_number", ""),
                client=_client(request),
            )
        except ShebaoError as exc:
            error = exc.message
        else:
            if sent.person_id != person.pk:
                # Someone else's details: issue only to the signed-in holder.
                error = "只能为本人申领电子社保卡"
            else:
                pending = {
                    "card_id": sent.card_id,
                    "code_id": sent.code_id,
                    "phone": sent.phone_masked,
                }
                request.session[APPLY_SESSION_KEY] = pending
    elif request.method == "POST" and step == "verify" and pending:
        try:
            ecard_issue_confirm(
                person_id=person.pk,
                card_id=int(pending["card_id"]),
                code_id=int(pending["code_id"]),
                code=request.POST.get("code", ""),
                client=_client(request),
            )
        except ShebaoError as exc:
            error = exc.message
        else:
            request.session.pop(APPLY_SESSION_KEY, None)
            return redirect("ecard:mine")
    return render(
        request,
        "ecard/apply.html",
        {
            "holder_name": mask_name(person.name),
            "cards": cards,
            "pending": pending,
            "error": error,
            "ended": existing is not None,
        },
    )


@require_GET
def keys_json(request: HttpRequest) -> HttpResponse:
    """The published verification keys (current first, then previous): public, cacheable
    for a few minutes so that terminals pick a rotation up quickly."""
    body = {
        "alg": ALG,
        "curve": "SM2 (GB/T 32918.5 recommended curve)",
        "digest": "SM3",
        "signer_id": SIGNER_ID.decode("ascii"),
        "format": "COSE_Sign1 (RFC 9052), text 'SBK1:' + Base45 (RFC 9285)",
        "keys": [
            {
                "kid": key.kid,
                "public_key": key.public_hex,
                "current": key.current,
                "created_at": key.created_at,
            }
            for key in keys_published()
        ],
    }
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=300"
    return response
