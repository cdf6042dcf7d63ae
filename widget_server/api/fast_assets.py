"""The widget's files and configuration on a fast path: a thin ASGI layer in front of Litestar answers
``GET /widget/loader.js`` and ``GET /widget/assets/<hashed name>`` straight from memory, and ``GET /v1/widget/config``
by calling its handler function directly.

These are the most requested URLs of the product (every page view of every site asks for the loader; every opened
chat for the frame's files), and they need nothing Litestar offers: no parameters, no dependencies, no middleware
(the rate limiter and CORS do not apply; the answer carries ``Access-Control-Allow-Origin: *`` itself). Litestar's
request path is ~75% of the time of such a request (measured with py-spy, ``benchmarks/widget_http.py``). The same
``serve_headers`` decides the answer as in ``api/widget.py``, whose routes still answer what this layer passes on:
an unknown file (a typed 404) or a server whose widget is not built (a typed 503)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from ..protocol.errors import ApiError, ErrorBody, ErrorPayload
from ..widget.assets import IMMUTABLE, Asset, WidgetAssets, serve_headers
from .state import AppState
from .widget import _CORS_ANY as CORS_ANY
from .widget import LOADER_CACHE, widget_config

CONFIG_PATH = "/v1/widget/config"

LOADER_PATH = "/widget/loader.js"
ASSETS_PREFIX = "/widget/assets/"


class _Headers:
    """The two request headers ``serve_headers`` reads, from an ASGI scope."""

    __slots__ = ("accept_encoding", "if_none_match")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.accept_encoding: str | None = None
        self.if_none_match: str | None = None
        for name, value in raw:
            if name == b"accept-encoding":
                self.accept_encoding = value.decode("latin-1")
            elif name == b"if-none-match":
                self.if_none_match = value.decode("latin-1")

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.accept_encoding if name == "accept-encoding" else self.if_none_match
        return default if value is None else value


class _Request:
    """What ``widget_config`` reads of a request (query, lower-case headers, the app's state), from an ASGI scope."""

    __slots__ = ("app", "headers", "query_params")

    def __init__(self, scope: dict[str, Any], state: AppState) -> None:
        self.app = SimpleNamespace(state=SimpleNamespace(ws=state))
        self.headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        query: dict[str, str] = {}
        for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
            query.setdefault(name, value)  # the first value, as Litestar's query_params.get
        self.query_params = query


class FastAssets:
    def __init__(self, app: Any, state: AppState) -> None:
        self.app = app
        self.state = state

    def __getattr__(self, name: str) -> Any:  # the Litestar app's attributes (``state``, ``routes`` …)
        return getattr(self.app, name)

    def _asset(self, path: str) -> tuple[Asset, str] | None:
        assets: WidgetAssets | None = self.state.widget_assets
        if assets is None:
            assets = self.state.widget_assets = WidgetAssets.load()
            if assets is None:
                return None
        if path == LOADER_PATH:
            return assets.by_logical("loader.js"), LOADER_CACHE
        asset = assets.get(path[len(ASSETS_PREFIX):])
        return (asset, IMMUTABLE) if asset is not None else None

    async def _config(self, scope: dict[str, Any], send: Any) -> None:
        """The frame's configuration without Litestar's request path: the same handler function, called with the
        few request parts it reads; its typed errors rendered as the app's error handler renders them."""
        try:
            response = await widget_config.fn(_Request(scope, self.state))
            status, body, headers = response.status_code or 200, response.content, dict(response.headers)
        except ApiError as exc:
            status, body, headers = exc.status_code, msgspec.json.encode(
                ErrorPayload(ErrorBody(exc.type, exc.message, exc.data))), {}
        raw = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
        raw += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            # the frame asks from its own origin (no Origin header: CORS is not involved); previews and proxy mode
            # take the full path
            if (path == CONFIG_PATH and self.state.upstream is None and b"preview=" not in scope["query_string"]
                    and not any(name == b"origin" for name, _ in scope["headers"])):
                await self._config(scope, send)
                return
            found = self._asset(path) if path == LOADER_PATH or path.startswith(ASSETS_PREFIX) else None
            if found is not None:
                asset, cache_control = found
                status, body, headers = serve_headers(asset, _Headers(scope["headers"]), cache_control, CORS_ANY)
                raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
                media_type = asset.media_type + ("; charset=utf-8" if asset.media_type.startswith("text/") else "")
                raw.append((b"content-type", media_type.encode()))
                if status == 200:
                    raw.append((b"content-length", str(len(body)).encode()))
                await send({"type": "http.response.start", "status": status, "headers": raw})
                await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})
                return
        await self.app(scope, receive, send)
