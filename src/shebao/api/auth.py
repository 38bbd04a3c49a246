from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from ninja.security import HttpBearer, SessionAuth

from shebao.accounts.services import api_token_authenticate


class TokenAuth(HttpBearer):
    """Bearer tokens for banks, vendors and partner systems (stored hashed)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token)
        if user is None:
            return None
        request.user = user
        return user


def api_auth() -> list[Any]:
    # Session auth lets the logged-in web UI call the same API (with CSRF).
    return [TokenAuth(), SessionAuth(csrf=True)]


def docs_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The API description (docs page and openapi.json) is for logged-in users and token
    holders only; anyone else is sent to the login page."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token and api_token_authenticate(token.strip()):
            return view(request, *args, **kwargs)
        return redirect_to_login(request.get_full_path())

    return guarded
