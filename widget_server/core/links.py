"""Outgoing HTTP a customer's call causes: link previews (``get_url_info``) and the callback of a verified e-mail
address (``request_email_verification``).

A customer names the URL, so these requests get the webhooks' guard (``targets.TargetPolicy``): the resolved address
must be public unless the operator allows its network (``WIDGET_CUSTOMER_URL_ALLOWED_NETWORKS``, not the webhooks'
allowance: ``LocalCore.customer_targets``), the request goes to
exactly that address (a name that resolves elsewhere a moment later changes nothing), and a redirect is followed
only after its own target passed the same check. Every fetch is bounded in time and in bytes read.
"""

from __future__ import annotations

import asyncio
import hashlib
import html.parser
import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import msgspec

from .. import keys
from ..protocol.customer import UrlInfo
from ..protocol.errors import ApiError
from .targets import TargetPolicy, TargetRefused

log = logging.getLogger("widget_server.links")

MAX_REDIRECTS = 3
TEXT_LIMIT = {"title": 512, "description": 2048}
URL_LIMIT = 2048
USER_AGENT = "widget_server-link-preview"
_info_decoder = msgspec.json.Decoder(UrlInfo)


class FetchFailed(Exception):
    """The page could not be fetched (refused address, network error, timeout, an error status)."""


