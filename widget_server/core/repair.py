"""The repair pass: finishes the chat operations a worker died in the middle of, so routing's invariants hold again.

A chat operation that writes keys of different hash tags (the chat's, the license's routing keys) cannot be one
script on a cluster, so each such operation is noted in the license's operations in flight (``keys.chat_operations``)
before its first write, or in the same script as it (routing's join), and removed after its last. An entry older
than the grace period is the work of a worker that died midway. One worker at a time (a lock in Valkey), at start-up
and every ``repair_interval`` seconds, finishes each one from what the chat says now:

- ``join <chat> <thread> <agent>`` (routing or a hand join counted the chat in the agent's load): the agent joins the
  chat if its thread is still active, else the chat leaves their load;
- ``close <chat> <thread>``: if the thread closed, its agents are released and the queues drain;
- ``route <chat> <thread>`` (a transfer) and ``start <chat>``: the chat is indexed for its customer, and an active
  thread that nobody has and no queue holds is routed;
- ``leave <chat> <agent>``: the chat leaves the load of an agent who is no longer in it;
- ``idle <chat>`` (the inactivity timer, ``core/inactivity.py``): a chat counted out of its agents' loads but not
  marked idle is counted back;
- ``hook <chat> <entry>``: the message stored under the entry of the chat's webhook outbox gets its webhook
  deliveries queued (at least once: a worker that died after queueing them and before clearing the entry gets them
  queued twice; each delivery carries its event's id).

Every step is idempotent, so a pass that finishes an operation its worker was still doing repeats at most a push.
Then every agent's load is set to the number of chats they are in that are not idle (what the routing scripts keep
equal).

Invariants after a pass: every active chat whose start, transfer or join was interrupted is assigned or queued; each
agent's load equals the chats they are in; a closed thread holds no agent's capacity; every stored message of a
license with an ``incoming_event`` webhook is in the delivery stream.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

import msgspec

from .. import keys
from ..protocol import pushes as p
from ..protocol.common import Access
from ..protocol.events import Event
from . import scripts
from .chats import ChatBase
from .ids import split_event_id
from .interface import Caller
from .routing import Router
from .store import Store

log = logging.getLogger("widget_server.repair")

LICENSE_KEEP_SECONDS = 3600.0
"""A license with no operation in flight and none noted for this long leaves the repair pass's list."""

_access_decoder = msgspec.json.Decoder(Access)
_event_decoder = msgspec.json.Decoder(Event)


