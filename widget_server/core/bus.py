"""The push bus: every push goes to a per-user Valkey channel; each worker holds one subscriber connection and fans
messages out to its own sockets of that user. No worker assumes it holds the other side of a chat."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, Protocol

import msgspec

from .. import keys
from ..protocol.frames import RequestId
from .ids import uuid_id

log = logging.getLogger("widget_server.bus")


class BusMessage(msgspec.Struct, array_like=True):
    """One push on the wire between workers: the action, its payload, and the request that caused it (only the
    connection that sent that request gets ``request_id`` in its push frame). Encoded in one pass."""

    action: str
    payload: Any
    conn_id: str | None = None
    request_id: RequestId = None


class _ReceivedMessage(msgspec.Struct, array_like=True):
    """The same message as a subscriber decodes it: the payload stays raw and is spliced into each push frame."""

    action: str
    payload: msgspec.Raw
    conn_id: str | None = None
    request_id: RequestId = None


_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(_ReceivedMessage).decode


class Subscriber(Protocol):
    """A local connection that receives pushes (an RTM socket)."""

    conn_id: str

    def deliver(self, action: str, payload: msgspec.Raw, request_id: RequestId) -> None: ...


class Bus:
    def __init__(self, valkey: Any) -> None:
        self._r = valkey
        self._pubsub = valkey.pubsub()
        self._local: dict[str, set[Subscriber]] = {}
        self._task: asyncio.Task[None] | None = None
        self._worker_channel = keys.worker_channel(uuid_id())
        self._lock = asyncio.Lock()
        self._confirm: dict[bytes, asyncio.Event] = {}

    async def start(self) -> None:
        # A channel of our own keeps the subscriber connection open and listening even with no user subscribed.
        await self._pubsub.subscribe(self._worker_channel)
        self._task = asyncio.create_task(self._run(), name="bus-reader")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        try:
            await self._pubsub.aclose()
        except Exception:  # the connection may already be gone at shutdown
            pass

    async def publish(self, user_ids: Iterable[str], action: str, payload: Any, conn_id: str | None = None,
                      request_id: RequestId = None) -> None:
        """Push ``payload`` (a Struct, or already-encoded bytes) to every connection of each user, on any worker."""
        if isinstance(payload, bytes):
            payload = msgspec.Raw(payload)
        message = _encode(BusMessage(action, payload, conn_id, request_id))
        users = list(dict.fromkeys(user_ids))
        if len(users) == 1:
            await self._r.publish(keys.user_channel(users[0]), message)
            return
        async with self._r.pipeline(transaction=False) as p:
            for uid in users:
                p.publish(keys.user_channel(uid), message)
            await p.execute()

    async def register(self, user_id: str, sub: Subscriber) -> None:
        async with self._lock:
            subs = self._local.get(user_id)
            if subs is None:
                self._local[user_id] = {sub}
                channel = keys.user_channel(user_id)
                # Wait for Valkey's confirmation so a push published right after login is not missed.
                confirmed = self._confirm[channel.encode()] = asyncio.Event()
                await self._pubsub.subscribe(channel)
                try:
                    await asyncio.wait_for(confirmed.wait(), 5.0)
                except TimeoutError:
                    log.warning("no subscribe confirmation for %s", channel)
                finally:
                    self._confirm.pop(channel.encode(), None)
            else:
                subs.add(sub)

    async def unregister(self, user_id: str, sub: Subscriber) -> None:
        async with self._lock:
            subs = self._local.get(user_id)
            if subs is None:
                return
            subs.discard(sub)
            if not subs:
                del self._local[user_id]
                try:
                    await self._pubsub.unsubscribe(keys.user_channel(user_id))
                except Exception:
                    log.warning("unsubscribe from %s failed", user_id, exc_info=True)

    async def _run(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bus subscriber failed; resubscribing")
                await asyncio.sleep(0.5)
                await self._resubscribe()
                continue
            if message is None:
                continue
            channel: bytes = message["channel"]
            if message["type"] == "subscribe":
                confirmed = self._confirm.get(channel)
                if confirmed is not None:
                    confirmed.set()
                continue
            if message["type"] != "message":
                continue
            # channel = ws:{<user_id>}:push
            user_id = channel[channel.index(b"{") + 1 : channel.rindex(b"}")].decode()
            subs = self._local.get(user_id)
            if not subs:
                continue
            try:
                msg = _decode(message["data"])
            except msgspec.DecodeError:
                log.error("undecodable bus message on %r", channel)
                continue
            for sub in tuple(subs):
                rid = msg.request_id if msg.conn_id == sub.conn_id else None
                sub.deliver(msg.action, msg.payload, rid)

    async def _resubscribe(self) -> None:
        try:
            await self._pubsub.aclose()
        except Exception:
            pass
        self._pubsub = self._r.pubsub()
        channels = [self._worker_channel] + [keys.user_channel(u) for u in self._local]
        try:
            await self._pubsub.subscribe(*channels)
        except Exception:
            log.exception("resubscribe failed")
