from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from ninja.security import HttpBearer, SessionAuth

from shebao.accounts.services import api_token_authenticate, api_token_resolve
from shebao.errors import PermissionDenied


def api_scope_of(path: str) -> str:
    """The router a request addresses: `/api/v1/<scope>/...` → `<scope>`."""
    _, found, rest = path.partition("/api/v1/")
    return rest.split("/", 1)[0] if found else ""


class TokenAuth(HttpBearer):
    """Bearer tokens for banks, vendors and partner systems (stored hashed, expiring).

    A token calls only the routers of its scopes: outside them the answer is 403 with the
    scope named (the token is genuine, so nothing is revealed by saying so)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = api_token_resolve(token)
        if found is None:
            return None
        scope = api_scope_of(request.path)
        if not found.allows(scope):
            raise PermissionDenied(
                f"此令牌无权调用该接口（{scope or '未知'}），请在“接口令牌”页面签发含此范围的令牌",
                code="TOKEN_SCOPE_DENIED",
            )
        request.user = found.user
        return found.user


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
