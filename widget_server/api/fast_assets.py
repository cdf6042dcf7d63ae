"""The widget's hot paths: a thin ASGI layer in front of Litestar answers ``GET /widget/loader.js`` and
``GET /widget/assets/<hashed name>`` straight from memory, and calls the handler functions of ``GET /v1/widget/config``,
``POST /v1/track`` and the loader's calls (``POST /v1/widget/visit``: a page load, a page view, a heartbeat) directly.

These are the most requested URLs of the product (every page view of every site asks for the loader and reports the
view, every open page sends heartbeats, every opened chat asks for the frame's files and configuration), and they need
nothing Litestar adds: no path parameters, no dependencies, no middleware besides CORS (the rate limiter excludes them;
the answers carry the CORS headers the app's ``CORSConfig`` gives) and the count of requests in flight that a graceful
drain waits for (kept here, for every HTTP request). Litestar's request path was ~75 % of the time of such a request
(py-spy, ``benchmarks/widget_http.py``). The handlers are the routes' own functions, given the few request parts they
read (``_Request``) and the dependencies Litestar would provide, so both paths answer alike; their typed errors are
rendered as the app's error handlers render them.
What this layer passes on, Litestar answers: a preview, proxy mode, a body it cannot read the type of, an unknown file
(a typed 404), a server whose widget is not built (a typed 503)."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from ..protocol.errors import ApiError
from ..services import Services
from ..web.responses import CORS_ANY, api_error_body, retry_after, set_cookie_field, unexpected_error
from ..widget.assets import IMMUTABLE, Asset, WidgetAssets, serve_headers
from .tracking_web import track
from .widget import LOADER_CACHE, query_int, widget_config, widget_visit

log = logging.getLogger("widget_server.api")

CONFIG_PATH = "/v1/widget/config"
TRACK_PATH = "/v1/track"
VISIT_PATH = "/v1/widget/visit"

LOADER_PATH = "/widget/loader.js"
TRACKING_PATH = "/tracking.js"
"""The loader under LiveChat's name (``api/widget.py`` ``widget_tracking``)."""
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


