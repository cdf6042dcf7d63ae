"""The RTM transport shared by the customer and agent APIs. One socket = one RtmConnection: frames are decoded in
one pass (a tagged union over the API's actions), run in order through the shared dispatcher (at most
``rtm_max_pending`` waiting), and replies and pushes leave through one bounded queue.

Graceful shutdown (``shutdown.py``): ``drain`` stops reading frames, lets the requests already read finish and their
replies go out, sends the disconnect push with ``service_temporarily_unavailable`` (LiveChat's "reconnect" reason),
and closes with 1012 "service restart", the standard close code that says: reconnect, to this server or another.

Liveness: LiveChat's browser SDK never pings, so silence never closes a logged-in socket. ASGI cannot send control
pings, so a dead peer is found by a failed write (any push, and the token-expiry notice that every customer socket
gets within ``token_ttl``) or by the kernel's TCP keepalive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from typing import Any

import msgspec
from litestar import WebSocket

from ..core.ids import uuid_id
from ..protocol.errors import ApiError, ErrorBody, ErrorPayload
from ..protocol.frames import LenientFrame, PushFrame, RequestId, ResponseFrame
from ..protocol.pushes import PUSHES_NEW_IN_36, CustomerDisconnected
from .customer_web import api_version
from .dispatch import Table, check_transport, dispatch, payload_of
from .state import AppState

log = logging.getLogger("widget_server.rtm")

_lenient_decoder = msgspec.json.Decoder(LenientFrame)
_encode = msgspec.json.encode
OUTBOX_LIMIT = 1024
RESTART_CLOSE = (1012, "service restart")
"""The close code and reason of a socket closed by a graceful shutdown (RFC 6455 §7.4.1 registry: "Service Restart")."""
_DRAIN = object()
"""Queued after the last request read when draining: the processor says goodbye when it gets there."""


class _Closed(Exception):
    pass


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
    """One socket on this worker; subclasses say how its user logs in and what a request's caller is."""

    table: Table
    disconnect_action: str
    """The push that announces a server-side close (``customer_disconnected`` / ``agent_disconnected``)."""

    def __init__(self, socket: WebSocket[Any, Any, Any], state: AppState) -> None:
        self.socket = socket
        self.state = state
        self.conn_id = uuid_id()
        self.version = api_version(socket.scope["path"])
        self.user_id: str | None = None
        """Set by a successful login; pushes flow from then on."""
        self.expires_at: float | None = None
        """When the login's credential expires (None: it does not)."""
        self.pushes: frozenset[str] | None = None  # None = all pushes of the connection's version
        self.pushes_36: frozenset[str] = frozenset()
        self.outbox: asyncio.Queue[bytes | None] = asyncio.Queue(OUTBOX_LIMIT)
        self.requests: asyncio.Queue[Any] = asyncio.Queue()
        self.pending = 0
        self.closing = False
        self.restarting = False
        self._reader_task: asyncio.Task[None] | None = None
        self._finished = asyncio.Event()

    # --- outgoing ------------------------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.outbox.put_nowait(data)
        except asyncio.QueueFull:
            # A client that does not read its pushes is dropped rather than buffered without bound.
            log.warning("closing %s: outbox full", self.conn_id)
            while not self.outbox.empty():
                self.outbox.get_nowait()
            self._send_none()

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
        with contextlib.suppress(asyncio.QueueFull):
            self.outbox.put_nowait(None)
        self.closing = True

    async def writer(self) -> None:
        while True:
            data = await self.outbox.get()
            if data is None:
                raise _Closed  # run() sends the close frame once the reader has stopped
            try:
                await self.socket.send({"type": "websocket.send", "text": data.decode()})
            except Exception:
                raise _Closed from None

    # --- incoming ------------------------------------------------------------------------------------------------

    async def reader(self) -> None:
        limit = self.state.settings.rtm_max_frame_bytes
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                raise _Closed
            data = message.get("text")
            raw = data.encode() if data is not None else (message.get("bytes") or b"")
            if data is None:
                try:
                    raw.decode("utf-8")  # binary frames are accepted as JSON too, if they are UTF-8
                except UnicodeDecodeError:
                    self.respond_error("", None, ApiError("validation", "Malformed JSON: not UTF-8"))
                    continue
            if len(raw) > limit:
                self.respond_error(*_salvage(raw), ApiError("validation", f"Frame is larger than {limit} bytes"))
                continue
            try:
                frame = self.table.frame_decoder.decode(raw)
            except msgspec.ValidationError as exc:
                action, rid = _salvage(raw)
                message = f"Unknown action: {action}" if action and not self.table.is_known(action) else str(exc)
                self.respond_error(action, rid, ApiError("validation", message))
                continue
            except msgspec.DecodeError as exc:
                self.respond_error("", None, ApiError("validation", f"Malformed JSON: {exc}"))
                continue
            except RecursionError:
                self.respond_error(*_salvage(raw), ApiError("validation", "Malformed JSON: nested too deeply"))
                continue
            if frame.name == "ping":
                self.respond(frame, {})
                continue
            if self.pending >= self.state.settings.rtm_max_pending:
                self.respond_error(frame.name, frame.request_id, ApiError(
                    "pending_requests_limit_reached", "Too many pending requests on this connection"))
                continue
            self.pending += 1
            self.requests.put_nowait(frame)

    async def processor(self) -> None:
        while True:
            frame = await self.requests.get()
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
            except _Closed:
                raise
            except Exception:
                log.exception("RTM action %s failed", frame.name)
                self.respond_error(frame.name, frame.request_id, ApiError("internal", "Internal server error"))
            finally:
                self.pending -= 1

    async def handle(self, frame: Any) -> None:
        if frame.version is not None and frame.version not in ("3.5", "3.6"):
            raise ApiError("unsupported_version", f"Version {frame.version[:16]} is not supported")
        if frame.version is not None and frame.version < self.version:
            raise ApiError("unsupported_version", "A request version may not be lower than the connection's")
        spec = frame.spec
        check_transport(frame.name, spec, "rtm")
        req = payload_of(frame)
        if frame.name == "login":
            if self.user_id is not None:
                raise ApiError("validation", "Already logged in")
            await self.login(frame, req)
            return
        if self.user_id is None:
            raise ApiError("authentication", "Log in first")
        self.respond(frame, await dispatch(self.core, self.caller_for(frame), spec, req))

    @property
    @abstractmethod
    def core(self) -> Any:
        """The core whose methods this API's actions are."""

    @abstractmethod
    async def login(self, frame: Any, req: Any) -> None:
        """Authenticate, set ``user_id`` (and ``expires_at``), register with the bus, respond."""

    @abstractmethod
    def caller_for(self, frame: Any) -> Any:
        """The caller of one request on this logged-in socket."""

    async def background(self) -> None:  # noqa: B027 (an optional hook)
        """Work that runs while the socket is open (cancelled when it closes)."""

    async def closed(self) -> None:  # noqa: B027 (an optional hook)
        """Cleanup after the socket closed (the bus registration is dropped by ``run``)."""

    async def lifetime(self) -> None:
        """Close sockets that never log in, and tell logged-in ones when their token expires."""
        await asyncio.sleep(self.state.settings.rtm_login_timeout)
        if self.user_id is None:
            self.disconnect("connection_timeout")
            return
        if self.expires_at is not None:
            await asyncio.sleep(max(0.0, self.expires_at - time.time()))
            self.disconnect("access_token_expired")

    async def drain(self) -> None:
        """Graceful shutdown of this socket (see the module docstring); returns once it is closed."""
        if not self.restarting:
            self.restarting = True
            if self._reader_task is not None:
                self._reader_task.cancel()  # no new frames: those already read are answered first
            self.requests.put_nowait(_DRAIN)
        await self._finished.wait()

    async def run(self) -> None:
        await self.socket.accept()
        sockets = self.state.sockets
        if self.state.draining:
            with contextlib.suppress(Exception):
                code, reason = RESTART_CLOSE
                await self.socket.send({"type": "websocket.close", "code": code, "reason": reason})
            return
        sockets.add(self)
        tasks = [asyncio.create_task(t) for t in (self.reader(), self.writer(), self.processor(), self.lifetime(),
                                                  self.background())]
        self._reader_task = tasks[0]
        try:
            # (a reader cancelled by drain() is not an exception: the writer's end after the goodbye is)
            await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.closing:
                # granian holds a close back while a receive() is pending, so close only after the reader stopped
                code, reason = RESTART_CLOSE if self.restarting else (1000, "")
                with contextlib.suppress(Exception):
                    await self.socket.send({"type": "websocket.close", "code": code, "reason": reason})
            try:
                if self.user_id is not None:
                    await self.state.bus.unregister(self.user_id, self)
                    with contextlib.suppress(Exception):
                        await self.closed()
            finally:
                sockets.discard(self)
                self._finished.set()
