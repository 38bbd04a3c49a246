"""The second step of a staff login: the one-time code (TOTP), or enrolling a device.

After the right password, an account that needs a second factor is NOT logged in: the
session only remembers who passed the password (for `SHEBAO_SECOND_FACTOR_SECONDS`), and
`login()` runs once the code is right too. An account without a device enrols first: the
key is shown once, as a QR code and as text, and the first right code confirms it.

Wrong codes count toward the same per-(username, client) lockout as wrong passwords, and
the count is cleared only by a right code, not by the password."""

from __future__ import annotations

import time
from typing import Any

import django_otp
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_totp.models import TOTPDevice

from shebao.accounts.audit import audit_record
from shebao.accounts.backends import login_client, login_locked
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User
from shebao.accounts.second_factor import (
    totp_check,
    totp_device,
    totp_enrol_confirm,
    totp_enrol_start,
    totp_enrolled,
    totp_passed_record,
    totp_qr_data_uri,
    totp_secret_text,
)
from shebao.web.forms import login_failed_message

_PENDING = "shebao_second_factor"
_BACKEND = "shebao.accounts.backends.LockoutModelBackend"


class CodeForm(forms.Form):
    code = forms.CharField(
        label="动态口令",
        max_length=12,
        error_messages={"required": "请输入验证器应用显示的 6 位动态口令"},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "pattern": "[0-9 ]*",
            }
        ),
        help_text=(
            "打开手机上的验证器应用（如 FreeOTP、Google Authenticator、腾讯身份验证器），"
            "输入当前显示的 6 位数字。"
        ),
    )


def second_factor_begin(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """The password was right: remember who, for a few minutes, and ask for the code (or
    for enrolment). A new session key, so a planted session id is worth nothing."""
    request.session.cycle_key()
    request.session[_PENDING] = {"user": user.pk, "at": time.time(), "next": next_url}
    return redirect("web:login_enrol" if not totp_enrolled(user) else "web:login_code")


def _pending(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    state = request.session.get(_PENDING)
    if not isinstance(state, dict):
        return None
    if time.time() - float(state.get("at", 0)) > settings.SHEBAO_SECOND_FACTOR_SECONDS:
        request.session.pop(_PENDING, None)
        return None
    user_id = state.get("user")
    if not isinstance(user_id, int):
        request.session.pop(_PENDING, None)
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        request.session.pop(_PENDING, None)
        return None
    return user, state


def _restart(request: HttpRequest, message: str) -> HttpResponse:
    request.session.pop(_PENDING, None)
    messages.error(request, message)
    return redirect("web:login")


def _finish(request: HttpRequest, user: User, device: TOTPDevice, next_url: str) -> HttpResponse:
    request.session.pop(_PENDING, None)
    totp_passed_record(user=user)
    login(request, user, backend=_BACKEND)
    django_otp.login(request, device)
    with transaction.atomic():
        audit_record(actor=user, action=AuditAction.LOGIN, detail={"second_factor": "totp"})
    return redirect(next_url or "web:home")


def _locked_now(user: User, client: str) -> bool:
    return login_locked(username=user.username, client=client)


@never_cache
@require_http_methods(["GET", "POST"])
def login_code_view(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    if pending is None:
        return _restart(request, "登录已超时，请重新输入用户名和密码。")
    user, state = pending
    device = totp_device(user)
    if device is None:
        return redirect("web:login_enrol")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        client = login_client(request)
        if totp_check(user=user, device=device, code=form.cleaned_data["code"], client=client):
            return _finish(request, user, device, str(state.get("next") or ""))
        if _locked_now(user, client):
            return _restart(request, login_failed_message())
        form.add_error("code", "动态口令错误或已使用过，请输入验证器应用当前显示的口令。")
    return render(request, "web/login_code.html", {"form": form, "username": user.username})


@never_cache
@require_http_methods(["GET", "POST"])
def login_enrol_view(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    if pending is None:
        return _restart(request, "登录已超时，请重新输入用户名和密码。")
    user, state = pending
    if totp_enrolled(user):
        return redirect("web:login_code")
    device: TOTPDevice | None = None
    device_id = state.get("enrol_device")
    if request.method == "POST" and device_id is not None:
        device = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
    if device is None:
        # Each fresh visit draws a new key: a key seen on an abandoned page is useless.
        device = totp_enrol_start(user)
        state["enrol_device"] = device.pk
        request.session[_PENDING] = state
    form = CodeForm(request.POST if request.method == "POST" and device_id else None)
    if request.method == "POST" and device_id is not None and form.is_valid():
        client = login_client(request)
        if totp_check(user=user, device=device, code=form.cleaned_data["code"], client=client):
            totp_enrol_confirm(user=user, device=device, client=client)
            return _finish(request, user, device, str(state.get("next") or ""))
        if _locked_now(user, client):
            return _restart(request, login_failed_message())
        form.add_error("code", "动态口令错误，请确认已添加密钥并输入当前显示的口令。")
    return render(
        request,
        "web/login_enrol.html",
        {
            "form": form,
            "username": user.username,
            "qr": totp_qr_data_uri(device, user.username),
            "secret": totp_secret_text(device),
        },
    )
