"""Writing answers, shared by the Litestar routes and the ASGI fast paths in front of them: LiveChat's error body,
JSON answers, the CORS headers of public files, and cookies (the identity cookies, and ``Set-Cookie`` fields written
without Litestar's encoder on the fast paths)."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Response
from litestar.datastructures import Cookie

from ..auth.tokens import COOKIE_ID, COOKIE_MAX_AGE, COOKIE_SIG
from ..protocol.errors import ApiError, ErrorBody, ErrorPayload
from ..valkey import unavailable

_encode = msgspec.json.encode
log = logging.getLogger("widget_server.api")

CORS_ANY = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}
"""Headers of the files any site may load (the loader, the hashed widget files)."""


def error_body(type_: str, message: str, data: dict[str, Any] | None = None) -> bytes:
    """LiveChat's error shape: ``{"error": {"type", "message", "data"?}}``."""
    return _encode(ErrorPayload(ErrorBody(type_, message, data)))  # type: ignore[arg-type]


def api_error_body(exc: ApiError) -> bytes:
    return error_body(exc.type, exc.message, exc.data)


def unexpected_error(exc: Exception, where: str) -> ApiError:
    """The typed error a client gets for an exception no handler turned into one (logged here, ``where`` naming the
    request): ``service_unavailable`` while Valkey is unreachable, paused or full (the request may be retried, and
    the worker recovers by itself when Valkey is back; one log line each, not a traceback), else ``internal``."""
    reason = unavailable(exc)
    if reason is not None:
        log.warning("%s: %s (%s)", where, reason, type(exc).__name__)
        return ApiError("service_unavailable", reason)
    log.error("unhandled error on %s", where, exc_info=exc)
    return ApiError("internal", "Internal server error")


def retry_after(exc: ApiError) -> dict[str, str] | None:
    """A ``Retry-After`` header for a refusal that says when to come back (``data.retry_after``, seconds)."""
    seconds = exc.data.get("retry_after") if exc.data else None
    return {"Retry-After": str(seconds)} if isinstance(seconds, int) else None


def error_response(status: int, type_: str, message: str, data: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(error_body(type_, message, data), status_code=status, media_type="application/json",
                    headers=headers)


def json_response(body: Any) -> Response[bytes]:
    return Response(_encode(body), media_type="application/json")


def identity_cookies(secure: bool, browser_id: str, signed: str) -> list[Cookie]:
    """The browser identity's two cookies: its id and the id signed (``auth.tokens.sign_browser``). Over TLS they are
    ``SameSite=None`` so the widget's frame on another site sends them."""
    same_site = "none" if secure else "lax"
    return [Cookie(key=COOKIE_ID, value=browser_id, max_age=COOKIE_MAX_AGE, httponly=True, secure=secure,
                   samesite=same_site, path="/"),
            Cookie(key=COOKIE_SIG, value=signed, max_age=COOKIE_MAX_AGE, httponly=True, secure=secure,
                   samesite=same_site, path="/")]


_PLAIN_COOKIE = re.compile(r"[A-Za-z0-9._~+-]+")  # (what http.cookies writes unquoted)


def set_cookie_field(cookie: Cookie) -> tuple[bytes, bytes]:
    """The ``Set-Cookie`` field of a cookie, as Litestar writes it: for the identity cookies' plain values and
    attributes written directly (Litestar's ``to_encoded_header`` deep-copies the cookie through ``dataclasses.asdict``
    and ``http.cookies``: ~35 µs a cookie, two on every page load); anything else through Litestar."""
    if cookie.expires is not None or cookie.domain or not _PLAIN_COOKIE.fullmatch(cookie.value or "") \
            or not _PLAIN_COOKIE.fullmatch(cookie.key):
        return cookie.to_encoded_header()
    parts = [f"{cookie.key}={cookie.value or ''}"]
    if cookie.httponly:
        parts.append("HttpOnly")
    if cookie.max_age is not None:
        parts.append(f"Max-Age={cookie.max_age}")
    if cookie.path:
        parts.append(f"Path={cookie.path}")
    if cookie.samesite:
        parts.append(f"SameSite={cookie.samesite}")
    if cookie.secure:
        parts.append("Secure")
    return b"set-cookie", "; ".join(parts).encode("latin-1")
