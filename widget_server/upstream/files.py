"""Proxy mode's ``/files`` relay: an uploaded file is kept by the upstream (``upload_file`` is forwarded like any
action), and a download from the edge, ``GET /files/<org>/<file_id>/<name>``, is streamed from the upstream's same
path. The body passes through in chunks, never held whole, and at most ``WIDGET_UPSTREAM_FILE_MAX_BYTES`` of it; the
upstream's status and the headers that say what the file is and how to show and cache it come along, its cookies
and anything else do not. An upstream error is relayed in LiveChat's shape with its status, as for actions.

An upstream that is another widget_server hands out file URLs on its own host unless its ``WIDGET_PUBLIC_URL`` says
otherwise: set it to the edge's public URL when browsers reach only the edge, so every file URL points here."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from ..protocol.errors import ApiError
from ..tracking.models import ClientInfo
from .client import Upstream, UpstreamError, error_from

log = logging.getLogger("widget_server.upstream")

RELAYED_HEADERS = ("content-type", "content-length", "content-encoding", "content-disposition", "cache-control",
                   "etag", "last-modified", "expires", "x-content-type-options", "content-security-policy")
"""The upstream's answer headers a download keeps: what the file is, how a browser may show it (inline or as an
attachment, the sandboxing CSP, no sniffing) and how long it may be cached."""
FORWARDED_HEADERS = ("accept-encoding", "if-none-match", "if-modified-since")
"""The browser's request headers passed on: the body is relayed as it comes (``content-encoding`` included), so the
upstream must only use an encoding the browser takes; conditional requests keep working."""
MAX_ERROR_BYTES = 64 * 1024
"""An error's body is read whole to relay it as LiveChat's error; no error needs more."""


@dataclass
class FileDownload:
    """An upstream answer to stream on: ``status``, the kept ``headers``, and ``chunks`` (which closes it)."""

    status: int
    headers: dict[str, str]
    chunks: AsyncIterator[bytes]


def file_url(upstream: Upstream, org: str, file_id: str, name: str) -> str:
    """The upstream's URL of the file. A part that is a dot segment is refused: the URL would leave ``/files/`` on the
    upstream once normalised (``/files/../x`` is ``/x``)."""
    parts = (org, file_id, name)
    if any(part in ("", ".", "..") for part in parts):
        raise ApiError("not_found", "File not found or expired")
    return "/".join((upstream.api_url, "files", *(quote(part, safe="") for part in parts)))


async def open_download(upstream: Upstream, org: str, file_id: str, name: str, request_headers: dict[str, str],
                        client: ClientInfo | None, max_bytes: int) -> FileDownload:
    """Ask the upstream for the file; raises its error (LiveChat's shape, its status), ``service_unavailable`` or
    ``request_timeout`` as an action would, or ``internal`` (502) for a file larger than ``max_bytes``."""
    headers = {name: value for name, value in request_headers.items() if name in FORWARDED_HEADERS}
    headers.setdefault("accept-encoding", "identity")  # (httpx would ask for gzip, which the browser may not take)
    if client is not None and client.ip:
        headers["x-forwarded-for"] = client.ip
    if client is not None and client.user_agent:
        headers["user-agent"] = client.user_agent
    url = file_url(upstream, org, file_id, name)
    r = await upstream.open_stream(url, headers)
    try:
        if r.status_code >= 400:
            raise error_from(await _read_at_most(r, MAX_ERROR_BYTES), r.status_code)
        length = r.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise _too_large(max_bytes)
    except BaseException:
        await r.aclose()
        raise
    kept = {name: r.headers[name] for name in RELAYED_HEADERS if name in r.headers}
    return FileDownload(r.status_code, kept, _chunks(r, max_bytes))


async def _chunks(r: httpx.Response, max_bytes: int) -> AsyncIterator[bytes]:
    """The body as it arrives; past ``max_bytes`` the relay stops with an error, so the browser's download fails
    (the connection ends before the promised length, or without the last chunk) instead of looking complete."""
    size = 0
    try:
        async for chunk in r.aiter_raw():
            size += len(chunk)
            if size > max_bytes:
                # (the file's URL is a capability: not in the log line; the server logs the aborted response too)
                log.warning("an upstream file ran over %d bytes midway: the download is cut off", max_bytes)
                raise _too_large(max_bytes)
            yield chunk
    finally:
        with contextlib.suppress(Exception):
            await r.aclose()


async def _read_at_most(r: httpx.Response, limit: int) -> bytes:
    body = b""
    async for chunk in r.aiter_bytes():  # (decoded: an error is read here, not relayed as it came)
        body += chunk
        if len(body) >= limit:
            break
    return body[:limit]


def _too_large(max_bytes: int) -> UpstreamError:
    return UpstreamError(502, "internal", f"The file is larger than this server relays ({max_bytes} bytes)")
