"""The lean path of the one hot machine-to-machine endpoint, `POST /api/v1/partners/verify`.

A partner terminal's identity verification is the API's busiest call (issue #11: ≥ 1,000 per
second on two cores). Through Django's full stack most of its cost was work it has no use
for: the session, CSRF, authentication, messages and CSP middleware, URL resolution and
ninja's request parsing and response validation. `LeanVerify` is a WSGI layer in front of
Django's handler (`shebao.wsgi`) that answers exactly this method and path itself, with the
same service (`identity_verify`: the same checks, rate limit, audit row and change-feed
record), the same JSON answer byte for byte, the same error shape and codes and the same
response headers. The ninja route stays: it documents the endpoint in the OpenAPI schema
and answers everything the lean path does not take (see ADR 0016).

The lean path takes a request only when it is plainly well-formed: a JSON object body whose
`method` is one of the methods and whose other fields are strings or null, an `Authorization:
Bearer` token of an active terminal, an allowed host, and (in production) HTTPS. Anything
else — a missing or unknown token, a malformed body, a wrong host — goes on to Django with the
body it sent, so that every refusal is the one the full stack gives.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, Final

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import DataError
from django.utils.http import http_date
from ninja.responses import NinjaJSONEncoder

from shebao.accounts.clients import request_client_address
from shebao.accounts.context import RequestContext, current_request
from shebao.errors import ShebaoError
from shebao.partners.services.identity import (
    VerifyMethod,
    identity_verify,
    terminal_authenticate,
    verification_body,
)

__all__ = ["VERIFY_PATH", "LeanVerify", "lean_headers"]

logger = logging.getLogger(__name__)

VERIFY_PATH: Final[str] = "/api/v1/partners/verify"
_METHODS: Final[frozenset[str]] = frozenset(m.value for m in VerifyMethod)
_TEXT_FIELDS: Final[tuple[str, ...]] = ("name", "card_number", "id_number", "business_token")
_STATUS_TEXT: Final[dict[int, str]] = {
    200: "200 OK",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    409: "409 Conflict",
    422: "422 Unprocessable Entity",
    429: "429 Too Many Requests",
    500: "500 Internal Server Error",
}

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _csp_header() -> str:
    """The Content-Security-Policy header the CSP middleware sets, from the same setting."""
    from csp.utils import build_policy

    return str(build_policy())


def lean_headers(*, secure: bool) -> list[tuple[str, str]]:
    """The headers Django's middleware puts on an API answer (security, no-store, CSP,
    clickjacking); a test compares them with the full stack's."""
    headers = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Expires", http_date()),
        ("Cache-Control", "max-age=0, no-cache, no-store, must-revalidate, private"),
        ("Content-Security-Policy", _CSP),
        ("X-Frame-Options", settings.X_FRAME_OPTIONS),
    ]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append(("Referrer-Policy", str(settings.SECURE_REFERRER_POLICY)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    if secure and settings.SECURE_HSTS_SECONDS:
        sts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            sts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            sts += "; preload"
        headers.append(("Strict-Transport-Security", sts))
    return headers


_CSP: str = ""


def _payload(body: bytes) -> dict[str, str | None] | None:
    """The request body when it is plainly what `VerifyIn` accepts, else None (Django
    answers it, with ninja's validation message)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("method") not in _METHODS:
        return None
    out: dict[str, str | None] = {"method": data["method"]}
    for name in _TEXT_FIELDS:
        value = data.get(name)
        if value is not None and type(value) is not str:
            return None
        out[name] = value
    return out


def _bearer(environ: dict[str, Any]) -> str | None:
    """The token as ninja's HttpBearer reads it."""
    value = environ.get("HTTP_AUTHORIZATION")
    if not value:
        return None
    parts = value.split(" ")
    if parts[0].lower() != "bearer":
        return None
    return " ".join(parts[1:]).strip() or None


class LeanVerify:
    """WSGI middleware: `POST /api/v1/partners/verify` answered here, all else by `app`."""

    def __init__(self, app: WSGIApp) -> None:
        global _CSP
        self.app = app
        _CSP = _csp_header()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != VERIFY_PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        answer = self._answer(environ)
        if answer is None:
            return self.app(environ, start_response)
        status, headers, content = answer
        start_response(_STATUS_TEXT.get(status, f"{status} Unknown"), headers)
        return [content]

    def _answer(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes] | None:
        request = WSGIRequest(environ)
        body = request.body
        # Django reads the body again if it answers: give it the bytes already read.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        try:
            request.get_host()
        except DisallowedHost:
            return None
        secure = request.is_secure()
        if settings.SECURE_SSL_REDIRECT and not secure:
            return None  # the security middleware redirects it
        if not (environ.get("CONTENT_TYPE") or "").startswith("application/json"):
            return None
        payload = _payload(body)
        token = _bearer(environ)
        if payload is None or token is None:
            return None
        # What Django's handler does at the start and end of every request (its receivers
        # drop a database connection that failed or outlived CONN_MAX_AGE).
        signals.request_started.send(sender=self.__class__, environ=environ)
        context = current_request.set(
            RequestContext(ip_address=request_client_address(request) or None, channel="api")
        )
        try:
            caller = terminal_authenticate(token)
            if caller is None:
                return None  # 401 from ninja's authentication
            status, data = 200, self._verify(caller, payload)
        except ShebaoError as exc:
            status, data = exc.status, _error(exc.code, exc.message, exc.details)
        except (DataError, OverflowError):
            status, data = (
                400,
                _error("PARAMETER_OUT_OF_RANGE", "请求参数超出允许范围（如页码、偏移量过大）"),
            )
        except Exception:
            logger.exception("API error on POST %s", VERIFY_PATH)
            status, data = 500, _error("INTERNAL_ERROR", "服务器内部错误，请稍后重试")
        finally:
            current_request.reset(context)
            signals.request_finished.send(sender=self.__class__)
        content = json.dumps(data, cls=NinjaJSONEncoder).encode()
        headers = lean_headers(secure=secure)
        headers.append(("Content-Length", str(len(content))))
        return status, headers, content

    @staticmethod
    def _verify(caller: Any, payload: dict[str, str | None]) -> dict[str, Any]:
        result = identity_verify(
            caller=caller,
            method=str(payload["method"]),
            name=payload["name"],
            card_number=payload["card_number"],
            id_number=payload["id_number"],
            business_token=payload["business_token"],
        )
        return verification_body(result)


def _error(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    # The shape of shebao.api.errors.error_body (the API layer sits above this app).
    return {"error": {"code": code, "message": message, "details": details or []}}
