"""The one JSON error shape of the API: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DataError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from shebao.errors import ShebaoError

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ShebaoError)
    def _domain(request: HttpRequest, exc: ShebaoError) -> HttpResponse:
        return api.create_response(
            request, error_body(exc.code, exc.message, exc.details), status=exc.status
        )

    @api.exception_handler(NinjaValidationError)
    def _validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", [])), "reason": e.get("msg", "")}
            for e in exc.errors
        ]
        return api.create_response(
            request, error_body("VALIDATION_FAILED", "请求参数有误", details), status=422
        )

    @api.exception_handler(AuthenticationError)
    def _auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return api.create_response(
            request, error_body("UNAUTHENTICATED", "未登录或令牌无效"), status=401
        )

    @api.exception_handler(HttpError)
    def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return api.create_response(
            request, error_body(f"HTTP_{exc.status_code}", str(exc)), status=exc.status_code
        )

    @api.exception_handler(OverflowError)
    @api.exception_handler(DataError)
    def _out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
        # A number too large for the database (?page=99999999999999999999): the request's
        # fault, answered in the API's shape rather than as a server error page.
        return api.create_response(
            request,
            error_body("PARAMETER_OUT_OF_RANGE", "请求参数超出允许范围（如页码、偏移量过大）"),
            status=400,
        )

    @api.exception_handler(Exception)
    def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Anything else is our fault: logged with its traceback (the log redacts personal
        # numbers), answered as JSON, never as Django's HTML error page.
        logger.exception("API error on %s %s", request.method, request.path)
        return api.create_response(
            request, error_body("INTERNAL_ERROR", "服务器内部错误，请稍后重试"), status=500
        )
