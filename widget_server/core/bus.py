"""The push bus: every push goes to a per-user Valkey channel; each worker subscribes to the channels of the users it
has sockets of and fans messages out to them. No worker assumes it holds the other side of a chat.

On one Valkey that is PUBLISH / SUBSCRIBE over one subscriber connection per worker. On a Valkey Cluster it is sharded
pub/sub (SPUBLISH / SSUBSCRIBE): a channel lives on the primary that owns its slot, so a push costs one node, not a
broadcast to every node. valkey-py's asyncio cluster client has no pub/sub of its own, so ``ShardedChannels`` holds
one subscriber connection per primary and moves channels when slots move (a node tells its subscribers with an
SUNSUBSCRIBE of its own) or a node fails. Pub/sub is fire-and-forget in both: a push published while a subscription
is being (re)made is not delivered, which is why clients catch up from the store when they reconnect.

A worker delivers its own pushes to its own sockets at once, without waiting for them to come back through Valkey:
every message on the wire starts with the publishing worker's id, and a subscriber skips the messages of its own
worker (they were delivered already), so each connection gets a push exactly once, from the worker it lives on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol

import msgspec

from .. import keys
from ..protocol.frames import RequestId
from ..valkey import is_cluster, log_failure
from .ids import uuid_id

log = logging.getLogger("widget_server.bus")


BUS_VERSION = 2
"""The wire format's version, the message's last element. Version 1 (before versions) had no such element. The format
only ever grows at the end: a worker decodes the elements it knows and ignores any after them (msgspec's array-like
decoding), so during a rolling upgrade old and new workers read each other's pushes. A change that old workers could
not read this way needs new channel names, not a new version here."""


class BusMessage(msgspec.Struct, array_like=True):
    """One push on the wire between workers: the worker that published it (its subscribers skip it: it delivered the
    push itself), the action, its payload, the request that caused it (only the connection that sent that request
    gets ``request_id`` in its push frame) and the format's version. Encoded in one pass."""

    origin: str
    action: str
    payload: Any
    conn_id: str | None = None
    request_id: RequestId = None
    version: int = BUS_VERSION


class _ReceivedMessage(msgspec.Struct, array_like=True):
    """The same message as a subscriber decodes it: the payload stays raw and is spliced into each push frame."""

    origin: str
    action: str
    payload: msgspec.Raw
    conn_id: str | None = None
    request_id: RequestId = None
    version: int = 1
    """1 when the publisher predates versions (its message ends after ``request_id``)."""


_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(_ReceivedMessage).decode


class Subscriber(Protocol):
    """A local connection that receives pushes (an RTM socket)."""

    conn_id: str

    def deliver(self, action: str, payload: msgspec.Raw, request_id: RequestId) -> None: ...


CONFIRM_SECONDS = 5.0
OnMessage = Callable[[bytes, bytes], None]


class _Channels:
    """A worker's channel subscriptions: ``subscribe`` returns once Valkey confirmed it (so a push published right
    after a login is not missed), and every message goes to ``on_message(channel, data)``."""

    def __init__(self, on_message: OnMessage) -> None:
        self.on_message = on_message
        self.wanted: set[bytes] = set()
        self._confirm: dict[bytes, asyncio.Event] = {}

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def _send_subscribe(self, channel: bytes) -> None: ...

    async def _send_unsubscribe(self, channel: bytes) -> None: ...

    async def subscribe(self, channel: str) -> None:
        ch = channel.encode()
        self.wanted.add(ch)
        confirmed = self._confirm[ch] = asyncio.Event()
        try:
            await self._send_subscribe(ch)
            await asyncio.wait_for(confirmed.wait(), CONFIRM_SECONDS)
        except TimeoutError:
            log.warning("no subscribe confirmation for %s", channel)
        finally:
            self._confirm.pop(ch, None)

    async def unsubscribe(self, channel: str) -> None:
        ch = channel.encode()
        self.wanted.discard(ch)
        await self._send_unsubscribe(ch)

    def _confirmed(self, channel: bytes) -> None:
        event = self._confirm.get(channel)
        if event is not None:
            event.set()