class Repair:
    """The repair pass of one worker: ``run_once`` (under the lock) and ``run`` (at start-up, then periodically)."""

    def __init__(self, valkey: Any, core: ChatBase, *, grace: float, interval: float) -> None:
        self.r = valkey
        self.core = core
        self.router: Router = core.router
        self.store: Store = core.store
        self.grace = grace
        self.interval = interval
        self._recount = scripts.register(valkey, "recount_load")
        self._unlock = scripts.register(valkey, "release_lock")
        self._drop_license = scripts.register(valkey, "drop_repair_license")

    async def run(self) -> None:
        """Forever: a pass now, then one every ``interval`` seconds (whichever worker gets the lock does it)."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("repair pass failed; trying again next time")
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int | None:
        """One pass over every listed license, if no other worker is running one: how many operations it finished
        (None when another worker holds the lock)."""
        token = secrets.token_hex(8)
        # the lock outlives a pass that hangs by at most a few intervals, and a dead holder's by as much
        if not await self.r.set(keys.REPAIR_LOCK, token, nx=True, px=int(max(self.interval * 3, 30) * 1000)):
            return None
        try:
            finished = 0
            for raw in await self.r.zrange(keys.REPAIR_LICENSES, 0, -1):
                finished += await self.repair_license(raw.decode())
            return finished
        finally:
            await self._unlock(keys=[keys.REPAIR_LOCK], args=[token])

    async def repair_license(self, org: str) -> int:
        before = int((time.time() - self.grace) * 1000)
        operations = await self.router.operations(org, before)
        for operation in operations:
            try:
                await self._finish(org, operation)
            except Exception:
                log.exception("repair of %s %r failed", org, operation)
                continue
            await self.router.done(org, operation)
        fixed = await self._recount(keys=[keys.routing_load(org)])
        if operations or fixed:
            log.warning("repair: license %s: %d interrupted operations finished, %d agents' loads corrected",
                        org, len(operations), fixed)
        if not await self.r.zcard(keys.chat_operations(org)):
            # (a worker that notes an operation lists the license first, with a fresh time: then it stays)
            await self._drop_license(keys=[keys.REPAIR_LICENSES], args=[org, time.time() - LICENSE_KEEP_SECONDS])
        return len(operations)

    def _caller(self, org: str, chat: dict[str, str]) -> Caller:
        """The repair acts for the chat's customer (whose start or message began what it finishes)."""
        return Caller(org=org, customer_id=chat.get("customer_id", ""), version="3.6", transport="rtm", base_url="")

    async def _finish(self, org: str, operation: str) -> None:
        kind, chat_id, *rest = operation.split(" ")
        chat = await self.store.chat(chat_id)
        if chat is None or chat.get("org") != org:
            if kind in ("join", "leave"):
                await self.router.release(org, rest[-1], chat_id)
            return  # a start that never wrote its chat
        caller = self._caller(org, chat)
        active = chat.get("active_thread") or ""
        agents = self.core._agents_of(chat)
        if kind == "join":
            thread_id, agent = rest
            if active == thread_id:
                await self._unqueue(org, chat_id, thread_id)
                if agent not in agents:
                    await self.core._join(caller, chat_id, thread_id, agent, "other", None)
            elif agent not in agents or not active:
                await self.router.release(org, agent, chat_id)
        elif kind == "idle":
            # the inactivity timer counted the chat out of its agents' loads and died before marking it idle
            if chat.get("idle") != "1":
                for agent in agents:
                    await self.router.wake(org, agent, chat_id)
        elif kind == "leave":
            if not active or rest[0] not in agents:
                await self.router.release(org, rest[0], chat_id)
        elif kind == "close":
            if active != rest[0]:  # the thread did close: what followed the close
                await self.core._archive(org, chat_id, rest[0], int(chat.get("last_event_ms") or 0), chat)
                await self.core._release(caller, chat, rest[0])
        elif kind == "hook":
            # the event was stored (its id is in the outbox) but its webhook deliveries may not have been queued
            event_id = await self.store.outbox_event(chat_id, rest[0])
            place = split_event_id(event_id) if event_id else None
            raw = await self.store.event_raw(chat_id, *place) if place else None
            if place and raw is not None:
                await self.core.webhooks.emit(org, "incoming_event",
                                              p.IncomingEvent(chat_id, place[0], _event_decoder.decode(raw)), chat)
            await self.store.clear_outbox(chat_id, rest[0])
        elif kind in ("start", "route"):
            await self.store.index_chat(org, chat["customer_id"], chat_id, int(chat.get("last_thread_ms") or 0))
            if active and not agents and not await self._queued(org, chat_id, active):
                group = _access_decoder.decode(chat.get("access") or b'{"group_ids":[0]}').group_ids[0]
                await self.core._route(caller, chat_id, active, group)

    async def _queued(self, org: str, chat_id: str, thread_id: str) -> bool:
        thread = await self.store.thread(chat_id, thread_id) or {}
        group = thread.get("queue_group")
        return bool(group) and await self.router.position(org, int(group), chat_id, thread_id) is not None

    async def _unqueue(self, org: str, chat_id: str, thread_id: str) -> None:
        """A thread routing gave an agent leaves its queue (a queue's pop clears the entry; the thread's fields
        too, once its join is done)."""
        thread = await self.store.thread(chat_id, thread_id) or {}
        if thread.get("queue_group"):
            await self.router.unqueue(org, int(thread["queue_group"]), chat_id, thread_id)
            await self.store.set_thread_fields(chat_id, thread_id, {"queued_at": "", "queue_group": ""})
