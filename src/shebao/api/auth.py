from __future__ import annotations

from typing import Any

from django.http import HttpRequest
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
