"""Reading a request: its cookies, its public base URL, the API version of its path."""

from __future__ import annotations

from typing import Any


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
