"""The outermost ASGI layer: every HTTP request and RTM socket of the worker gets a request id (its log lines carry
it, its answer says it in ``X-Request-ID``), is counted and timed by route template (``metrics.py``) and, with
``WIDGET_ACCESS_LOG``, logged in one line.

It is outside the fast paths (``api/fast_assets.py``, ``api/fast_rtm.py``) so that their answers are counted like
Litestar's, and kept cheap for them: no Litestar objects, the request counted into plain lists (``metrics.HttpCounts``,
moved into the histogram every second), one wrapped ``send``. The route is the template Litestar matched (``scope["path_template"]``), a
fast path's own fixed path, or ``unmatched``: never the raw path, whose values (ids, a 404's made-up path) would make
the metric's label set, and the log, unbounded and would write what a client chose into every line.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from typing import Any

from .logs import REQUEST_ID, request_id
from .metrics import HTTP, HttpCounts

BOUNDS = HttpCounts.BOUNDS

log = logging.getLogger("widget_server.access")

ASSETS_PREFIX = "/widget/assets/"
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
"""A method label is one of these or ``OTHER`` (a client may send any token as a method)."""
FAST_ROUTES = frozenset(("/widget/loader.js", "/v1/widget/config", "/v1/track", "/v1/widget/visit"))
"""The fast paths' routes (``api/fast_assets.py``): their paths are their templates."""


def route_of(scope: dict[str, Any]) -> str:
    """The request's route template, after the app answered it."""
    template = scope.get("path_template")
    if template:
        return template
    path = scope["path"]
    if path in FAST_ROUTES:
        return path
    if path.startswith(ASSETS_PREFIX):
        return ASSETS_PREFIX + "{name}"
    return "unmatched"


class Observe:
    def __init__(self, app: Any, access_log: bool, rtm_paths: frozenset[str]) -> None:
        self.app = app
        # (granian configured logging before it called the app factory: the level is known now, not per request)
        self.access_log = access_log and log.isEnabledFor(logging.INFO)
        self.rtm_paths = rtm_paths

    def __getattr__(self, name: str) -> Any:  # the wrapped app's attributes (``state``, ``routes`` …)
        return getattr(self.app, name)


    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value
                break
        rid = request_id(incoming)
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 0
        if kind == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                if self.access_log:
                    path = scope["path"]
                    log.info("socket closed", extra={
                        "kind": "websocket", "route": path if path in self.rtm_paths else "unmatched",
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                        "client": (scope.get("client") or ("",))[0]})
                REQUEST_ID.reset(token)
            return
        header = (b"x-request-id", rid.encode("ascii"))

        def observed_send(message: dict[str, Any]) -> Any:
            # a plain function handing back send's awaitable: no coroutine frame of its own on every message (the
            # message dicts are made per call by the fast paths and by Litestar; their header lists may be shared,
            # so the list is copied, not appended to)
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            return send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            method = scope["method"]
            if method not in METHODS:
                method = "OTHER"
            pending = HTTP.pending  # (a new dict after every flush)
            counts = pending.get((route, method, status))
            if counts is None:  # (bounded: routes × methods × statuses)
                counts = pending[route, method, status] = [0] * len(BOUNDS) + [0.0]
            counts[bisect_left(BOUNDS, seconds)] += 1
            counts[-1] += seconds
            if self.access_log:
                log.info("request", extra={
                    "kind": "http", "method": method, "route": route, "status": status,
                    "duration_ms": round(seconds * 1000, 3), "client": (scope.get("client") or ("",))[0]})
            REQUEST_ID.reset(token)
