"""The RTM sockets on a fast path: a thin ASGI layer in front of the rest of the app runs the Customer and Agent RTM
APIs (``/v3.x/customer/rtm/ws``, ``/v3.x/agent/rtm/ws``) on the bare ASGI scope, receive and send.

A socket lives for minutes or hours, and whatever its handler's callers hold for it is held that long, on every
socket: through Litestar, its ``WebSocket``, the parsed headers and the suspended frames of every middleware,
~5.6 KB of each idle socket's Python heap (README, "RTM load"). None of it is used here: CORS, the rate limiter and
the request counter act on HTTP only, these routes have no guards or dependencies, and the checks (license, token,
origin, ban) are the login's, which reads the query and headers through ``RtmSocket`` once. What Litestar does around
a websocket handler is kept: the accept, and a close with 4500 "Internal Server Error" if the handler fails. The
Litestar routes stay (same connection classes) for whatever this layer passes on.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any
from urllib.parse import parse_qsl

from litestar.datastructures import URL, Address, Headers, MultiDict
from litestar.exceptions import WebSocketDisconnect

from ..observe import metrics
from ..services import Services
from .agent_rtm import PATHS as AGENT_PATHS
from .agent_rtm import AgentConnection
from .customer_rtm import PATHS as CUSTOMER_PATHS
from .customer_rtm import CustomerConnection, UpstreamConnection
from .rtm import RtmConnection

log = logging.getLogger("widget_server.rtm")


class RtmSocket:
    """What an ``RtmConnection`` uses of a websocket, as Litestar's ``WebSocket`` gives it, from the ASGI scope. The
    query, headers and base URL are parsed when asked (once, by the login) and not kept."""

    __slots__ = ("scope", "receive", "send")

    def __init__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send

    async def accept(self) -> None:
        if (await self.receive())["type"] != "websocket.connect":
            raise WebSocketDisconnect(detail="disconnect event")
        await self.send({"type": "websocket.accept", "subprotocol": None, "headers": []})

    @property
    def query_params(self) -> MultiDict[Any]:
        # (as Litestar parses a query: its own parser is private)
        query = self.scope.get("query_string", b"").decode("latin-1")
        return MultiDict(parse_qsl(query, keep_blank_values=True, separator="&"))

    @property
    def headers(self) -> Headers:
        return Headers(self.scope["headers"])

    @property
    def client(self) -> Address | None:
        client = self.scope.get("client")
        return Address(*client) if client else None

    @property
    def base_url(self) -> URL:
        scope = self.scope
        return URL.from_scope({**scope, "path": "/", "query_string": b"",  # type: ignore[typeddict-unknown-key]
                               "root_path": scope.get("app_root_path") or scope.get("root_path", "")})


class FastRtm:
    def __init__(self, app: Any, services: Services) -> None:
        self.app = app
        self.services = services
        customer = UpstreamConnection if services.upstream is not None else CustomerConnection
        self.routes: dict[str, type[RtmConnection]] = {
            **dict.fromkeys(CUSTOMER_PATHS, customer), **dict.fromkeys(AGENT_PATHS, AgentConnection)}

    def __getattr__(self, name: str) -> Any:  # the wrapped app's attributes (``routes`` …)
        return getattr(self.app, name)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            connection = self.routes.get(scope["path"])
            if connection is not None:
                conn = connection(RtmSocket(scope, receive, send), self.services)
                api = "agent" if connection is AgentConnection else "customer"
                open_sockets = metrics.RTM_SOCKETS.labels(api)
                open_sockets.inc()
                metrics.RTM_CONNECTIONS.labels(api).inc()
                try:
                    await conn.run()
                except WebSocketDisconnect:  # gone before it was accepted
                    pass
                except Exception:
                    log.debug("RTM socket failed", exc_info=True)  # (as Litestar's exception middleware: not logged)
                    with contextlib.suppress(Exception):
                        await send({"type": "websocket.close", "code": 4500, "reason": "Internal Server Error"})
                finally:
                    open_sockets.dec()
                return
        await self.app(scope, receive, send)
