"""The progress of one job as JSON (for pages to poll) or as a small HTML fragment."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from shebao.accounts.decorators import staff_required
from shebao.accounts.models import User
from shebao.errors import PermissionDenied, ShebaoError
from shebao.jobs.selectors import job_progress, job_visible


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required has run: never the case
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    return user


@staff_required
@require_GET
def job_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        job = job_visible(actor=_user(request), job_id=pk)
    except ShebaoError as exc:
        return JsonResponse(
            {"error": {"code": exc.code, "message": exc.message}}, status=exc.status
        )
    return JsonResponse(job_progress(job), json_dumps_params={"ensure_ascii": False})


@staff_required
@require_GET
def job_progress_fragment_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        job = job_visible(actor=_user(request), job_id=pk)
    except ShebaoError as exc:
        return HttpResponse(exc.message, status=exc.status)
    return render(request, "jobs/_progress.html", {"job": job_progress(job)})
