"""Reading a request: its cookies, its public base URL, the API version of its path."""

from __future__ import annotations

from typing import Any

from ..protocol.errors import ApiError


def all_cookies(request: Any) -> dict[str, str]:
    """Cookies from every ``cookie`` header field: HTTP/2 browsers send each cookie in a field of its own
    (RFC 9113 §8.2.3), while ``request.cookies`` reads only the first field."""
    cookies: dict[str, str] = {}
    for field in request.headers.getall("cookie", []):
        for pair in field.split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep and name and name not in cookies:
                cookies[name] = value.strip().strip('"')
    return cookies


def base_url(request: Any, public_url: str) -> str:
    """The base of absolute URLs handed out: ``WIDGET_PUBLIC_URL``, else the request's own."""
    return public_url.rstrip("/") or str(request.base_url).rstrip("/")


def api_version(path: str) -> str:
    return "3.5" if path.startswith("/v3.5/") else "3.6"


def is_secure(request: Any) -> bool:
    """Whether the browser reached us over TLS (directly, or through a proxy that says so)."""
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


async def read_body(request: Any, limit: int) -> bytes:
    """The request body, refused with ``entity_too_large`` as soon as it is known to be over ``limit`` bytes: from
    its ``Content-Length`` before reading anything, else once the chunks read add up to more. (Litestar's
    ``request.body()`` would buffer up to the app-wide limit, which uploads set at 10 MB, before any check.) The
    answer goes out at once; what the client still sends is read and dropped after it, up to that app-wide limit
    (``api/fast_assets.py``, ``_BodyLeft``), so a client that writes its whole body before reading gets the answer
    instead of a reset."""
    too_large = ApiError("entity_too_large", f"Request body is larger than {limit} bytes")
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
