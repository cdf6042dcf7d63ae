"""The RTM transport shared by the customer and agent APIs. One socket = one RtmConnection: frames are decoded in
one pass (a tagged union over the API's actions), run in order through the shared dispatcher (at most
``rtm_max_pending`` waiting), and replies and pushes leave in order through one bounded outbox.

Graceful shutdown (``shutdown.py``): ``drain`` stops reading frames, lets the requests already read finish and their
replies go out, sends the disconnect push with ``service_temporarily_unavailable`` (LiveChat's "reconnect" reason),
and closes with 1012 "service restart", the standard close code that says: reconnect, to this server or another.

Liveness: LiveChat's browser SDK never pings, so silence never closes a logged-in socket. ASGI cannot send control
pings, so a dead peer is found by a failed write (any push, and the token-expiry notice that every customer socket
gets within ``token_ttl``) or by the kernel's TCP keepalive.

Memory: most sockets are idle for most of their life, and what an idle socket holds is multiplied by all of them
(issue 12: at most 10 KB of our own per socket above granian's floor). So an idle socket holds one task (the reader,
suspended in ``receive``), one future (what ``run`` waits on), one timer (the login timeout, then the token's expiry)
and two plain lists; the writer and the processor are tasks only while there is something to send or to handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

import msgspec

from ..core.ids import uuid_id
from ..protocol.errors import ApiError, ErrorBody, ErrorPayload
from ..protocol.frames import LenientFrame, PushFrame, RequestId, ResponseFrame
from ..protocol.pushes import PUSHES_NEW_IN_36, CustomerDisconnected
from ..services import Services
from ..web.request import api_version
from ..web.responses import unexpected_error
from .dispatch import Table, check_transport, dispatch, payload_of

log = logging.getLogger("widget_server.rtm")

_lenient_decoder = msgspec.json.Decoder(LenientFrame)
_encode = msgspec.json.encode
OUTBOX_LIMIT = 1024
RESTART_CLOSE = (1012, "service restart")
"""The close code and reason of a socket closed by a graceful shutdown (RFC 6455 §7.4.1 registry: "Service Restart")."""
_NO_PUSHES: frozenset[str] = frozenset()
"""(one shared empty set: since Python 3.10 each `frozenset()` is a new 216-byte object)"""
_DRAIN = object()
"""Queued after the last request read when draining: the processor says goodbye when it gets there."""


def _salvage(raw: bytes) -> tuple[str, RequestId]:
    """The action and request_id of a frame that failed validation, so the client can pair the error with it."""
    try:
        echo = _lenient_decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return "", None
    action = echo.action[:64] if isinstance(echo.action, str) else ""
    rid = echo.request_id if isinstance(echo.request_id, (str, int)) and not isinstance(echo.request_id, bool) else None
    return action, rid


class RtmConnection(ABC):
    """One socket on this worker; subclasses say how its user logs in and what a request's caller is.

    ``socket`` is what the connection uses of a websocket: ``accept()``, ``receive()``, ``send(message)``, ``scope``
    and, for the login, ``query_params``, ``headers``, ``client``, ``base_url`` (Litestar's ``WebSocket``, or
    ``fast_rtm.RtmSocket`` on the fast path)."""

    __slots__ = ("socket", "services", "conn_id", "version", "user_id", "expires_at", "pushes", "pushes_36", "outbox",
                 "requests", "pending", "closing", "restarting", "_reader", "_writer", "_processor", "_background",
                 "_timer", "_ended", "_closed")

    table: ClassVar[Table]
    disconnect_action: ClassVar[str]
    """The push that announces a server-side close (``customer_disconnected`` / ``agent_disconnected``)."""
    background: ClassVar[Callable[..., Coroutine[Any, Any, None]] | None] = None
    """Optional: a coroutine method, work that runs while the socket is open (a task, cancelled when it closes)."""

    def __init__(self, socket: Any, services: Services) -> None:
        self.socket = socket
        self.services = services
        self.conn_id = uuid_id()
        self.version = api_version(socket.scope["path"])
        self.user_id: str | None = None
        """Set by a successful login; pushes flow from then on."""
        self.expires_at: float | None = None
        """When the login's credential expires (None: it does not)."""
        self.pushes: frozenset[str] | None = None  # None = all pushes of the connection's version
        self.pushes_36 = _NO_PUSHES
        self.outbox: list[bytes | None] = []
        """Frames to send, in order; None = close the socket once the frames before it are sent."""
        self.requests: list[Any] = []
        """Frames read and not yet handled, in order (and ``_DRAIN``)."""
        self.pending = 0
        self.closing = False
        self.restarting = False
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        """The task sending the outbox, only while it is not empty."""
        self._processor: asyncio.Task[None] | None = None
        """The task handling the requests, only while there are some."""
        self._background: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done when the socket is to be closed (by the client, a failed write, or a close of ours)."""
        self._closed: asyncio.Future[None] | bool = False
        """True once ``run`` has cleaned up; a future while a ``drain`` waits for that."""

    # --- outgoing ------------------------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if self.closing:
            return
        outbox = self.outbox
        if len(outbox) >= OUTBOX_LIMIT:
            # A client that does not read its pushes is dropped rather than buffered without bound.
            log.warning("closing %s: outbox full", self.conn_id)
            outbox.clear()
            self._send_none()
            return
        outbox.append(data)
        if self._writer is None and not self._ended.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())

    def respond(self, frame: Any, payload: Any) -> None:
        self._send(_encode(ResponseFrame(request_id=frame.request_id, action=frame.name, type="response",
                                         success=True, payload=payload)))

    def respond_error(self, action: str, request_id: RequestId, error: ApiError) -> None:
        payload = ErrorPayload(ErrorBody(error.type, error.message, error.data))
        self._send(_encode(ResponseFrame(request_id=request_id, action=action, type="response", success=False,
                                         payload=payload)))

    def deliver(self, action: str, payload: msgspec.Raw, request_id: RequestId) -> None:
        """Called by the bus for every push to this connection's user."""
        if self.user_id is None:
            return
        if action == self.disconnect_action:  # e.g. a banned customer or an agent logged out elsewhere
            self._goodbye(payload)
            return
        if self.pushes is not None and action not in self.pushes:
            if not (action in self.pushes_36 and self.version == "3.5"):
                return
        elif self.version == "3.5" and action in PUSHES_NEW_IN_36 and action not in self.pushes_36:
            return
        self._send(_encode(PushFrame(version=self.version, action=action, type="push", payload=payload,
                                     request_id=request_id)))

    def disconnect(self, reason: str) -> None:
        """Send the disconnect push with LiveChat's reason, then close the socket."""
        self._goodbye(msgspec.Raw(_encode(CustomerDisconnected(reason=reason))))

    def _goodbye(self, payload: msgspec.Raw) -> None:
        self._send(_encode(PushFrame(version=self.version, action=self.disconnect_action, type="push",
                                     payload=payload)))
        if not self.closing:
            self._send_none()

    def _send_none(self) -> None:
        if not self.closing:
            self.closing = True
            self.outbox.append(None)
            if self._writer is None and not self._ended.done():
                self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        outbox = self.outbox
        send = self.socket.send
        try:
            while outbox:
                data = outbox.pop(0)  # (a short list: popping its head beats a deque's 760 B on every idle socket)
                if data is None:
                    self._end()  # run() sends the close frame once the reader has stopped
                    return
                await send({"type": "websocket.send", "text": data.decode()})
        except Exception:
            self._end()
        finally:
            self._writer = None

    def _end(self) -> None:
        if not self._ended.done():
            self._ended.set_result(None)

    # --- incoming ------------------------------------------------------------------------------------------------

    async def _read(self) -> None:
        receive, on_message = self.socket.receive, self._on_message
        try:
            # (nothing of a message outlives its handling: an idle socket keeps no frame, text or payload)
            while on_message(await receive()):
                pass
        except asyncio.CancelledError:
            raise  # drain() (the socket stays open for the goodbye) or the socket's end
        except Exception:  # a failed receive ends the socket as a disconnect does
            log.debug("RTM receive failed on %s", self.conn_id, exc_info=True)
        self._end()

    def _on_message(self, message: dict[str, Any]) -> bool:
        """Answer or queue one received message; False: it says the client is gone."""
        if message["type"] == "websocket.disconnect":
            return False
        data = message.get("text")
        raw = data.encode() if data is not None else (message.get("bytes") or b"")
        if data is None:
            try:
                raw.decode("utf-8")  # binary frames are accepted as JSON too, if they are UTF-8
            except UnicodeDecodeError:
                self.respond_error("", None, ApiError("validation", "Malformed JSON: not UTF-8"))
                return True
        limit = self.services.settings.rtm_max_frame_bytes
        if len(raw) > limit:
            self.respond_error(*_salvage(raw), ApiError("validation", f"Frame is larger than {limit} bytes"))
            return True
        try:
            frame = self.table.frame_decoder.decode(raw)
        except msgspec.ValidationError as exc:
            action, rid = _salvage(raw)
            text = f"Unknown action: {action}" if action and not self.table.is_known(action) else str(exc)
            self.respond_error(action, rid, ApiError("validation", text))
            return True
        except msgspec.DecodeError as exc:
            self.respond_error("", None, ApiError("validation", f"Malformed JSON: {exc}"))
            return True
        except RecursionError:
            self.respond_error(*_salvage(raw), ApiError("validation", "Malformed JSON: nested too deeply"))
            return True
        if frame.name == "ping":
            self.respond(frame, {})
        elif self.pending >= self.services.settings.rtm_max_pending:
            self.respond_error(frame.name, frame.request_id, ApiError(
                "pending_requests_limit_reached", "Too many pending requests on this connection"))
        else:
            self.pending += 1
            self._queue(frame)
        return True

    def _queue(self, frame: Any) -> None:
        self.requests.append(frame)
        if self._processor is None and not self._ended.done():
            self._processor = asyncio.get_running_loop().create_task(self._process())

    async def _process(self) -> None:
        requests = self.requests
        try:
            while requests:
                frame = requests.pop(0)
                if frame is _DRAIN:
                    if self.user_id is not None:
                        self.disconnect("service_temporarily_unavailable")
                    else:
                        self._send_none()
                    continue
                try:
                    await self.handle(frame)
                except ApiError as exc:
                    self.respond_error(frame.name, frame.request_id, exc)
                except Exception as exc:  # noqa: BLE001 (logged by unexpected_error; Valkey down: 503, else 500)
                    self.respond_error(frame.name, frame.request_id, unexpected_error(exc, f"RTM {frame.name}"))
                finally:
                    self.pending -= 1
        finally:
            self._processor = None

    async def handle(self, frame: Any) -> None:
        if frame.version is not None and frame.version not in ("3.5", "3.6"):
            raise ApiError("unsupported_version", f"Version {frame.version[:16]} is not supported")
        if frame.version is not None and frame.version < self.version:
            raise ApiError("unsupported_version", "A request version may not be lower than the connection's")
        spec = frame.spec
        check_transport(frame.name, spec, "rtm")
        req = payload_of(frame, self.services.settings)
        if frame.name == "login":
            if self.user_id is not None:
                raise ApiError("validation", "Already logged in")
            await self.login(frame, req)
            return
        if self.user_id is None:
            raise ApiError("authentication", "Log in first")
        await self.admit(spec)
        self.respond(frame, await dispatch(self.core, self.caller_for(frame), spec, req))

    @property
    @abstractmethod
    def core(self) -> Any:
        """The core whose methods this API's actions are."""

    @abstractmethod
    async def login(self, frame: Any, req: Any) -> None:
        """Authenticate, set ``user_id`` (and ``expires_at``), register with the bus, respond."""

    async def admit(self, spec: Any) -> None:
        """Checks of a logged-in user's request before it runs (the customer's write limits)."""

    @abstractmethod
    def caller_for(self, frame: Any) -> Any:
        """The caller of one request on this logged-in socket."""

    async def closed(self) -> None:  # noqa: B027 (an optional hook)
        """Cleanup after the socket closed (the bus registration is dropped by ``run``)."""

    def _lifetime(self) -> None:
        """Close sockets that never log in, and tell logged-in ones when their token expires."""
        self._timer = None
        if self.user_id is None:
            self.disconnect("connection_timeout")
        elif self.expires_at is not None:
            self._timer = asyncio.get_running_loop().call_later(
                max(0.0, self.expires_at - time.time()), self.disconnect, "access_token_expired")

    async def drain(self) -> None:
        """Graceful shutdown of this socket (see the module docstring); returns once it is closed."""
        if not self.restarting:
            self.restarting = True
            if self._reader is not None:
                self._reader.cancel()  # no new frames: those already read are answered first
            self._queue(_DRAIN)
        if self._closed is True:
            return
        if self._closed is False:
            self._closed = asyncio.get_running_loop().create_future()
        await self._closed  # type: ignore[misc]

    async def run(self) -> None:
        socket = self.socket
        await socket.accept()
        services = self.services
        worker = services.worker
        if worker.draining:
            with contextlib.suppress(Exception):
                code, reason = RESTART_CLOSE
                await socket.send({"type": "websocket.close", "code": code, "reason": reason})
            return
        sockets = worker.sockets
        sockets.add(self)
        loop = asyncio.get_running_loop()
        self._reader = loop.create_task(self._read())
        self._timer = loop.call_later(services.settings.rtm_login_timeout, self._lifetime)
        if self.background is not None:
            self._background = loop.create_task(self.background())
        try:
            await self._ended
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            tasks = [t for t in (self._reader, self._writer, self._processor, self._background) if t is not None]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._reader = self._background = None
            if self.closing:
                # granian holds a close back while a receive() is pending, so close only after the reader stopped
                code, reason = RESTART_CLOSE if self.restarting else (1000, "")
                with contextlib.suppress(Exception):
                    await socket.send({"type": "websocket.close", "code": code, "reason": reason})
            try:
                if self.user_id is not None:
                    await services.bus.unregister(self.user_id, self)
                    with contextlib.suppress(Exception):
                        await self.closed()
            finally:
                sockets.discard(self)
                waiter, self._closed = self._closed, True
                if isinstance(waiter, asyncio.Future) and not waiter.done():
                    waiter.set_result(None)
