"""The paying office's pages (待遇发放): its programmes and batches.

Views parse the request, call a selector or a service and render; scope (a paying office
sees only its own programmes), masking and auditing happen in those selectors and
services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from shebao.errors import ShebaoError
from shebao.pages import breadcrumbs, error_page
from shebao.payments.roles import BATCH_VIEW_ROLES
from shebao.payments.views.common import actor_with_roles


@login_required
@require_http_methods(["GET"])
def batches(request: HttpRequest) -> HttpResponse:
    try:
        actor_with_roles(request, BATCH_VIEW_ROLES)
    except ShebaoError as exc:
        return error_page(request, exc)
    return render(
        request,
        "payments/batches.html",
        {"breadcrumbs": breadcrumbs(("待遇发放", ""))},
    )


urlpatterns: list[URLPattern] = [
    path("", batches, name="batches"),
]