def _http_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise ApiError("validation", "url: not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ApiError("validation", "url: an http:// or https:// URL with a host is required")
    return parsed


class GuardedHttp:
    """Requests to URLs a customer chose, to checked addresses only, each with its own client (a TLS connection
    made for one name is never reused for another name at the same address)."""

    def __init__(self, targets: TargetPolicy, timeout: float) -> None:
        self.targets = targets
        self.timeout = timeout

    async def _pinned(self, url: httpx.URL) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
        host = url.raw_host.decode("ascii")  # IDNA-encoded, without an IPv6 literal's brackets
        address = await self.targets.resolve(host, url.port or (443 if url.scheme == "https" else 80))
        # connect to the checked address; the name stays in Host and in TLS (SNI and the certificate check)
        return url.copy_with(host=address), {"Host": url.netloc.decode("ascii")}, {"sni_hostname": host}

    async def get(self, url: str, max_bytes: int) -> tuple[str, str, bytes]:
        """(final URL, content type, at most ``max_bytes`` of the body) of a GET, following at most
        ``MAX_REDIRECTS`` redirects, each to a checked address. Raises FetchFailed."""
        current = _http_url(url)
        try:
            async with asyncio.timeout(self.timeout), httpx.AsyncClient(follow_redirects=False) as http:
                for _ in range(MAX_REDIRECTS + 1):
                    pinned, headers, ext = await self._pinned(current)
                    # identity only: the bytes read are the bytes counted (no compressed page can inflate in memory)
                    headers.update({"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml",
                                    "Accept-Encoding": "identity"})
                    async with http.stream("GET", pinned, headers=headers, extensions=ext) as response:
                        if response.is_redirect and response.headers.get("location"):
                            current = _http_url(urljoin(str(current), response.headers["location"]))
                            continue
                        if not response.is_success:
                            raise FetchFailed(f"status {response.status_code}")
                        if response.headers.get("content-encoding", "identity").lower() != "identity":
                            raise FetchFailed("compressed answer")
                        body = bytearray()
                        async for chunk in response.aiter_raw():
                            body += chunk
                            if len(body) >= max_bytes:
                                break
                        return str(current), response.headers.get("content-type", ""), bytes(body[:max_bytes])
                raise FetchFailed("too many redirects")
        except TargetRefused as exc:
            raise FetchFailed("address not allowed") from exc
        except ApiError:
            raise
        except (httpx.HTTPError, OSError, TimeoutError, ValueError) as exc:
            raise FetchFailed(type(exc).__name__) from exc

    async def post_json(self, url: str, body: bytes) -> int:
        """POST ``body`` to ``url`` (no redirect followed, no retry); the answer's status, 0 when it failed."""
        try:
            target = _http_url(url)
            async with asyncio.timeout(self.timeout), httpx.AsyncClient(follow_redirects=False) as http:
                pinned, headers, ext = await self._pinned(target)
                headers.update({"Content-Type": "application/json", "User-Agent": USER_AGENT})
                response = await http.post(pinned, content=body, headers=headers, extensions=ext)
                return response.status_code
        except (TargetRefused, ApiError, httpx.HTTPError, OSError, TimeoutError, ValueError):
            return 0


class _Head(html.parser.HTMLParser):
    """Collects a page's ``<title>`` and its ``<meta>`` (``og:*``, ``twitter:*``, ``description``) until ``<body>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            a = {k.lower(): v or "" for k, v in attrs}
            name = (a.get("property") or a.get("name") or "").lower()
            if name and "content" in a and name not in self.meta:
                self.meta[name] = a["content"]
        elif tag == "title":
            self._in_title = True
        elif tag == "body":
            self.done = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "head":
            self.done = True

    def handle_data(self, data: str) -> None:
        if self._in_title and len(self.title) < TEXT_LIMIT["title"]:
            self.title += data


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"\' ')
    return "utf-8"


def _int(text: str | None) -> int | None:
    # ASCII digits only: str.isdigit() also takes superscripts ("\u00b2"), which int() refuses
    value = (text or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 7 else None


def parse_preview(url: str, content_type: str, body: bytes) -> UrlInfo:
    """The preview of an HTML page: ``og:*`` first, then ``twitter:*``, then ``<title>`` and the description meta.
    An image URL is made absolute against the page and kept only when it is http(s)."""
    if "html" not in content_type.lower():
        return UrlInfo(url=url)
    try:
        text = body.decode(_charset(content_type), errors="replace")
    except (LookupError, UnicodeError):  # an unknown charset name, or a codec without "replace" (idna, punycode)
        text = body.decode("utf-8", errors="replace")
    # some codecs (unicode_escape: "\\ud800") yield lone surrogates, which no UTF-8 answer can carry
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    head = _Head()
    # fed in slices so a page without a </head> stops being parsed at its <body>, not at its end
    for start in range(0, len(text), 8192):
        if head.done:
            break
        try:
            head.feed(text[start:start + 8192])
        except AssertionError:  # the stdlib parser's answer to some broken markup ("<![ x [", "<![abc"): stop there
            break
    meta = head.meta

    def first(*names: str) -> str | None:
        return next((meta[n].strip() for n in names if meta.get(n, "").strip()), None)

    def clip(value: str | None, field: str) -> str | None:
        return " ".join(value.split())[:TEXT_LIMIT[field]] if value else None

    image = first("og:image:secure_url", "og:image", "og:image:url", "twitter:image", "twitter:image:src")
    if image:
        try:
            image = urljoin(url, image)
            if urlsplit(image).scheme not in ("http", "https") or len(image) > URL_LIMIT:
                image = None
        except ValueError:  # not a URL at all ("http://[::1": an unclosed IPv6 literal)
            image = None
    return UrlInfo(
        url=url,
        title=clip(first("og:title", "twitter:title") or head.title.strip() or None, "title"),
        description=clip(first("og:description", "twitter:description", "description"), "description"),
        image_url=image,
        image_original_url=image,
        image_width=_int(meta.get("og:image:width")) if image else None,
        image_height=_int(meta.get("og:image:height")) if image else None,
    )


class LinkPreviews:
    """``get_url_info``: previews cached in Valkey (``keys.url_info``), fetched at most
    ``WIDGET_URL_INFO_PER_MINUTE`` times a minute per customer."""

    def __init__(self, valkey: Any, http: GuardedHttp, max_bytes: int, cache_seconds: int, per_minute: int) -> None:
        self.r = valkey
        self.http = http
        self.max_bytes = max_bytes
        self.cache_seconds = cache_seconds
        self.per_minute = per_minute

    async def info(self, customer_id: str, url: str, now: float) -> UrlInfo:
        _http_url(url)  # a malformed URL is a validation error before anything else
        digest = hashlib.sha256(url.encode()).hexdigest()
        cached = await self.r.get(keys.url_info(digest))
        if cached:
            return _info_decoder.decode(cached)
        if self.per_minute > 0:
            counter = keys.url_info_calls(customer_id, int(now // 60))
            async with self.r.pipeline(transaction=False) as pipe:
                pipe.incr(counter)
                pipe.expire(counter, 120, nx=True)
                count, _ = await pipe.execute()
            if int(count) > self.per_minute:
                raise ApiError("too_many_requests", "Too many link previews; try again in a minute",
                               {"retry_after": 60 - int(now) % 60})
        try:
            final, content_type, body = await self.http.get(url, self.max_bytes)
        except FetchFailed as exc:
            # the reason stays in the log: which addresses and ports answer how is not the caller's to learn
            log.info("link preview not fetched: %s", exc)
            raise ApiError("validation", "url: the page could not be fetched") from None
        info = parse_preview(final, content_type, body)
        info.url = url
        await self.r.set(keys.url_info(digest), msgspec.json.encode(info), ex=max(1, self.cache_seconds))
        return info