class PlainChannels(_Channels):
    """SUBSCRIBE on one Valkey, over one connection."""

    def __init__(self, valkey: Any, on_message: OnMessage) -> None:
        super().__init__(on_message)
        self._r = valkey
        self._pubsub = valkey.pubsub()
        self._task: asyncio.Task[None] | None = None
        self._worker_channel = keys.worker_channel(uuid_id())

    async def start(self) -> None:
        # A channel of our own keeps the subscriber connection open and listening even with no user subscribed.
        await self._pubsub.subscribe(self._worker_channel)
        self._task = asyncio.create_task(self._run(), name="bus-reader")

    async def stop(self) -> None:
        await _cancel(self._task)
        try:
            await self._pubsub.aclose()
        except Exception:  # the connection may already be gone at shutdown
            pass

    async def _send_subscribe(self, channel: bytes) -> None:
        await self._pubsub.subscribe(channel)

    async def _send_unsubscribe(self, channel: bytes) -> None:
        await self._pubsub.unsubscribe(channel)

    async def _run(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (log_failure logs it)
                log_failure(log, exc, "bus subscriber failed; resubscribing")
                await asyncio.sleep(0.5)
                await self._resubscribe()
                continue
            if message is None:
                continue
            if message["type"] == "message":
                self.on_message(message["channel"], message["data"])
            elif message["type"] == "subscribe":
                self._confirmed(message["channel"])

    async def _resubscribe(self) -> None:
        try:
            await self._pubsub.aclose()
        except Exception:
            pass
        self._pubsub = self._r.pubsub()
        try:
            await self._pubsub.subscribe(self._worker_channel, *self.wanted)
        except Exception as exc:  # noqa: BLE001 (log_failure logs it)
            log_failure(log, exc, "resubscribe failed")


class _NodeSubscriber:
    """One SSUBSCRIBE connection to one primary of a cluster, and its reader."""

    def __init__(self, node: Any) -> None:
        from valkey.asyncio.client import PubSub
        from valkey.asyncio.connection import ConnectionPool

        self.name: str = node.name
        self.pool = ConnectionPool(connection_class=node.connection_class, **node.connection_kwargs)
        self.pubsub = PubSub(self.pool)
        self.task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        await _cancel(self.task)
        for close in (self.pubsub.aclose, self.pool.disconnect):
            try:
                await close()
            except Exception:  # the node may be gone: that is why we are closing
                pass


class ShardedChannels(_Channels):
    """SSUBSCRIBE on a Valkey Cluster: one connection per primary that owns a subscribed channel's slot."""

    def __init__(self, cluster: Any, on_message: OnMessage) -> None:
        super().__init__(on_message)
        self._cluster = cluster
        self._nodes: dict[str, _NodeSubscriber] = {}
        self._owner: dict[bytes, str] = {}
        """channel -> the node it was subscribed on."""
        self._repair_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self._cluster.initialize()

    async def stop(self) -> None:
        await _cancel(self._repair_task)
        for node in list(self._nodes.values()):
            await node.close()
        self._nodes.clear()

    async def _node_for(self, channel: bytes) -> _NodeSubscriber:
        """The subscriber connection to the primary that owns the channel's slot (opened on first use)."""
        node = self._cluster.nodes_manager.get_node_from_slot(self._cluster.keyslot(channel))
        sub = self._nodes.get(node.name)
        if sub is None:
            sub = _NodeSubscriber(node)
            await sub.pubsub.connect()
            self._nodes[node.name] = sub
            sub.task = asyncio.create_task(self._read(sub), name=f"bus-reader-{node.name}")
        return sub

    async def _send_subscribe(self, channel: bytes) -> None:
        async with self._lock:
            try:
                sub = await self._node_for(channel)
                self._owner[channel] = sub.name
                await sub.pubsub.execute_command("SSUBSCRIBE", channel)
            except Exception:
                log.warning("SSUBSCRIBE %r failed; reconnecting", channel, exc_info=True)
                self._repair()

    async def _send_unsubscribe(self, channel: bytes) -> None:
        async with self._lock:
            sub = self._nodes.get(self._owner.pop(channel, ""))
            if sub is None:
                return
            try:
                await sub.pubsub.execute_command("SUNSUBSCRIBE", channel)
            except Exception:
                log.warning("SUNSUBSCRIBE on %s failed; reconnecting", sub.name, exc_info=True)
                self._repair()

    async def _read(self, sub: _NodeSubscriber) -> None:
        while True:
            try:
                message = await sub.pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the node failed, or answered MOVED: the slots moved
                log.warning("bus subscriber on %s failed (%s); reconnecting", sub.name, exc)
                self._repair()
                return
            if message is None:
                continue
            kind, channel = message["type"], message["channel"]
            if kind == "smessage":
                self.on_message(channel, message["data"])
            elif kind == "ssubscribe":
                self._confirmed(channel)
            elif kind == "sunsubscribe" and channel in self.wanted and self._owner.get(channel) == sub.name:
                # not ours: the node dropped the channel because its slot moved to another node
                log.info("bus channel %r left %s (slot moved); resubscribing", channel, sub.name)
                self._repair()

    def _repair(self) -> None:
        if self._repair_task is None or self._repair_task.done():
            self._repair_task = asyncio.create_task(self._resubscribe_all(), name="bus-repair")

    async def _resubscribe_all(self) -> None:
        """Reconnect to the current primaries (the cluster's slot map read again) and subscribe every wanted channel
        where its slot lives now; retried until it works."""
        delay = 0.1
        while True:
            await asyncio.sleep(delay)
            async with self._lock:
                old, self._nodes, self._owner = list(self._nodes.values()), {}, {}
                for node in old:
                    await node.close()
                try:
                    await self._cluster.nodes_manager.initialize()
                    by_slot: dict[int, list[bytes]] = {}
                    for channel in self.wanted:
                        by_slot.setdefault(self._cluster.keyslot(channel), []).append(channel)
                    for channels in by_slot.values():  # SSUBSCRIBE takes several channels of one slot at a time
                        sub = await self._node_for(channels[0])
                        await sub.pubsub.execute_command("SSUBSCRIBE", *channels)
                        self._owner.update(dict.fromkeys(channels, sub.name))
                    return
                except Exception as exc:
                    log.warning("bus resubscribe failed (%s); retrying", exc)
                    delay = min(delay * 2, 5.0)


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is None or task is asyncio.current_task():
        return
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):
        pass


