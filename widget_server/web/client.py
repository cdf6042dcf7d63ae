"""Who a visitor's request comes from: IP address, user agent and, behind a trusted proxy, location.

Headers such as X-Forwarded-For or CF-IPCountry are only as true as the proxy that set them, and any client can send
them when there is no proxy, so they are read only with ``WIDGET_TRUSTED_PROXY_HEADERS=1``. Then the IP is the first
valid one of CF-Connecting-IP, True-Client-IP, X-Real-IP and the left-most X-Forwarded-For entry (the client as the
first proxy saw it), else the socket's peer; the location comes from the headers Cloudflare, CloudFront, App Engine
and common nginx/GeoIP setups add. Values are length-checked; a country code must be two letters (Cloudflare's
``XX``, unknown, and ``T1``, Tor, are dropped).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from ..tracking import ClientInfo, Geolocation

MAX_USER_AGENT = 512
MAX_GEO_VALUE = 128

IP_HEADERS = ("cf-connecting-ip", "true-client-ip", "x-real-ip", "x-forwarded-for")
COUNTRY_CODE_HEADERS = ("cf-ipcountry", "x-country-code", "cloudfront-viewer-country", "x-appengine-country",
                        "x-geo-country", "x-geoip-country-code")
COUNTRY_HEADERS = ("x-country", "x-country-name", "x-geoip-country-name")
REGION_HEADERS = ("cf-region", "x-region", "cloudfront-viewer-country-region-name", "x-appengine-region",
                  "x-geo-region", "x-geoip-region")
CITY_HEADERS = ("cf-ipcity", "x-city", "cloudfront-viewer-city", "x-appengine-city", "x-geo-city", "x-geoip-city")
TIMEZONE_HEADERS = ("cf-timezone", "cloudfront-viewer-time-zone", "x-timezone", "x-geoip-timezone")


def _ip(value: str) -> str | None:
    value = value.strip().strip('"')
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _text(headers: Mapping[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        value = (headers.get(name) or "").strip()
        if value and len(value) <= MAX_GEO_VALUE and value.isprintable():
            return value
    return ""


def forwarded_ip(headers: Mapping[str, str]) -> str | None:
    for name in IP_HEADERS:
        value = headers.get(name)
        if value:
            ip = _ip(value.split(",", 1)[0])
            if ip:
                return ip
    return None


def geolocation(headers: Mapping[str, str]) -> Geolocation | None:
    code = ""
    for name in COUNTRY_CODE_HEADERS:
        value = (headers.get(name) or "").strip().upper()
        if len(value) == 2 and value.isascii() and value.isalpha() and value != "XX":
            code = value
            break
    geo = Geolocation(country=_text(headers, COUNTRY_HEADERS), country_code=code,
                      region=_text(headers, REGION_HEADERS), city=_text(headers, CITY_HEADERS),
                      timezone=_text(headers, TIMEZONE_HEADERS))
    return None if geo == Geolocation() else geo


def client_info(headers: Mapping[str, str], peer: str | None, trusted_proxy_headers: bool) -> ClientInfo:
    """The request's client; ``headers`` with lower-case names (Litestar's and ASGI's are)."""
    user_agent = (headers.get("user-agent") or "")[:MAX_USER_AGENT] or None
    if not trusted_proxy_headers:
        return ClientInfo(ip=peer, user_agent=user_agent)
    return ClientInfo(ip=forwarded_ip(headers) or peer, user_agent=user_agent, geo=geolocation(headers))


def forwarded_address(request: Any) -> str:
    """The rate limiter's key with ``WIDGET_TRUSTED_PROXY_HEADERS``: the client's IP as the proxy reports it."""
    peer = request.client.host if request.client else "127.0.0.1"
    return forwarded_ip(request.headers) or peer


def address_of(request: Any, trusted_proxy_headers: bool) -> str | None:
    """The client's IP address alone (the per-address write limit's key): the peer's, or with
    ``WIDGET_TRUSTED_PROXY_HEADERS`` the one the proxy reports."""
    peer = request.client.host if request.client else None
    return (forwarded_ip(request.headers) or peer) if trusted_proxy_headers else peer


def client_of(request: Any, trusted_proxy_headers: bool) -> ClientInfo:
    """``client_info`` of a request or websocket (Litestar's, or a fast path's stand-in)."""
    return client_info(request.headers, request.client.host if request.client else None, trusted_proxy_headers)
