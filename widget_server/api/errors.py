"""Every error leaves the Web API in LiveChat's shape: ``{"error": {"type", "message", "data"?}}``."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from ..protocol.errors import ApiError
from ..web.responses import error_response, retry_after, unexpected_error

log = logging.getLogger("widget_server.api")

_STATUS_TYPES = {
    400: "validation",
    401: "authentication",
    403: "authorization",
    404: "not_found",
    405: "validation",
    413: "entity_too_large",
    429: "too_many_requests",
    503: "service_unavailable",
}


def api_error_handler(request: Request[Any, Any, Any], exc: ApiError) -> Response[bytes]:
    return error_response(exc.status_code, exc.type, exc.message, exc.data, headers=retry_after(exc))


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    type_ = _STATUS_TYPES.get(status, "internal" if status >= 500 else "validation")
    message = exc.detail if status < 500 else "Internal server error"
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() in ("retry-after", "allow")}
    if status == 429 and not headers:
        # Litestar's rate limiter says when its window resets (RateLimit-Reset, seconds): clients read Retry-After
        reset = next((v for k, v in (exc.headers or {}).items() if k.lower() == "ratelimit-reset"), None)
        headers = {"Retry-After": str(max(1, int(reset)))} if reset and reset.lstrip("-").isdigit() else {}
    if status >= 500:
        log.error("HTTP %s on %s: %s", status, request.url.path, exc.detail)
    return error_response(status, type_, message, headers=headers or None)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    error = unexpected_error(exc, request.url.path)
    return error_response(error.status_code, error.type, error.message)


EXCEPTION_HANDLERS = {ApiError: api_error_handler, HTTPException: http_error_handler, Exception: internal_error_handler}
