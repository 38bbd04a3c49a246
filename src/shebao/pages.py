"""Small helpers every app's pages share: the breadcrumb trail, the Chinese error page for a
ShebaoError, and the page number and paginator of a list (one place, so that every page
answers alike)."""

from __future__ import annotations

from typing import Any, Final

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from shebao.errors import ShebaoError

__all__ = ["PAGE_SIZE", "breadcrumbs", "error_page", "page_number", "paginate"]

PAGE_SIZE: Final[int] = 50


def breadcrumbs(*trail: tuple[str, str]) -> list[dict[str, str]]:
    """首页 followed by (label, url) pairs; an empty url marks the current page."""
    return [{"label": "首页", "url": reverse("web:home")}] + [
        {"label": label, "url": url} for label, url in trail
    ]


def error_page(request: HttpRequest, exc: ShebaoError) -> HttpResponse:
    """The error as a page: 403 and 404 keep their status, anything else is a 400."""
    status = exc.status if exc.status in (403, 404) else 400
    return render(
        request, f"{status}.html", {"message": exc.message, "code": exc.code}, status=status
    )


def page_number(request: HttpRequest) -> int:
    """`?page=` as a page number from 1; anything else is the first page."""
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def paginate(request: HttpRequest, items: Any, size: int = PAGE_SIZE) -> Any:
    """The `?page=` page of `items` (a Django Page; its object_list keeps the items' type)."""
    return Paginator(items, size).get_page(page_number(request))