_PAYLOAD_MARK = b"\x00payload\x00"
"""Stands in for the payload while a message's head and tail are encoded (``Bus.wire_parts``)."""


class _Ordering:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class Bus:
    """Pushes to every connection of a user, on any worker; see the module docstring."""

    def __init__(self, valkey: Any) -> None:
        self._r = valkey
        self._sharded = is_cluster(valkey)
        self._publish = "SPUBLISH" if self._sharded else "PUBLISH"
        self._channels: _Channels = (ShardedChannels if self._sharded else PlainChannels)(valkey, self._on_message)
        self._local: dict[str, set[Subscriber]] = {}
        self._lock = asyncio.Lock()
        self._ordering: dict[str, _Ordering] = {}
        self.origin = uuid_id()
        """This worker's id at the head of every message it publishes."""
        self._own_prefix = _encode([self.origin])[:-1] + b","
        self.scripts_publish = not self._sharded
        """Whether a store script may PUBLISH this bus's messages itself (``wire_parts``): on one Valkey it can; on a
        cluster a user's channel lives in the user's slot, not in the chat's the script runs in."""

    async def start(self) -> None:
        await self._channels.start()

    async def stop(self) -> None:
        await self._channels.stop()

    async def publish(self, user_ids: Iterable[str], action: str, payload: Any, conn_id: str | None = None,
                      request_id: RequestId = None) -> None:
        """Push ``payload`` (a Struct, or already-encoded bytes) to every connection of each user, on any worker:
        this worker's connections get it before this returns, the others' through Valkey."""
        raw = msgspec.Raw(payload if isinstance(payload, bytes) else _encode(payload))
        users = list(dict.fromkeys(user_ids))
        self.deliver_local(users, action, raw, conn_id, request_id)
        message = _encode(BusMessage(self.origin, action, raw, conn_id, request_id))
        if len(users) == 1:
            await self._r.execute_command(self._publish, keys.user_channel(users[0]), message)
            return
        # (a cluster pipeline sends each channel's command to the node that owns it)
        async with self._r.pipeline(transaction=False) as p:
            for uid in users:
                p.execute_command(self._publish, keys.user_channel(uid), message)
            await p.execute()

    def wire_parts(self, action: str, conn_id: str | None = None, request_id: RequestId = None) -> tuple[bytes, bytes]:
        """The bytes before and after the payload in this worker's message for ``action``: a script that builds the
        payload itself publishes ``head .. payload .. tail`` (then the caller calls ``deliver_local``)."""
        head, _, tail = _encode(BusMessage(self.origin, action, msgspec.Raw(b'"' + _PAYLOAD_MARK + b'"'), conn_id,
                                           request_id, BUS_VERSION)).partition(b'"' + _PAYLOAD_MARK + b'"')
        return head, tail

    @contextlib.asynccontextmanager
    async def in_order(self, key: str) -> AsyncIterator[None]:
        """Held (per ``key``, e.g. a chat) while this worker stores something and then hands its push to its own
        connections, so that they get pushes in the order they were stored even when several are written at once
        (the replies of two scripts may come back in either order)."""
        entry = self._ordering.get(key)
        if entry is None:
            entry = self._ordering[key] = _Ordering()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if not entry.users:
                del self._ordering[key]

    def deliver_local(self, user_ids: Iterable[str], action: str, payload: msgspec.Raw, conn_id: str | None = None,
                      request_id: RequestId = None) -> None:
        """Hand a push to this worker's connections of ``user_ids`` (distinct ids), as a subscriber would."""
        local = self._local
        for uid in user_ids:
            subs = local.get(uid)
            if subs:
                for sub in tuple(subs):
                    try:
                        sub.deliver(action, payload, request_id if sub.conn_id == conn_id else None)
                    except Exception:  # one broken connection must not fail the request that pushed
                        log.exception("delivering %s to %s failed", action, sub.conn_id)

    async def register(self, user_id: str, sub: Subscriber) -> None:
        async with self._lock:
            subs = self._local.get(user_id)
            if subs is None:
                self._local[user_id] = {sub}
                await self._channels.subscribe(keys.user_channel(user_id))
            else:
                subs.add(sub)

    async def register_agents_feed(self, org: str, sub: Subscriber) -> None:
        """An agent's socket also hears what every agent of the license hears (routing statuses, bans: one message
        for all of them)."""
        await self.register(keys.agents_feed(org), sub)

    async def unregister_agents_feed(self, org: str, sub: Subscriber) -> None:
        await self.unregister(keys.agents_feed(org), sub)

    async def register_customers_feed(self, org: str, sub: Subscriber) -> None:
        """A customer's socket also hears what every customer of the license hears (``groups_status_updated``)."""
        await self.register(keys.customers_feed(org), sub)

    async def unregister_customers_feed(self, org: str, sub: Subscriber) -> None:
        await self.unregister(keys.customers_feed(org), sub)

    async def unregister(self, user_id: str, sub: Subscriber) -> None:
        async with self._lock:
            subs = self._local.get(user_id)
            if subs is None:
                return
            subs.discard(sub)
            if not subs:
                del self._local[user_id]
                try:
                    await self._channels.unsubscribe(keys.user_channel(user_id))
                except Exception:
                    log.warning("unsubscribe from %s failed", user_id, exc_info=True)

    def _on_message(self, channel: bytes, data: bytes) -> None:
        if data.startswith(self._own_prefix):
            return  # published by this worker, which delivered it to its connections already
        # channel = ws:{<user_id>}:push
        user_id = channel[channel.index(b"{") + 1 : channel.rindex(b"}")].decode()
        subs = self._local.get(user_id)
        if not subs:
            return
        try:
            msg = _decode(data)
        except msgspec.DecodeError:
            log.error("undecodable bus message on %r", channel)
            return
        for sub in tuple(subs):
            rid = msg.request_id if msg.conn_id == sub.conn_id else None
            sub.deliver(msg.action, msg.payload, rid)
