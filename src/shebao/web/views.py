from __future__ import annotations

from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction


def login_view(request: HttpRequest) -> HttpResponse:
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        login(request, user)
        audit_record(actor=user, action=AuditAction.LOGIN)  # type: ignore[arg-type]
        return redirect("web:home")
    return render(request, "web/login.html", {"form": form})


def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request.user.is_authenticated:
        audit_record(actor=request.user, action=AuditAction.LOGOUT)  # type: ignore[arg-type]
        logout(request)
    return redirect("web:login")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html")