class _HeaderMap(dict):  # type: ignore[type-arg]
    """Lower-case header names to the last value, and ``getall`` for fields sent several times (cookies over HTTP/2)."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        super().__init__((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw)
        self._raw = raw

    def getall(self, name: str, default: list[str] | None = None) -> list[str]:
        key = name.lower().encode("latin-1")
        values = [value.decode("latin-1") for n, value in self._raw if n == key]
        return values or (default if default is not None else [])


class _Request:
    """What the fast handlers read of a request (query, lower-case headers, peer, path, body), from an ASGI scope."""

    __slots__ = ("headers", "query_params", "client", "url", "_scope", "_receive", "_body")

    def __init__(self, scope: dict[str, Any], receive: Any = None) -> None:
        self._scope = scope
        self._receive = receive
        self._body: bytes | None = None
        self.headers = _HeaderMap(scope["headers"])
        query: dict[str, str] = {}
        for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
            query.setdefault(name, value)  # the first value, as Litestar's query_params.get
        self.query_params = query
        peer = scope.get("client")
        self.client = SimpleNamespace(host=peer[0]) if peer else None
        self.url = SimpleNamespace(path=scope["path"], scheme=scope.get("scheme", "http"))

    @property
    def base_url(self) -> str:
        host = self.headers.get("host") or "{}:{}".format(*self._scope.get("server") or ("localhost", 80))
        return f"{self._scope.get('scheme', 'http')}://{host}{self._scope.get('root_path', '')}"

    async def body(self) -> bytes:
        """The whole body, at most ``MAX_BODY`` bytes (beyond it the handler's own size check refuses it)."""
        if self._body is None:
            chunks, size = [], 0
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    raise ApiError("validation", "The client went away before sending the whole body")
                chunk = message.get("body", b"")
                if size <= MAX_BODY:  # past the limit the rest is read and dropped
                    chunks.append(chunk)
                size += len(chunk)
                if not message.get("more_body"):
                    break
            self._body = b"".join(chunks)[:MAX_BODY + 1]
        return self._body


def _without_body(send: Any) -> Any:
    """``send`` for a HEAD request: the GET answer's status and headers, no body."""

    async def head(message: dict[str, Any]) -> None:
        await send({**message, "body": b""} if message["type"] == "http.response.body" else message)

    return head


class _BodyLeft:
    """``receive`` for the app, noting how much of the request body it read, so that what it left unread can be read
    and dropped after the app's call (``drop_rest``).

    granian (hyper) keeps an HTTP/1.1 connection only if the request body was read to its end before the app's call
    returns; else it closes it, with the answer marked ``connection: close``, or (when it wrote the answer's head while
    the call still ran) not marked. A client still sending the body then sees a reset instead of the answer
    (``ReadError``), and a client that pooled the unmarked connection finds it closed at its next request ("Server
    disconnected without sending a response"). Every answer given without reading the body had that risk: a 404 or
    405 (no handler runs), a guard's or the rate limiter's refusal, a handler that refuses before it reads. Draining
    after the call, not before the answer, lets the answer go out at once: the connection is kept all the same."""

    __slots__ = ("receive", "read", "done")

    def __init__(self, receive: Any) -> None:
        self.receive = receive
        self.read = 0
        self.done = False

    async def __call__(self) -> dict[str, Any]:
        message = await self.receive()
        if message["type"] == "http.request":
            self.read += len(message.get("body", b""))
            if not message.get("more_body"):
                self.done = True
        else:  # http.disconnect
            self.done = True
        return message

    async def drop_rest(self, limit: int) -> None:
        """The rest of the body read and dropped, unless the whole body is over ``limit`` (the app refuses such a body
        anyway; the connection is then closed, as before)."""
        while not self.done and self.read <= limit:
            await self()


def _body_to_drain(headers: list[tuple[bytes, bytes]], limit: int) -> bool:
    """Whether a request may have a body worth draining after the app's answer: one is announced (``Content-Length``
    above zero, up to ``limit``, or ``Transfer-Encoding``), and the client does not wait for a ``100 Continue``
    before sending it."""
    announced = False
    for name, value in headers:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return False
            if not 0 < length <= limit:
                return False
            announced = True
        elif name == b"transfer-encoding":
            announced = True
        elif name == b"expect" and value.lower() == b"100-continue":
            return False
    return announced


class _VisitType(msgspec.Struct):
    type: str = ""


_visit_type = msgspec.json.Decoder(_VisitType)
FAST_VISITS = frozenset(("visit", "page_view", "heartbeat"))
MAX_BODY = 16 * 1024
"""The tracking calls' bodies are a few hundred bytes; the handlers refuse more than this."""


class _Answer(msgspec.Struct):
    """A configuration answer kept for the requests that would get the same bytes (``FastAssets._config``)."""

    org: str
    version: str
    expires: float
    etag: bytes
    headers: list[tuple[bytes, bytes]]
    not_modified: list[tuple[bytes, bytes]]
    body: bytes


_NOT_MODIFIED_HEADERS = frozenset((b"etag", b"cache-control", b"vary"))


class FastAssets:
    def __init__(self, app: Any, services: Services) -> None:
        self.app = app
        self.services = services
        self._track = {"settings": services.settings, "access": services.access, "tracker": services.tracker}
        self._widget = {"widget": services.widget, "settings": services.settings}
        self._worker = services.worker
        self._local = services.upstream is None
        """The handlers' dependencies, as Litestar would provide them."""
        self._answers: dict[tuple[bytes, bytes | None, bytes | None], _Answer] = {}
        cors = app.cors_config
        self._cors_allowed = cors.is_origin_allowed
        self._cors_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in cors.simple_headers.items()]
        self._body_limit: int = getattr(app, "request_max_body_size", None) or 10 * 1024 * 1024
        """Beyond it a body the app left unread is not drained (the app's own limit)."""

    def __getattr__(self, name: str) -> Any:  # the Litestar app's attributes (``state``, ``routes`` …)
        return getattr(self.app, name)

    def _asset(self, path: str) -> tuple[Asset, str] | None:
        cache = self.services.widget.cache
        assets: WidgetAssets | None = cache.assets
        if assets is None:
            assets = cache.assets = WidgetAssets.load()
            if assets is None:
                return None
        if path == LOADER_PATH:
            return assets.by_logical("loader.js"), LOADER_CACHE
        if path == TRACKING_PATH:
            return assets.by_logical("tracking.js"), LOADER_CACHE
        asset = assets.get(path[len(ASSETS_PREFIX):])
        return (asset, IMMUTABLE) if asset is not None else None

    async def _call(self, handler: Any, request: _Request, send: Any, origin: str | None = None,
                    **dependencies: Any) -> None:
        """A route's handler function called without Litestar's request path, its answer (or typed error, rendered as
        the app's error handlers render it) sent with the CORS headers the app's middleware would add."""
        try:
            response = await handler(request, **dependencies)
            status, body, headers = response.status_code or 200, response.content, dict(response.headers)
            cookies = [set_cookie_field(cookie) for cookie in response.cookies]
        except ApiError as exc:
            status, body, headers, cookies = exc.status_code, api_error_body(exc), retry_after(exc) or {}, []
        except Exception as exc:  # noqa: BLE001 (logged by unexpected_error; Valkey down or full: 503, else 500)
            error = unexpected_error(exc, request.url.path)
            status, body, headers, cookies = error.status_code, api_error_body(error), {}, []
        raw = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
        raw += cookies
        raw += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if origin is not None and self._cors_allowed(origin):
            raw += self._cors_headers
            raw += [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    async def _config(self, scope: dict[str, Any], send: Any) -> None:
        """The frame's configuration. Without a visitor's token the answer is the same for every visitor of a
        license, group and language: it is kept (``_answers``) while the license's configuration and the agents'
        availability it was made from are: at most the visitors' ``online_cache_seconds``, and no longer than the
        configuration (a change announced on the bus drops the worker's copy, which changes ``config_version``)."""
        key = None
        inm = None
        if not any(name == b"authorization" for name, _ in scope["headers"]):
            language = encoding = None
            for name, value in scope["headers"]:
                if name == b"accept-language":
                    language = value
                elif name == b"accept-encoding":
                    encoding = value
                elif name == b"if-none-match":
                    inm = value
            key = (scope["query_string"], language, encoding)
            entry = self._answers.get(key)
            if (entry is not None and entry.expires > time.monotonic()
                    and entry.version == self.services.store.config_version(entry.org)):
                if inm is not None and entry.etag in inm:
                    await send({"type": "http.response.start", "status": 304, "headers": entry.not_modified})
                    await send({"type": "http.response.body", "body": b""})
                else:
                    await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
                    await send({"type": "http.response.body", "body": entry.body})
                return
        captured: list[dict[str, Any]] = []

        async def capture(message: dict[str, Any]) -> None:
            captured.append(message)
            await send(message)

        request = _Request(scope)
        await self._call(widget_config.fn, request, capture if key is not None else send, **self._widget)
        if key is None or inm is not None or captured[0]["status"] != 200:
            return
        org = request.query_params.get("organization_id") or request.query_params.get("license_id") or ""
        group = query_int(request, "group_id")
        online = self.services.widget.cache.online_groups.get((org, group))
        if online is None:
            return
        headers = captured[0]["headers"]
        etag = next((v for k, v in headers if k == b"etag"), None)
        if etag is None:
            return
        if len(self._answers) > 10_000:
            self._answers.clear()
        self._answers[key] = _Answer(org, self.services.store.config_version(org), online[0], etag, headers,
                                     [*((k, v) for k, v in headers if k in _NOT_MODIFIED_HEADERS),
                                      (b"content-type", b"application/json"), (b"content-length", b"0")],
                                     captured[1]["body"])

    async def _post(self, scope: dict[str, Any], receive: Any, send: Any) -> bool:
        """A tracking call answered here (True), else nothing read and Litestar's to answer (False); a visit's body,
        read to learn its type, is handed on."""
        path = scope["path"]
        if not self._local or path not in (TRACK_PATH, VISIT_PATH):
            return False
        request = _Request(scope, receive)
        origin = request.headers.get("origin")
        if path == TRACK_PATH:
            await self._call(track.fn, request, send, origin, **self._track)
            return True
        try:
            body = await request.body()
        except ApiError:  # the client went away
            return True
        try:
            kind = _visit_type.decode(body).type
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            kind = ""  # the route answers the error (RecursionError: skipping a value nested ~1000 levels deep)
        if len(body) > MAX_BODY or kind in FAST_VISITS and b'"preview"' not in body:  # (the handler refuses the first)
            await self._call(widget_visit.fn, request, send, origin, **self._widget)
            return True
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
        return True

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # every HTTP request of the worker passes here, so this is where the drain's count of requests in flight is
        # kept, for the answers of this layer and of Litestar alike (inline: a wrapping coroutine's frame would be
        # resumed at every await of every request, a context manager's two calls were ~5 % of an asset's instructions)
        worker = self._worker
        worker.in_flight += 1
        try:
            method = scope["method"]
            if method == "POST":
                if await self._post(scope, receive, send):
                    return
            elif method in ("GET", "HEAD"):
                path = scope["path"]
                # the frame asks from its own origin (no Origin header: CORS is not involved); previews and proxy mode
                # take the full path
                if (path == CONFIG_PATH and self._local and b"preview=" not in scope["query_string"]
                        and not any(name == b"origin" for name, _ in scope["headers"])):
                    await self._config(scope, send if method == "GET" else _without_body(send))
                    return
                found = (self._asset(path) if path == LOADER_PATH or path == TRACKING_PATH
                         or path.startswith(ASSETS_PREFIX) else None)
                if found is not None:
                    asset, cache_control = found
                    status, body, headers = serve_headers(asset, _Headers(scope["headers"]), cache_control, CORS_ANY)
                    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
                    media_type = asset.media_type + ("; charset=utf-8" if asset.media_type.startswith("text/") else "")
                    raw.append((b"content-type", media_type.encode()))
                    if status == 200:
                        raw.append((b"content-length", str(len(body)).encode()))
                    await send({"type": "http.response.start", "status": status, "headers": raw})
                    await send({"type": "http.response.body", "body": body if method == "GET" else b""})
                    return
            if _body_to_drain(scope["headers"], self._body_limit):
                # what the app leaves unread of the body is read and dropped before the request ends, so the connection
                # survives an answer given without reading it (``_BodyLeft``)
                body = _BodyLeft(receive)
                await self.app(scope, body, send)
                await body.drop_rest(self._body_limit)
                return
            await self.app(scope, receive, send)
        finally:
            worker.in_flight -= 1
