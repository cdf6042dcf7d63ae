"""UpstreamCore: the ChatCore of proxy mode. Every customer action is forwarded to the upstream Customer Chat API as
the edge decoded and validated it, re-encoded: a Web request as one HTTP request with the customer's token, an RTM
request over the websocket its edge connection has to the upstream. Answers come back as raw JSON and are relayed
unchanged (the upstream's errors too, with their status).

An edge RTM connection gets its upstream socket at login: ``attach`` names the connection that receives the socket's
pushes, ``login`` opens the socket and logs in, ``release`` lets pushes flow once the login's answer went out, and
``detach`` closes it when the edge connection closes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec

from ..core.interface import Caller, ChatCore, UploadedFile
from ..protocol import customer as c
from ..protocol.errors import ApiError
from .client import Upstream, unavailable
from .rtm import Sink, UpstreamSocket


class UpstreamCore:
    forwards_callers = True
    """The upstream decides on tokens, licenses, origins and bans."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self._sinks: dict[str, Sink] = {}
        self._sockets: dict[str, UpstreamSocket] = {}

    # --- an edge RTM connection's socket -------------------------------------------------------------------------

    def attach(self, conn_id: str, sink: Sink) -> None:
        """The edge connection whose ``login`` comes next, and which gets its socket's pushes."""
        self._sinks[conn_id] = sink

    async def login(self, caller: Caller, req: c.LoginRequest) -> msgspec.Raw:
        """Open the connection's upstream socket and log in with the customer's own login request."""
        conn_id = caller.conn_id or ""
        sink = self._sinks.pop(conn_id, None)
        if caller.transport != "rtm" or sink is None:
            raise ApiError("validation", "login is an RTM action")
        await self.detach(conn_id)  # a login retried after a failed one
        socket = UpstreamSocket(await self.upstream.connect(caller), sink, self.upstream.timeout)
        self._sockets[conn_id] = socket
        try:
            return await socket.request("login", req, caller.request_id, caller.version)
        except BaseException:
            await self.detach(conn_id)
            raise

    def release(self, conn_id: str) -> None:
        socket = self._sockets.get(conn_id)
        if socket is not None:
            socket.release()

    async def detach(self, conn_id: str) -> None:
        self._sinks.pop(conn_id, None)
        socket = self._sockets.pop(conn_id, None)
        if socket is not None:
            await socket.close()

    async def aclose(self) -> None:
        for conn_id in list(self._sockets):
            await self.detach(conn_id)

    # --- every action --------------------------------------------------------------------------------------------

    async def forward(self, action: str, caller: Caller, req: Any) -> msgspec.Raw:
        if caller.transport == "web":
            return await self.upstream.action(action, caller, req)
        socket = self._sockets.get(caller.conn_id or "")
        if socket is None:
            raise unavailable()
        return await socket.request(action, req, caller.request_id, caller.version)

    async def upload_file(self, caller: Caller, file: UploadedFile) -> msgspec.Raw:
        return await self.upstream.upload(caller, file)

    async def relay_upload(self, caller: Caller, content_type: str, length: str | None,
                           body: AsyncIterator[bytes]) -> msgspec.Raw:
        """A Web ``upload_file`` whose multipart body streams on to the upstream as it arrives (the Web transport
        uses this instead of ``upload_file``, which takes a file held whole)."""
        return await self.upstream.upload_stream(caller, content_type, length, body)


def _forwarder(action: str) -> Any:
    async def method(self: UpstreamCore, caller: Caller, req: Any) -> msgspec.Raw:
        return await self.forward(action, caller, req)

    method.__name__ = method.__qualname__ = action
    method.__doc__ = f"Forward ``{action}`` to the upstream."
    return method


# One forwarding method per ChatCore action, so nothing the dispatcher may call is missing.
for _action in [name for name in vars(ChatCore) if not name.startswith("_") and callable(vars(ChatCore)[name])]:
    if _action not in vars(UpstreamCore):
        setattr(UpstreamCore, _action, _forwarder(_action))
