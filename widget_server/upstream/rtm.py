"""One edge RTM connection's websocket to the upstream.

The edge connection already runs its requests one at a time, in order; each goes up as a frame with a request id of
this socket's own (a customer may reuse or omit ids), and the answer with that id comes back as the request's result.
Pushes go straight to the one edge connection that owns this socket: no bus, since no other connection shares it. A
push the upstream caused with one of our requests carries our id, which is translated back into the customer's, so
the customer can still match its own echo.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from typing import Any, Protocol

import msgspec
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from ..protocol.errors import ApiError
from ..protocol.frames import RequestId
from .client import error_from, unavailable

log = logging.getLogger("widget_server.upstream")

_EMPTY = msgspec.Raw(b"{}")
REMEMBERED_IDS = 64
"""Our request ids kept after their answer, so that a push caused by the request, which may come after the answer,
still gets the customer's id."""


class Sink(Protocol):
    """The edge connection behind an upstream socket."""

    def deliver(self, action: str, payload: msgspec.Raw, request_id: RequestId) -> None: ...

    def upstream_lost(self) -> None:
        """The upstream closed or dropped the socket without being asked to."""


class _Request(msgspec.Struct, omit_defaults=True):
    action: str
    request_id: str
    payload: Any
    version: str | None = None


class _Frame(msgspec.Struct):
    """A response or push frame from the upstream; the payload stays raw and is relayed as it is."""

    type: str = ""
    action: str = ""
    request_id: RequestId = None
    success: bool = True
    payload: msgspec.Raw = _EMPTY


_encode = msgspec.json.encode
_frame_decoder = msgspec.json.Decoder(_Frame)


class UpstreamSocket:
    def __init__(self, ws: ClientConnection, sink: Sink, timeout: float) -> None:
        self._ws = ws
        self._sink = sink
        self._timeout = timeout
        self._n = 0
        self._waiting: dict[str, asyncio.Future[msgspec.Raw]] = {}
        self._ids: OrderedDict[str, RequestId] = OrderedDict()
        """Our request id -> the customer's, for the pushes requests cause."""
        self._held: list[tuple[str, msgspec.Raw, RequestId]] | None = []
        """Pushes that arrive before the login's answer reached the customer (``release``)."""
        self._closing = False
        self._reader = asyncio.create_task(self._read(), name="upstream-socket")

    async def request(self, action: str, payload: Any, request_id: RequestId, version: str | None) -> msgspec.Raw:
        """Send one request and wait for its answer: the response payload, or the upstream's error raised."""
        self._n += 1
        rid = str(self._n)
        answer: asyncio.Future[msgspec.Raw] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = answer
        self._ids[rid] = request_id
        if len(self._ids) > REMEMBERED_IDS:
            self._ids.popitem(last=False)
        try:
            await self._ws.send(_encode(_Request(action, rid, payload, version)).decode())
            return await asyncio.wait_for(answer, self._timeout)
        except ConnectionClosed:
            raise unavailable() from None
        except TimeoutError:
            raise ApiError("request_timeout", "The chat service did not answer in time") from None
        finally:
            self._waiting.pop(rid, None)

    def release(self) -> None:
        """The login's answer went out: pushes flow to the customer from now on, those held first."""
        held, self._held = self._held, None
        for push in held or ():
            self._sink.deliver(*push)

    async def close(self) -> None:
        """Close on the edge's initiative (the customer left): no goodbye to send."""
        self._closing = True
        with contextlib.suppress(Exception):
            await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                self._on_frame(message)
        except ConnectionClosed:
            pass
        except Exception:  # never let one bad frame leave the customer hanging
            log.exception("upstream socket reader failed")
        finally:
            self._lost()

    def _on_frame(self, message: str | bytes) -> None:
        try:
            frame = _frame_decoder.decode(message)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            log.warning("undecodable frame from the upstream: %.200r", message)
            return
        payload = frame.payload
        if frame.type == "push":
            rid = self._ids.get(str(frame.request_id)) if frame.request_id is not None else None
            if self._held is not None:
                self._held.append((frame.action, payload, rid))
            else:
                self._sink.deliver(frame.action, payload, rid)
            return
        answer = self._waiting.get(str(frame.request_id))
        if answer is None or answer.done():  # the request timed out meanwhile
            return
        if frame.success:
            answer.set_result(payload)
        else:
            answer.set_exception(error_from(bytes(payload)))

    def _lost(self) -> None:
        for answer in self._waiting.values():
            if not answer.done():
                answer.set_exception(unavailable("The chat service closed the connection"))
        if self._closing:
            return
        self.release()  # a goodbye the upstream sent before closing reaches the customer first
        self._sink.upstream_lost()
