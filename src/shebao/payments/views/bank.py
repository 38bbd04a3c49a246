"""The cooperating bank's page (发放文件): the payment and deduction files addressed to it or
to its branch, to download, and their results to upload."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from shebao.errors import ShebaoError
from shebao.pages import breadcrumbs, error_page
from shebao.payments.roles import BANK_ROLES
from shebao.payments.views.common import actor_with_roles


@login_required
@require_http_methods(["GET"])
def bank_files(request: HttpRequest) -> HttpResponse:
    try:
        actor_with_roles(request, BANK_ROLES)
    except ShebaoError as exc:
        return error_page(request, exc)
    return render(
        request,
        "payments/bank_files.html",
        {"breadcrumbs": breadcrumbs(("待遇发放文件", ""))},
    )


urlpatterns: list[URLPattern] = [
    path("bank/", bank_files, name="bank_files"),
]
