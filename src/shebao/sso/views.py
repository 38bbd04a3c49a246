"""Pages of the OpenID Connect provider for citizens: the sign-in page (QR confirmed from
the phone, or card number + SMS code), the phone's confirm page and the consent page."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import segno
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from oauth2_provider.models import AbstractApplication, get_application_model
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.views import AuthorizationView, ConnectDiscoveryInfoView

from shebao.accounts.clients import request_client_address
from shebao.accounts.models import User
from shebao.errors import ShebaoError
from shebao.sso.choices import ASSURANCE_RANK, Assurance
from shebao.sso.holders import holder_person_id
from shebao.sso.services import (
    SESSION_QR,
    citizen_session_start,
    consent_covering,
    consent_grant,
    qr_login_complete,
    qr_login_decide,
    qr_login_for_phone,
    qr_login_start,
    qr_login_status,
    session_assurance,
    sso_login_record,
)
from shebao.sso.signin import holder_code_send, holder_code_verify

SESSION_SMS: str = "sso_sms"


def _safe_next(request: HttpRequest, value: str) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""


def _asking_client(next_url: str) -> tuple[AbstractApplication | None, list[str]]:
    """The portal and scopes of an authorization request the sign-in page returns to."""
    parts = urlsplit(next_url)
    if parts.path != reverse("oauth2_provider:authorize"):
        return None, []
    query = parse_qs(parts.query)
    client_id = (query.get("client_id") or [""])[0]
    application = get_application_model().objects.filter(client_id=client_id).first()
    return application, (query.get("scope") or [""])[0].split()


def _scope_labels(scopes: list[str]) -> list[str]:
    described = get_scopes_backend().get_all_scopes()
    return [str(described[s]) for s in scopes if s in described]


def _allow_redirect_to(response: HttpResponse, application: AbstractApplication | None) -> None:
    """Let this page's forms end at the portal: the CSP's form-action is checked along the
    redirects a form submission follows (sign-in → authorize → the portal's redirect URI)."""
    if application is None:
        return
    origins = sorted(
        {
            f"{parts.scheme}://{parts.netloc}"
            for parts in (urlsplit(u) for u in application.redirect_uris.split())
            if parts.scheme and parts.netloc
        }
    )
    if origins:
        response._csp_update = {"form-action": origins}  # type: ignore[attr-defined]


def _qr_png(text: str) -> str:
    png = segno.make(text, error="m").png_data_uri(scale=5, border=2)
    return str(png)


# ---------------------------------------------------------------- sign-in page


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next") or "")
    application, scopes = _asking_client(next_url)
    error = ""
    sent = request.session.get(SESSION_SMS)
    client = request_client_address(request)
    if request.method == "POST":
        step = request.POST.get("step", "")
        try:
            if step == "send":
                code_sent = holder_code_send(
                    card_number=request.POST.get("card_number", "").strip(),
                    id_number=request.POST.get("id_number", "").strip(),
                    name=request.POST.get("name", "").strip(),
                    client=client,
                )
                sent = {
                    "person_id": code_sent.person_id,
                    "code_id": code_sent.code_id,
                    "phone": code_sent.phone_masked,
                }
                request.session[SESSION_SMS] = sent
            elif step == "verify" and sent:
                user = holder_code_verify(
                    person_id=int(sent["person_id"]),
                    code_id=int(sent["code_id"]),
                    code=request.POST.get("code", "").strip(),
                    client=client,
                )
                request.session.pop(SESSION_SMS, None)
                citizen_session_start(request, user=user, acr=Assurance.SMS)
                return redirect(next_url or "citizen:home")
            elif step == "restart":
                request.session.pop(SESSION_SMS, None)
                sent = None
        except ShebaoError as exc:
            error = exc.message
    started = qr_login_start(application=application, scopes=" ".join(scopes))
    request.session[SESSION_QR] = {"id": started.qr.pk, "secret": started.browser_secret}
    confirm_url = request.build_absolute_uri(
        reverse("sso:qr_confirm", kwargs={"token": started.qr.token})
    )
    response = render(
        request,
        "sso/login.html",
        {
            "next": next_url,
            "application": application,
            "scope_labels": _scope_labels(scopes),
            "sent": sent,
            "error": error,
            "qr_png": _qr_png(confirm_url),
            "qr_seconds": int((started.qr.expires_at - started.qr.created_at).total_seconds()),
        },
    )
    _allow_redirect_to(response, application)
    return response


@require_GET
def qr_status_view(request: HttpRequest) -> JsonResponse:
    held = request.session.get(SESSION_QR) or {}
    try:
        status, left = qr_login_status(qr_id=int(held.get("id", 0)), browser_secret=held["secret"])
    except (KeyError, ShebaoError):
        return JsonResponse({"status": "unknown", "seconds_left": 0})
    return JsonResponse({"status": status, "seconds_left": left})


@require_POST
def qr_complete_view(request: HttpRequest) -> HttpResponse:
    held = request.session.pop(SESSION_QR, None) or {}
    next_url = _safe_next(request, request.POST.get("next", ""))
    try:
        user = qr_login_complete(qr_id=int(held.get("id", 0)), browser_secret=held["secret"])
        citizen_session_start(request, user=user, acr=Assurance.ECARD)
    except (KeyError, ShebaoError):
        login_url = reverse("sso:login")
        return redirect(f"{login_url}?next={next_url}" if next_url else login_url)
    return redirect(next_url or "citizen:home")


# ---------------------------------------------------------------- the phone


@require_http_methods(["GET", "POST"])
def qr_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """Opened by scanning the sign-in QR with the phone where "my e-card" is signed in."""
    user = request.user
    if not isinstance(user, User) or holder_person_id(user) is None:
        return redirect_to_login(request.get_full_path(), reverse("sso:login"))
    try:
        qr = qr_login_for_phone(token=token)
    except ShebaoError as exc:
        return render(request, "sso/qr_confirm.html", {"error": exc.message}, status=404)
    done = ""
    error = ""
    if request.method == "POST":
        allow = request.POST.get("decision") == "allow"
        try:
            qr = qr_login_decide(token=token, user=user, allow=allow)
            done = "已确认登录，请在电脑上继续。" if allow else "已拒绝本次登录。"
        except ShebaoError as exc:
            error = exc.message
    return render(
        request,
        "sso/qr_confirm.html",
        {
            "qr": qr,
            "scope_labels": _scope_labels(qr.scopes.split()),
            "done": done,
            "error": error,
        },
    )


# ---------------------------------------------------------------- authorization


class CitizenAuthorizationView(AuthorizationView):
    """DOT's authorization endpoint for holders only: anyone else (or a holder whose session
    is below the level the portal asks in `acr_values`) signs in on the citizen page first;
    a consent already given for these scopes is not asked again."""

    login_url = reverse_lazy("sso:login")
    template_name = "sso/authorize.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        acr = session_assurance(request)
        wanted = [v for v in request.GET.get("acr_values", "").split() if v in ASSURANCE_RANK]
        enough = bool(acr) and all(ASSURANCE_RANK[acr] >= ASSURANCE_RANK[v] for v in wanted)
        if not enough:
            return redirect_to_login(request.get_full_path(), str(self.login_url))
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)
        return response

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        credentials = {**credentials, "shebao_acr": session_assurance(request)}
        result = super().create_authorization_response(request, scopes, credentials, allow)
        if allow:
            application = get_application_model().objects.get(client_id=credentials["client_id"])
            user = request.user
            if isinstance(user, User):  # dispatch let only a holder's session in
                sso_login_record(
                    user=user,
                    application=application,
                    scopes=scopes.split(),
                    acr=credentials["shebao_acr"],
                )
        return result

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        application = context.get("application")
        scopes = list(context.get("scopes") or [])
        if (
            self.request.method == "GET"
            and application is not None
            and consent_covering(user=self.request.user, application=application, scopes=scopes)
        ):
            form = context["form"]
            credentials = {
                k: v
                for k, v in form.initial.items()
                if k
                in {
                    "client_id",
                    "redirect_uri",
                    "response_type",
                    "state",
                    "code_challenge",
                    "code_challenge_method",
                    "nonce",
                }
                and v
            }
            uri, _headers, _body, _status = self.create_authorization_response(
                self.request, " ".join(scopes), credentials, True
            )
            redirected: HttpResponse = self.redirect(uri, application)
            return redirected
        context["scope_labels"] = _scope_labels(scopes)
        response: HttpResponse = super().render_to_response(context, **kwargs)
        _allow_redirect_to(response, application)
        return response

    def form_valid(self, form: Any) -> HttpResponse:
        if form.cleaned_data.get("allow"):
            application = get_application_model().objects.get(
                client_id=form.cleaned_data["client_id"]
            )
            consent_grant(
                user=self.request.user,
                application=application,
                scopes=str(form.cleaned_data.get("scope", "")).split(),
            )
        response: HttpResponse = super().form_valid(form)
        return response


# ---------------------------------------------------------------- discovery


class ShebaoDiscoveryView(ConnectDiscoveryInfoView):
    """DOT's discovery document, told what this provider really does: only the code flow
    (portals are registered for it, PKCE enforced), pairwise subjects, RS256 ID tokens, the
    assurance levels a portal may ask in `acr_values`, the grants in use, and no request
    objects (whose absence OIDC Discovery otherwise reads as "request_uri supported")."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data.update(
            {
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": [
                    "authorization_code",
                    "refresh_token",
                    "client_credentials",
                ],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "acr_values_supported": [level.value for level in Assurance],
                # prompt=none would need a silent answer; the holder is sent to sign in.
                "prompt_values_supported": ["login"],
                "claims_parameter_supported": False,
                "request_parameter_supported": False,
                "request_uri_parameter_supported": False,
                "ui_locales_supported": ["zh-CN"],
            }
        )
        data["claims_supported"] = sorted(data["claims_supported"])
        out = JsonResponse(data)
        out["Access-Control-Allow-Origin"] = "*"
        return out
