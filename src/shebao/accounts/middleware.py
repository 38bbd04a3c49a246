from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from shebao.accounts.clients import request_client_address
from shebao.accounts.context import RequestContext, current_request


class RequestContextMiddleware:
    """Records the client address and channel for the audit log of this request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = "api" if request.path.startswith("/api/") else "web"
        token = current_request.set(
            # Behind a trusted proxy, the address it forwarded: the audit log and the login
            # lockout count the real client, not the proxy.
            RequestContext(ip_address=request_client_address(request) or None, channel=channel)
        )
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)


class NoStoreMiddleware:
    """Pages and API answers hold personal data: no browser or proxy may keep a copy.

    Static files never reach this (WhiteNoise answers them first); a response that set its
    own Cache-Control keeps it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
